// The two-phase coordinator's decisions and recovery (application/two-phase-coordinator.ts), on an
// in-memory decision log and participants that record what they are told. The same coordinator on
// a real PostgreSQL: test/integration/two-phase.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  type CallContext,
  createLogger,
  type FinishOutcome,
  ShopError,
  type TwoPhaseParticipant,
} from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import { orderServiceHandlers, type WatchDeps } from '../../src/api/grpc/order.handler';
import { CHECKOUT_SAGA } from '../../src/application/checkout-saga';
import type { OrderQueries } from '../../src/application/order-queries';
import type { CommandOptions } from '../../src/application/ports';
import {
  TwoPhaseCoordinator,
  type TwoPhaseLog,
  type TwoPhaseOrder,
  type TwoPhaseParticipants,
} from '../../src/application/two-phase-coordinator';
import { SagaOutcomeDecided, SagaRefusal } from '../../src/domain/saga';
import { afterFailure } from '../../src/domain/saga-transitions';
import { inquiryAnswer, recoveryAction, type TwoPhaseDecision, type TwoPhaseRecord } from '../../src/domain/two-phase';

const logger = createLogger({ service: 'order', level: 'silent' });

class MemoryLog implements TwoPhaseLog {
  readonly rows = new Map<string, TwoPhaseRecord>();
  /** Every write, in order: what was durable when. */
  readonly writes: string[] = [];

  async begin(orderId: string, participants: readonly string[]) {
    const found = this.rows.get(orderId);
    if (found) return { record: { ...found }, created: false };
    const record = { orderId, participants: [...participants], startedAt: new Date() };
    this.rows.set(orderId, record);
    this.writes.push('begin');
    return { record: { ...record }, created: true };
  }
  async find(orderId: string) {
    const r = this.rows.get(orderId);
    return r ? { ...r } : undefined;
  }
  async decide(orderId: string, decision: TwoPhaseDecision, fields: { reason?: string; paymentId?: string }) {
    const r = this.rows.get(orderId);
    if (!r) throw new Error('no row');
    if (!r.decision) {
      Object.assign(r, { decision, decidedAt: new Date() }, fields);
      this.writes.push(`decide:${decision}`);
    }
    return { ...r };
  }
  async finish(orderId: string) {
    const r = this.rows.get(orderId);
    if (r && !r.finishedAt) {
      r.finishedAt = new Date();
      this.writes.push('finish');
    }
  }
  async unfinished() {
    return [...this.rows.values()].filter((r) => !r.finishedAt).map((r) => ({ ...r }));
  }
  readonly woken: string[] = [];
  async wakeSagas(orderIds: readonly string[]) {
    this.woken.push(...orderIds);
  }
}

/** Participants that hold "prepared" transactions in a set and fail as told. */
class RecordingParticipants implements TwoPhaseParticipants {
  readonly prepared = new Set<string>();
  readonly committed = new Set<string>();
  readonly calls: string[] = [];
  fail: { reserve?: unknown; authorize?: unknown; finish?: unknown } = {};

  constructor(private readonly log?: MemoryLog) {}

  async prepareReserve(gid: string, _orderId: string, _lines: unknown, _options: CommandOptions) {
    this.calls.push(`prepare:${gid}`);
    if (this.fail.reserve) throw this.fail.reserve;
    this.prepared.add(gid);
  }
  async prepareAuthorize(gid: string) {
    this.calls.push(`prepare:${gid}`);
    if (this.fail.authorize) throw this.fail.authorize;
    this.prepared.add(gid);
    return { paymentId: 'pay-1' };
  }
  async finish(_p: TwoPhaseParticipant, gid: string, commit: boolean): Promise<FinishOutcome> {
    // What the log held when a participant first heard the decision.
    this.calls.push(`${commit ? 'commit' : 'rollback'}:${gid}@${this.log?.writes.at(-1) ?? ''}`);
    if (this.fail.finish) throw this.fail.finish;
    if (!this.prepared.delete(gid)) return 'absent';
    if (commit) this.committed.add(gid);
    return commit ? 'committed' : 'rolled_back';
  }
}

function order(orderId = randomUUID()): TwoPhaseOrder {
  return {
    orderId,
    lines: [{ productId: 'p-1', quantity: 2 }],
    total: { amount: 1000, currency: 'USD' },
    card: { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' },
    options: (target) => ({ deadlineMs: 1000, idempotencyKey: `${orderId}:two_phase:${target}` }),
  };
}

function setup() {
  const log = new MemoryLog();
  const participants = new RecordingParticipants(log);
  const slept: number[] = [];
  const coordinator = new TwoPhaseCoordinator({
    log,
    participants,
    logger,
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  return { log, participants, coordinator, slept };
}

const gids = (orderId: string) => [`shop2pc:${orderId}:catalog`, `shop2pc:${orderId}:payment`];

describe('the two-phase coordinator', () => {
  test('both prepared: COMMIT is in the log before either participant hears it; then both commit', async () => {
    const { log, participants, coordinator } = setup();
    const o = order();
    assert.deepEqual(await coordinator.run(o), { paymentId: 'pay-1' });
    const [catalog, payment] = gids(o.orderId);
    assert.deepEqual(participants.calls, [
      `prepare:${catalog}`,
      `prepare:${payment}`,
      `commit:${catalog}@decide:COMMIT`,
      `commit:${payment}@decide:COMMIT`,
    ]);
    assert.deepEqual([...participants.committed].sort(), [catalog, payment]);
    assert.deepEqual(log.writes, ['begin', 'decide:COMMIT', 'finish']);
  });

  test('a participant that refuses aborts the transaction: both rolled back, the order cancelled with its reason', async () => {
    const { log, participants, coordinator } = setup();
    participants.fail.authorize = new ShopError('SHOP_PAYMENT_DECLINED', 'declined');
    const o = order();
    await assert.rejects(
      coordinator.run(o),
      (err: unknown) => err instanceof SagaRefusal && err.reason === 'payment_declined',
    );
    assert.equal(participants.prepared.size, 0, 'the catalog’s prepared reservation was rolled back');
    assert.equal(participants.committed.size, 0);
    assert.deepEqual(log.writes, ['begin', 'decide:ABORT', 'finish']);
    assert.equal(log.rows.get(o.orderId)?.reason, 'payment_declined');
  });

  test('a participant that does not answer aborts too (its prepare may have happened: it is rolled back)', async () => {
    const { log, participants, coordinator } = setup();
    participants.fail.reserve = new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'catalog is down');
    const o = order();
    await assert.rejects(
      coordinator.run(o),
      (err: unknown) => err instanceof SagaRefusal && err.reason === 'two_phase_aborted:SHOP_DEPENDENCY_UNAVAILABLE',
    );
    assert.deepEqual(
      participants.calls.filter((c) => c.startsWith('rollback')),
      gids(o.orderId).map((g) => `rollback:${g}@decide:ABORT`),
    );
    assert.equal(log.rows.get(o.orderId)?.decision, 'ABORT');
  });

  test('a crash after COMMIT was logged: recovery commits both; the step run again answers from the log', async () => {
    const { log, participants, coordinator } = setup();
    const o = order();
    participants.fail.finish = new Error('the coordinator died before telling anyone');
    await assert.rejects(coordinator.run(o), (err: unknown) => !(err instanceof SagaRefusal));
    assert.equal(participants.prepared.size, 2, 'both participants in doubt');

    participants.fail = {};
    const restarted = new TwoPhaseCoordinator({ log, participants, logger });
    assert.deepEqual(await restarted.recover(), { committed: 1, rolledBack: 0, failed: 0 });
    assert.equal(participants.prepared.size, 0);
    assert.deepEqual([...participants.committed].sort(), gids(o.orderId));
    assert.deepEqual(log.woken, [o.orderId], 'its saga is due at once, not after the dead runner’s lease');
    const prepares = participants.calls.filter((c) => c.startsWith('prepare')).length;
    assert.deepEqual(await restarted.run(o), { paymentId: 'pay-1' });
    assert.equal(participants.calls.filter((c) => c.startsWith('prepare')).length, prepares, 'nothing prepared again');
  });

  test('a crash before any decision: recovery decides ABORT (presumed abort) and rolls both back', async () => {
    const { log, participants } = setup();
    const o = order();
    // The coordinator was held after both prepared (the chaos hook) and killed there.
    const held = new TwoPhaseCoordinator({ log, participants, logger, sleep: () => new Promise(() => {}) });
    held.chaos.pause = { at: 'prepared', ms: 60_000 };
    void held.run(o);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(participants.prepared.size, 2);
    assert.equal(log.rows.get(o.orderId)?.decision, undefined);

    const restarted = new TwoPhaseCoordinator({ log, participants, logger });
    assert.deepEqual(await restarted.recover(), { committed: 0, rolledBack: 1, failed: 0 });
    assert.equal(participants.prepared.size, 0);
    assert.equal(participants.committed.size, 0);
    await assert.rejects(
      restarted.run(o),
      (err: unknown) => err instanceof SagaRefusal && err.reason === 'two_phase_aborted:coordinator_restarted',
    );
  });

  test('a step run again over an undecided row (its runner died) aborts it instead of preparing twice', async () => {
    const { log, participants, coordinator } = setup();
    const o = order();
    await log.begin(o.orderId, ['catalog', 'payment']);
    await assert.rejects(coordinator.run(o), SagaRefusal);
    assert.deepEqual(
      participants.calls.filter((c) => c.startsWith('prepare')),
      [],
    );
    assert.equal(log.rows.get(o.orderId)?.decision, 'ABORT');
  });

  test('a participant that asks: the logged decision; an undecided one is UNKNOWN, then decided ABORT for good', async () => {
    const log = new MemoryLog();
    let now = new Date();
    const coordinator = new TwoPhaseCoordinator({
      log,
      participants: new RecordingParticipants(log),
      logger,
      clock: () => now,
      decisionTimeoutMs: 10_000,
    });
    assert.equal(await coordinator.inquire(randomUUID()), 'ABORT', 'an order the log does not know never commits');
    const o = order();
    await log.begin(o.orderId, ['catalog', 'payment']);
    assert.equal(await coordinator.inquire(o.orderId), 'UNKNOWN', 'its coordinator may still decide');
    assert.equal(log.rows.get(o.orderId)?.decision, undefined, 'asking early decides nothing');
    // The log's clock started the row a moment after `now`: well past the timeout.
    now = new Date(now.getTime() + 20_000);
    assert.equal(await coordinator.inquire(o.orderId), 'ABORT');
    assert.equal(log.rows.get(o.orderId)?.reason, 'two_phase_aborted:participant_timeout');
    // The coordinator's own COMMIT, arriving after the answer, changes nothing.
    assert.equal((await log.decide(o.orderId, 'COMMIT', { paymentId: 'p' })).decision, 'ABORT');
    const other = order();
    await log.begin(other.orderId, ['catalog', 'payment']);
    await log.decide(other.orderId, 'COMMIT', { paymentId: 'p' });
    assert.equal(await coordinator.inquire(other.orderId), 'COMMIT');
  });

  test('a participant asking about a checkout this coordinator is still deciding is told UNKNOWN, however long it takes', async () => {
    const log = new MemoryLog();
    const participants = new RecordingParticipants(log);
    let now = new Date();
    let release: () => void = () => {};
    const coordinator = new TwoPhaseCoordinator({
      log,
      participants,
      logger,
      clock: () => now,
      decisionTimeoutMs: 10_000,
      sleep: () => new Promise<void>((resolve) => (release = resolve)),
    });
    coordinator.chaos.pause = { at: 'prepared', ms: 60_000 };
    const o = order();
    const running = coordinator.run(o);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(participants.prepared.size, 2);
    now = new Date(now.getTime() + 60_000);
    assert.equal(await coordinator.inquire(o.orderId), 'UNKNOWN');
    release();
    assert.deepEqual(await running, { paymentId: 'pay-1' });
    assert.equal(await coordinator.inquire(o.orderId), 'COMMIT');
  });

  test('COMMIT logged but not delivered until past the step’s deadline: the saga keeps finishing, it never cancels', async () => {
    const { log, participants, coordinator } = setup();
    const o = order();
    participants.fail.finish = new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'payment is down');
    const failed = await coordinator.run(o).then(
      () => assert.fail('the delivery failed'),
      (err: unknown) => err,
    );
    assert.equal(log.rows.get(o.orderId)?.decision, 'COMMIT');
    // The saga's state machine, given this failure of the reserve step long after its deadline.
    const reserve = CHECKOUT_SAGA.find((s) => s.name === 'reserve_stock');
    assert.ok(reserve);
    const deadlineAt = new Date(Date.parse('2026-01-01T10:00:15Z'));
    const after = (ms: number) => new Date(deadlineAt.getTime() + ms);
    const transition = afterFailure(
      { orderId: o.orderId, state: 'RUNNING', currentStep: 2, attempts: 9, deadlineAt, compensations: [] },
      { kind: 'step', step: reserve },
      {
        err: failed,
        startedAt: after(60_000),
        finishedAt: after(61_000),
        leaseUntil: after(120_000),
        callDeadlineMs: 1_500,
        breakerResetMs: 10_000,
      },
      { backoff: { baseMs: 1_000, maxMs: 8_000 }, random: () => 1 },
    );
    assert.equal(transition.gaveUp, undefined, 'a decided COMMIT is not given up');
    assert.equal(transition.progress.state, 'RUNNING');
    assert.deepEqual(transition.progress.compensations, [], 'no release of the stock it committed');
    assert.ok(transition.progress.nextAttemptAt > after(61_000), 'tried again after a backoff');
    // Retried once payment is back: both commit, the step succeeds from the log.
    participants.fail = {};
    assert.deepEqual(await coordinator.run(o), { paymentId: 'pay-1' });
    assert.deepEqual([...participants.committed].sort(), gids(o.orderId));
  });

  test('ABORT logged but not delivered is retried to the deadline as before (the order is cancelled either way)', async () => {
    const { participants, coordinator } = setup();
    participants.fail.authorize = new ShopError('SHOP_PAYMENT_DECLINED', 'declined');
    participants.fail.finish = new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'catalog is down');
    await assert.rejects(
      coordinator.run(order()),
      (err: unknown) => err instanceof ShopError && !(err instanceof SagaOutcomeDecided),
    );
  });

  test('the chaos hook holds each checkout at its point for its time, and only there', async () => {
    const { coordinator, slept, log } = setup();
    coordinator.chaos.pause = { at: 'decided', ms: 1234 };
    const o = order();
    await coordinator.run(o);
    assert.deepEqual(slept, [1234]);
    assert.equal(log.rows.get(o.orderId)?.decision, 'COMMIT');
    coordinator.chaos.pause = { at: 'none', ms: 1234 };
    await coordinator.run(order());
    assert.deepEqual(slept, [1234]);
  });

  test('recovery rules: finished rows are left alone, COMMIT is re-sent, anything else rolled back', () => {
    const base = { orderId: 'o', participants: [], startedAt: new Date() };
    assert.equal(recoveryAction({ ...base, decision: 'COMMIT', finishedAt: new Date() }), 'none');
    assert.equal(recoveryAction({ ...base, decision: 'COMMIT' }), 'commit');
    assert.equal(recoveryAction({ ...base, decision: 'ABORT' }), 'rollback');
    assert.equal(recoveryAction(base), 'rollback');
    const at = { now: new Date(base.startedAt.getTime() + 5_000), decisionTimeoutMs: 10_000, running: false };
    assert.equal(inquiryAnswer(undefined, at), 'ABORT', 'the log is written before any prepare: no row, no commit');
    assert.equal(inquiryAnswer({ ...base, decision: 'COMMIT' }, at), 'COMMIT');
    assert.equal(inquiryAnswer({ ...base, decision: 'ABORT' }, at), 'ABORT');
    assert.equal(inquiryAnswer(base, at), 'UNKNOWN', 'undecided, within the coordinator’s time');
    const late = { ...at, now: new Date(base.startedAt.getTime() + 10_000) };
    assert.equal(inquiryAnswer(base, late), 'presume_abort', 'undecided past the coordinator’s time');
    assert.equal(inquiryAnswer(base, { ...late, running: true }), 'UNKNOWN', 'this process is still deciding it');
  });
});

describe('order.v1.OrderService/GetTwoPhaseDecision', () => {
  const handlers = orderServiceHandlers({} as OrderQueries, {} as WatchDeps, {
    inquire: async (orderId: string) => (orderId.startsWith('0') ? 'COMMIT' : 'UNKNOWN'),
  });
  const ctx = (caller: string | undefined) =>
    ({
      caller,
      ...(caller ? { identity: { caller, user: undefined, actsForUser: false } } : {}),
    }) as unknown as CallContext;
  const id = '0b9c8a1e-6f7d-4c3b-9a2e-1d0c9b8a7f6e';

  test('answers the participants (catalog, payment) with the coordinator’s answer', async () => {
    assert.deepEqual(await handlers.getTwoPhaseDecision({ orderId: id }, ctx('catalog')), {
      decision: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_COMMIT,
    });
    assert.deepEqual(await handlers.getTwoPhaseDecision({ orderId: `1${id.slice(1)}` }, ctx('payment')), {
      decision: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_UNKNOWN,
    });
  });

  test('refuses any other verified caller, and a malformed order id', async () => {
    await assert.rejects(
      async () => handlers.getTwoPhaseDecision({ orderId: id }, ctx('gateway')),
      (err: unknown) => err instanceof ShopError && err.code === 'SHOP_FORBIDDEN',
    );
    await assert.rejects(
      async () => handlers.getTwoPhaseDecision({ orderId: "x'; --" }, ctx('catalog')),
      (err: unknown) => err instanceof ShopError && err.code === 'SHOP_VALIDATION_FAILED',
    );
  });
});
