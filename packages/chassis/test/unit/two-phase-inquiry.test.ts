// A two-phase participant that asks (two-phase-inquiry.ts), on an in-memory set of prepared
// transactions and a scripted coordinator: what it finishes, what it keeps holding, how it backs
// off and what it counts. On real PostgreSQL and a real coordinator:
// services/catalog/test/integration/two-phase.test.ts and services/payment/test/integration/two-phase.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/logging';
import { type PreparedTransaction, preparedTransactionId } from '../../src/prepared-transactions';
import { type CoordinatorAnswer, TwoPhaseInquiry } from '../../src/two-phase-inquiry';

const logger = createLogger({ service: 'catalog', level: 'silent' });

function setup(answers: Map<string, CoordinatorAnswer | Error>) {
  let now = Date.parse('2026-01-01T10:00:00Z');
  const prepared = new Map<string, PreparedTransaction>();
  const finished: string[] = [];
  const asked: string[] = [];
  const registry = new Registry();
  const inquiry = new TwoPhaseInquiry({
    participant: 'catalog',
    store: {
      list: async (olderThanMs) => [...prepared.values()].filter((p) => p.preparedAt.getTime() <= now - olderThanMs),
      finish: async (gid, commit) => {
        finished.push(`${commit ? 'commit' : 'rollback'}:${gid}`);
        return prepared.delete(gid) ? (commit ? 'committed' : 'rolled_back') : 'absent';
      },
    },
    ask: async (orderId) => {
      asked.push(orderId);
      const answer = answers.get(orderId);
      if (answer instanceof Error) throw answer;
      return answer ?? 'ABORT';
    },
    logger,
    registry,
    settings: { askAfterMs: 5_000, intervalMs: 1_000, maxBackoffMs: 8_000 },
    clock: () => now,
    random: () => 1,
  });
  const prepare = (ageMs: number) => {
    const orderId = randomUUID();
    const gid = preparedTransactionId(orderId, 'catalog');
    prepared.set(gid, { gid, orderId, participant: 'catalog', preparedAt: new Date(now - ageMs) });
    return { orderId, gid };
  };
  const counted = async (outcome: string) => {
    const metric = await registry.getSingleMetric('shop_two_phase_inquiries_total')?.get();
    return metric?.values.find((v) => v.labels.outcome === outcome && v.labels.participant === 'catalog')?.value;
  };
  const inDoubt = async () => (await registry.getSingleMetric('shop_two_phase_in_doubt')?.get())?.values[0]?.value;
  return {
    inquiry,
    prepared,
    finished,
    asked,
    prepare,
    counted,
    inDoubt,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('a two-phase participant that asks', () => {
  test('finishes what the coordinator decided: COMMIT PREPARED, ROLLBACK PREPARED; the young ones are not asked', async () => {
    const answers = new Map<string, CoordinatorAnswer | Error>();
    const t = setup(answers);
    const committed = t.prepare(6_000);
    const aborted = t.prepare(7_000);
    const young = t.prepare(1_000);
    answers.set(committed.orderId, 'COMMIT');
    answers.set(aborted.orderId, 'ABORT');
    assert.deepEqual(await t.inquiry.sweep(), { committed: 1, rolledBack: 1, unknown: 0, unreachable: 0, waiting: 0 });
    assert.deepEqual(t.finished.sort(), [`commit:${committed.gid}`, `rollback:${aborted.gid}`].sort());
    assert.deepEqual([...t.prepared.keys()], [young.gid], 'the one prepared a second ago is left to its coordinator');
    assert.equal(t.asked.includes(young.orderId), false);
    assert.equal(await t.counted('commit'), 1);
    assert.equal(await t.counted('abort'), 1);
    assert.equal(await t.inDoubt(), 2, 'two were held too long at this look');
  });

  test('with the coordinator unreachable it keeps holding, counts it and asks again with back-off; once back, finishes', async () => {
    const answers = new Map<string, CoordinatorAnswer | Error>();
    const t = setup(answers);
    const held = t.prepare(6_000);
    answers.set(held.orderId, new Error('14 UNAVAILABLE: order is down'));

    assert.deepEqual(await t.inquiry.sweep(), { committed: 0, rolledBack: 0, unknown: 0, unreachable: 1, waiting: 0 });
    assert.deepEqual(t.finished, [], 'no decision of its own: neither commit nor rollback');
    assert.equal(t.prepared.has(held.gid), true);
    assert.equal(await t.counted('unreachable'), 1);
    assert.equal(await t.inDoubt(), 1);

    // The next look, a second later: still backing off (1 s after the first miss) — then due.
    t.advance(500);
    assert.equal((await t.inquiry.sweep()).waiting, 1);
    t.advance(500);
    assert.equal((await t.inquiry.sweep()).unreachable, 1);
    // The wait doubles: 2 s after the second miss.
    t.advance(1_000);
    assert.equal((await t.inquiry.sweep()).waiting, 1);
    t.advance(1_000);
    assert.equal((await t.inquiry.sweep()).unreachable, 1);
    assert.equal(await t.counted('unreachable'), 3);
    assert.equal(t.asked.length, 3);

    answers.set(held.orderId, 'COMMIT');
    t.advance(4_000);
    assert.equal((await t.inquiry.sweep()).committed, 1);
    assert.deepEqual(t.finished, [`commit:${held.gid}`]);
    assert.equal(t.prepared.size, 0);
    assert.equal(await t.inDoubt(), 1, 'the gauge is the last look’s count, before it finished');
    assert.equal((await t.inquiry.sweep()).committed, 0);
    assert.equal(await t.inDoubt(), 0);
  });

  test('UNKNOWN (the coordinator is still deciding) holds too, and asks again later', async () => {
    const answers = new Map<string, CoordinatorAnswer | Error>();
    const t = setup(answers);
    const held = t.prepare(6_000);
    answers.set(held.orderId, 'UNKNOWN');
    assert.equal((await t.inquiry.sweep()).unknown, 1);
    assert.equal(t.prepared.has(held.gid), true);
    assert.equal(await t.counted('unknown'), 1);
    answers.set(held.orderId, 'ABORT');
    t.advance(1_000);
    assert.equal((await t.inquiry.sweep()).rolledBack, 1);
    assert.deepEqual(t.finished, [`rollback:${held.gid}`]);
  });

  test('start and stop: it looks on its own every interval and stops looking', async () => {
    const answers = new Map<string, CoordinatorAnswer | Error>();
    let looks = 0;
    const inquiry = new TwoPhaseInquiry({
      participant: 'payment',
      store: {
        list: async () => {
          looks++;
          return [];
        },
        finish: async () => 'absent',
      },
      ask: async (orderId) => answers.get(orderId) as CoordinatorAnswer,
      logger,
      settings: { askAfterMs: 0, intervalMs: 10, maxBackoffMs: 100 },
    });
    inquiry.start();
    while (looks < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await inquiry.stop();
    const after = looks;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(looks, after, 'no look after stop');
  });
});
