// The two-phase coordinator on a real PostgreSQL: its decision log in a scratch order database and
// participants that are real prepared transactions (PREPARE TRANSACTION on a connection of their
// own, finished by COMMIT/ROLLBACK PREPARED from another). The "crash" is a coordinator held by
// its chaos hook and abandoned, every connection of the database dropped; a new coordinator's
// recovery must finish what the old one left in pg_prepared_xacts. (Catalog's and payment's own
// participants are tested in their services: test/integration/two-phase.test.ts.) Last, the
// participants' own question (the chassis' TwoPhaseInquiry) answered by this coordinator.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  createLogger,
  type FinishOutcome,
  finishPrepared,
  listPrepared,
  preparedTransactionsStore,
  prepareTransaction,
  TwoPhaseInquiry,
  type TwoPhaseParticipant,
} from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import pg from 'pg';
import { Registry } from 'prom-client';
import type { TwoPhaseOrder, TwoPhaseParticipants } from '../../src/application/two-phase-coordinator';
import { TwoPhaseCoordinator } from '../../src/application/two-phase-coordinator';
import { SagaRefusal } from '../../src/domain/saga';
import { PgTwoPhaseLog } from '../../src/infrastructure/two-phase-log';

const logger = createLogger({ service: 'order', level: 'silent' });
let db: ScratchDatabase;
let pool: pg.Pool;

before(async () => {
  db = await createScratchDatabase({
    prefix: 'order_two_phase',
    migrationsDir: resolve(__dirname, '../../../prisma/migrations'),
  });
  pool = new pg.Pool({ ...db.settings, max: 6 });
  pool.on('error', () => {});
  // What the participants write: one row per order and participant, visible only once committed.
  await pool.query('CREATE TABLE held (order_id uuid, participant text, PRIMARY KEY (order_id, participant))');
});
after(async () => {
  await pool?.end();
  await db?.drop();
});
afterEach(async () => {
  const left = await listPrepared(pool);
  for (const p of left) await finishPrepared(pool, p.gid, false);
  assert.deepEqual(left, [], 'a test left prepared transactions behind');
});

/** Each prepare: its own connection, BEGIN, a row, PREPARE TRANSACTION, the connection closed. */
class PreparedRowParticipants implements TwoPhaseParticipants {
  async prepareReserve(gid: string, orderId: string) {
    await this.prepare(gid, orderId, 'catalog');
  }
  async prepareAuthorize(gid: string, orderId: string) {
    await this.prepare(gid, orderId, 'payment');
    return { paymentId: randomUUID() };
  }
  finish(_p: TwoPhaseParticipant, gid: string, commit: boolean): Promise<FinishOutcome> {
    return finishPrepared(pool, gid, commit);
  }
  private async prepare(gid: string, orderId: string, participant: string) {
    const client = new pg.Client(db.settings);
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO held VALUES ($1, $2)', [orderId, participant]);
      await prepareTransaction(client, gid);
    } finally {
      await client.end();
    }
  }
}

async function newOrder(): Promise<TwoPhaseOrder> {
  const orderId = randomUUID();
  await pool.query(
    `INSERT INTO orders (id, user_id, currency, total_amount, cart_version, created_at, updated_at, checkout_mode)
     VALUES ($1, 'u-1', 'USD', 1000, 1, now(), now(), 'two-phase')`,
    [orderId],
  );
  return {
    orderId,
    lines: [{ productId: 'p-1', quantity: 1 }],
    total: { amount: 1000, currency: 'USD' },
    card: { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' },
    options: () => ({ deadlineMs: 1000, idempotencyKey: `${orderId}:two_phase` }),
  };
}

const heldRows = async (orderId: string) =>
  (await pool.query('SELECT participant FROM held WHERE order_id = $1 ORDER BY participant', [orderId])).rows.map(
    (r: { participant: string }) => r.participant,
  );

/** A coordinator held forever at `at` (the chaos hook), as good as killed there. */
async function killedAt(at: 'prepared' | 'decided', order: TwoPhaseOrder): Promise<void> {
  const coordinator = new TwoPhaseCoordinator({
    log: new PgTwoPhaseLog(pool),
    participants: new PreparedRowParticipants(),
    logger,
    sleep: () => new Promise(() => {}),
  });
  coordinator.chaos.pause = { at, ms: 1 };
  void coordinator.run(order);
  for (let i = 0; i < 200 && (await listPrepared(pool)).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  if (at === 'decided') {
    for (let i = 0; i < 200; i++) {
      const { rows } = await pool.query('SELECT decision FROM two_phase_transactions WHERE order_id = $1', [
        order.orderId,
      ]);
      if (rows[0]?.decision) break;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  // Every connection dropped: what survives is what PostgreSQL keeps durably.
  await pool.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
}

describe('the two-phase coordinator on PostgreSQL', () => {
  test('a checkout commits both prepared transactions and logs it finished', async () => {
    const order = await newOrder();
    const coordinator = new TwoPhaseCoordinator({
      log: new PgTwoPhaseLog(pool),
      participants: new PreparedRowParticipants(),
      logger,
    });
    const { paymentId } = await coordinator.run(order);
    assert.ok(paymentId);
    assert.deepEqual(await heldRows(order.orderId), ['catalog', 'payment']);
    const { rows } = await pool.query(
      'SELECT decision, payment_id, finished_at FROM two_phase_transactions WHERE order_id = $1',
      [order.orderId],
    );
    assert.equal(rows[0].decision, 'COMMIT');
    assert.equal(rows[0].payment_id, paymentId);
    assert.ok(rows[0].finished_at);
    assert.deepEqual(await listPrepared(pool), []);
  });

  test('killed after COMMIT was logged: both stay in doubt in pg_prepared_xacts, and recovery commits them', async () => {
    const order = await newOrder();
    await killedAt('decided', order);
    assert.deepEqual((await listPrepared(pool)).map((p) => p.participant).sort(), ['catalog', 'payment']);
    assert.deepEqual(await heldRows(order.orderId), [], 'nothing visible while in doubt');

    const restarted = new TwoPhaseCoordinator({
      log: new PgTwoPhaseLog(pool),
      participants: new PreparedRowParticipants(),
      logger,
    });
    assert.deepEqual(await restarted.recover(), { committed: 1, rolledBack: 0, failed: 0 });
    assert.deepEqual(await heldRows(order.orderId), ['catalog', 'payment']);
    assert.deepEqual(await listPrepared(pool), []);
    // The saga's step, run again after the restart, answers from the log.
    assert.ok((await restarted.run(order)).paymentId);
  });

  test('killed between prepare and decision: recovery decides ABORT and rolls both back', async () => {
    const order = await newOrder();
    await killedAt('prepared', order);
    assert.equal((await listPrepared(pool)).length, 2);

    const restarted = new TwoPhaseCoordinator({
      log: new PgTwoPhaseLog(pool),
      participants: new PreparedRowParticipants(),
      logger,
    });
    assert.deepEqual(await restarted.recover(), { committed: 0, rolledBack: 1, failed: 0 });
    assert.deepEqual(await heldRows(order.orderId), []);
    assert.deepEqual(await listPrepared(pool), []);
    await assert.rejects(
      restarted.run(order),
      (err: unknown) => err instanceof SagaRefusal && err.reason === 'two_phase_aborted:coordinator_restarted',
    );
    assert.deepEqual(await listPrepared(pool), []);
  });
});

describe('participants that ask this coordinator (TwoPhaseInquiry) on PostgreSQL', () => {
  /** The participants' inquiry over this database, asking `ask` (order's GetTwoPhaseDecision does coordinator.inquire). */
  function inquiry(ask: (orderId: string) => Promise<'COMMIT' | 'ABORT' | 'UNKNOWN'>, registry?: Registry) {
    return new TwoPhaseInquiry({
      participant: 'catalog',
      store: preparedTransactionsStore(pool),
      ask,
      logger,
      ...(registry ? { registry } : {}),
      settings: { askAfterMs: 0, intervalMs: 50, maxBackoffMs: 200 },
    });
  }
  const restarted = (decisionTimeoutMs: number) =>
    new TwoPhaseCoordinator({
      log: new PgTwoPhaseLog(pool),
      participants: new PreparedRowParticipants(),
      logger,
      decisionTimeoutMs,
    });

  test('COMMIT logged, coordinator gone: the participants’ question commits both (no recovery run)', async () => {
    const order = await newOrder();
    await killedAt('decided', order);
    assert.equal((await listPrepared(pool)).length, 2);
    const coordinator = restarted(15_000);
    const counts = await inquiry((id) => coordinator.inquire(id)).sweep();
    assert.equal(counts.committed, 2);
    assert.deepEqual(await listPrepared(pool), []);
    assert.deepEqual(await heldRows(order.orderId), ['catalog', 'payment']);
  });

  test('undecided and older than the coordinator’s timeout: the question logs ABORT and both roll back; a late COMMIT changes nothing', async () => {
    const order = await newOrder();
    await killedAt('prepared', order);
    const young = await inquiry((id) => restarted(60_000).inquire(id)).sweep();
    assert.equal(young.unknown, 2, 'within its time the coordinator may still decide: hold');
    assert.equal((await listPrepared(pool)).length, 2);

    const coordinator = restarted(0);
    const counts = await inquiry((id) => coordinator.inquire(id)).sweep();
    assert.equal(counts.rolledBack, 2);
    assert.deepEqual(await listPrepared(pool), []);
    assert.deepEqual(await heldRows(order.orderId), []);
    const log = new PgTwoPhaseLog(pool);
    assert.equal((await log.decide(order.orderId, 'COMMIT', {})).decision, 'ABORT');
    assert.equal((await log.find(order.orderId))?.reason, 'two_phase_aborted:participant_timeout');
  });

  test('the coordinator unreachable: both stay prepared, the misses are counted; once it answers, they are finished', async () => {
    const order = await newOrder();
    await killedAt('decided', order);
    const registry = new Registry();
    const down = inquiry(async () => {
      throw new Error('14 UNAVAILABLE: No connection established');
    }, registry);
    assert.equal((await down.sweep()).unreachable, 2);
    assert.equal((await listPrepared(pool)).length, 2, 'no decision of its own');
    assert.deepEqual(await heldRows(order.orderId), []);
    const metric = await registry.getSingleMetric('shop_two_phase_inquiries_total')?.get();
    assert.equal(metric?.values.find((v) => v.labels.outcome === 'unreachable')?.value, 2);

    const coordinator = restarted(15_000);
    const up = inquiry((id) => coordinator.inquire(id));
    up.start();
    try {
      for (let i = 0; i < 100 && (await listPrepared(pool)).length > 0; i++)
        await new Promise((r) => setTimeout(r, 25));
    } finally {
      await up.stop();
    }
    assert.deepEqual(await listPrepared(pool), []);
    assert.deepEqual(await heldRows(order.orderId), ['catalog', 'payment']);
  });
});
