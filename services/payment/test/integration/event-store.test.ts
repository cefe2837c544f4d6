// The payment as a stream of events (docs/patterns/event-sourcing.md), on a scratch database:
// the projections rebuilt from the store equal the ones the commands wrote (every row, every
// field), also after they were corrupted and for payments made before the store existed (the
// migration's backfill); two captures of one payment append one event; snapshots; the state and
// the shop's balance at a past instant.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPrismaClient } from '@shoplab/chassis';
import { createScratchDatabase } from '@shoplab/chassis/testing';
import { paymentV1 } from '@shoplab/contracts';
import pg from 'pg';
import { PaymentService } from '../../src/application/payments';
import { type PaymentStore, type PaymentTx, StreamConflict } from '../../src/application/ports';
import { PrismaClient } from '../../src/generated/prisma/client';
import { PrismaPaymentStore } from '../../src/infrastructure/payment.store';
import { ADMIN_TOKEN, migrationsDir, type RunningPayment, scratchDatabase, startPayment } from '../support/harness';

const VISA = '4242 4242 4242 4242';
const DECLINED = '4000 0000 0000 0002';
const usd = (amount: number) => ({ amount, currency: 'USD' });

let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let svc: RunningPayment;

before(async () => {
  scratch = await scratchDatabase();
  svc = await startPayment(scratch.prisma, { snapshotEvery: 2 });
});

after(async () => {
  await svc.close();
  await scratch.prisma.$disconnect();
  await scratch.pool.end();
  await scratch.db.drop();
});

async function authorize(amount: number, number = VISA): Promise<paymentV1.Payment> {
  try {
    const res = await svc.client.call('authorize', {
      idempotencyKey: randomUUID(),
      orderId: `order-${randomUUID()}`,
      amount: usd(amount),
      card: { number, expMonth: 12, expYear: 2031, cvc: '123' },
    });
    return res.payment as paymentV1.Payment;
  } catch {
    // A decline is answered as an error; its payment is in the store all the same.
    return { id: '' } as paymentV1.Payment;
  }
}

const call = (method: 'capture' | 'void', paymentId: string) =>
  svc.client.call(method, { idempotencyKey: randomUUID(), paymentId });
const refund = (paymentId: string, amount: number) =>
  svc.client.call('refund', { idempotencyKey: randomUUID(), paymentId, amount: usd(amount) });

/** Every row of both projections, every column as PostgreSQL prints it (full precision). */
async function projections(pool: pg.Pool): Promise<{ payments: unknown[]; ledger: unknown[] }> {
  const payments = await pool.query('SELECT to_jsonb(p)::text AS row FROM payments p ORDER BY id');
  const ledger = await pool.query('SELECT to_jsonb(l)::text AS row FROM ledger_entries l ORDER BY id');
  return { payments: payments.rows.map((r) => r.row), ledger: ledger.rows.map((r) => r.row) };
}

async function rebuild(): Promise<Record<string, number>> {
  const res = await svc.app.http.inject({
    method: 'POST',
    url: '/v1/admin/payments/rebuild',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

async function adminGet(url: string) {
  const res = await svc.app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** The database's clock, so an instant compares with recorded_at on one clock. */
async function dbNow(): Promise<string> {
  const { rows } = await scratch.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  const now = rows[0]?.now;
  assert.ok(now, 'the database answered no time');
  return now.toISOString();
}

describe('rebuilding the projections from the event store', () => {
  test('reproduces every payments row and ledger entry, also after they were corrupted', async () => {
    const captured = await authorize(1000);
    await call('capture', captured.id);
    const refunded = await authorize(2500);
    await call('capture', refunded.id);
    await refund(refunded.id, 500);
    await refund(refunded.id, 700);
    const voided = await authorize(300);
    await call('void', voided.id);
    await authorize(4200); // stays authorized
    await authorize(999, DECLINED);

    const before = await projections(scratch.pool);
    assert.equal(before.payments.length, 5);
    assert.equal(before.ledger.length, 10);

    const report = await rebuild();
    assert.deepEqual(
      { streams: report.streams, events: report.events, payments: report.payments, ledger: report.ledgerEntries },
      { streams: 5, events: 10, payments: 5, ledger: 10 },
    );
    assert.deepEqual(await projections(scratch.pool), before);

    // Corrupt both projections (the ledger's trigger is bypassed the only way it allows).
    await scratch.pool.query(`UPDATE payments SET status = 'VOIDED', captured_amount = 0, refunded_amount = 0`);
    const client = await scratch.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('payment.rebuild', 'on', true)`);
      await client.query('TRUNCATE ledger_entries');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    assert.notDeepEqual(await projections(scratch.pool), before);
    await rebuild();
    assert.deepEqual(await projections(scratch.pool), before);

    // A command after the rebuild continues the stream where it ended.
    const again = await call('capture', (await authorize(50)).id);
    assert.equal(again.payment?.status, paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED);
  });

  test('dropped projections answer commands UNAVAILABLE until the rebuild writes them back, equal by digest', async () => {
    const p = await authorize(640);
    const before = await adminGet('/v1/admin/payments/projections');
    const dropped = await svc.app.http.inject({
      method: 'DELETE',
      url: '/v1/admin/payments/projections',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(dropped.statusCode, 200, dropped.body);
    assert.deepEqual([dropped.json().payments, dropped.json().ledgerEntries], [0, 0]);
    await assert.rejects(call('capture', p.id), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SHOP_DEPENDENCY_UNAVAILABLE');
      return true;
    });
    await rebuild();
    assert.deepEqual(await adminGet('/v1/admin/payments/projections'), before);
    const captured = await call('capture', p.id);
    assert.equal(captured.payment?.status, paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED);
    assert.notEqual((await adminGet('/v1/admin/payments/projections')).digest, before.digest);
  });

  test('the ledger stays append-only outside the rebuild, and the store always', async () => {
    await assert.rejects(scratch.pool.query('TRUNCATE ledger_entries'), /append-only/);
    await assert.rejects(scratch.pool.query('DELETE FROM payment_events'), /append-only/);
    await assert.rejects(scratch.pool.query(`UPDATE payment_events SET type = 'x'`), /append-only/);
  });
});

describe('optimistic concurrency on the stream version', () => {
  test('of two captures racing on one payment exactly one appends; both answer CAPTURED', async () => {
    const p = await authorize(7700);
    const answers = await Promise.all([1, 2, 3, 4].map(() => call('capture', p.id)));
    for (const a of answers) assert.equal(a.payment?.status, paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED);
    const stream = await adminGet(`/v1/admin/payments/${p.id}/events`);
    assert.deepEqual(
      stream.events.map((e: { type: string }) => e.type),
      ['PaymentAuthorized', 'PaymentCaptured'],
    );
    const { rows } = await scratch.pool.query(
      `SELECT kind::text FROM ledger_entries WHERE payment_id = $1 ORDER BY id`,
      [p.id],
    );
    assert.deepEqual(
      rows.map((r) => r.kind),
      ['AUTHORIZE', 'CAPTURE'],
    );
  });

  test('an append at a version another command took first is a StreamConflict', async () => {
    const p = await authorize(800);
    const store = new PrismaPaymentStore(scratch.prisma);
    let loadedB!: () => void;
    const bLoaded = new Promise<void>((r) => {
      loadedB = r;
    });
    let aDone!: () => void;
    const aCommitted = new Promise<void>((r) => {
      aDone = r;
    });
    const a = store
      .transaction(async (tx) => {
        const agg = await tx.loadPayment(p.id);
        await bLoaded;
        return tx.append(p.id, agg?.version ?? 0, agg?.state, {
          type: 'PaymentCaptured',
          amount: 800,
          currency: 'USD',
        });
      })
      .finally(() => aDone());
    const b = store.transaction(async (tx) => {
      const agg = await tx.loadPayment(p.id);
      loadedB();
      await aCommitted;
      assert.equal(agg?.version, 1);
      return tx.append(p.id, agg?.version ?? 0, agg?.state, { type: 'PaymentVoided', amount: 800, currency: 'USD' });
    });
    assert.equal((await a).version, 2);
    await assert.rejects(b, (err: unknown) => err instanceof StreamConflict && err.expectedVersion === 1);
    const after = await adminGet(`/v1/admin/payments/${p.id}/events`);
    assert.equal(after.payment.status, 'CAPTURED');
    assert.equal(after.version, 2);
  });

  test('a refund whose version another refund took meanwhile runs again on the new version: both refunds count', async () => {
    const p = await authorize(1000);
    await call('capture', p.id);
    const store = new PrismaPaymentStore(scratch.prisma);
    // The first attempt of refund A reads version 2; before it appends, refund B commits version 3.
    let raced = false;
    const racing: PaymentStore = Object.assign(Object.create(store) as PaymentStore, {
      transaction: <T>(work: (tx: PaymentTx) => Promise<T>) =>
        store.transaction((tx) =>
          work(
            Object.assign(Object.create(tx) as PaymentTx, {
              loadPayment: async (id: string) => {
                const loaded = await tx.loadPayment(id);
                if (!raced) {
                  raced = true;
                  await refund(p.id, 300);
                }
                return loaded;
              },
            }),
          ),
        ),
    });
    const payments = new PaymentService({ store: racing, latencyMs: 0 });
    const answered = await payments.refund({ idempotencyKey: randomUUID(), paymentId: p.id, amount: usd(200) });
    assert.equal(payments.appendConflicts, 1);
    assert.equal(answered.refunded.amount, 500);
    const after = await adminGet(`/v1/admin/payments/${p.id}/events`);
    assert.deepEqual(
      after.events.map((e: { version: number; type: string }) => [e.version, e.type]),
      [
        [1, 'PaymentAuthorized'],
        [2, 'PaymentCaptured'],
        [3, 'PaymentRefunded'],
        [4, 'PaymentRefunded'],
      ],
    );
    const { rows } = await scratch.pool.query(
      `SELECT kind::text AS kind, amount::int AS amount FROM ledger_entries WHERE payment_id = $1 ORDER BY id`,
      [p.id],
    );
    assert.deepEqual(
      rows.map((r) => [r.kind, r.amount]),
      [
        ['AUTHORIZE', 1000],
        ['CAPTURE', 1000],
        ['REFUND', 300],
        ['REFUND', 200],
      ],
    );
  });
});

describe('snapshots and temporal queries', () => {
  test('a snapshot every N events; loading is the snapshot plus the later events', async () => {
    const p = await authorize(1200);
    await call('capture', p.id);
    await refund(p.id, 100);
    const { rows } = await scratch.pool.query('SELECT version, state FROM payment_snapshots WHERE stream_id = $1', [
      p.id,
    ]);
    assert.equal(rows[0]?.version, 2);
    assert.equal(rows[0]?.state.status, 'CAPTURED');
    const loaded = await new PrismaPaymentStore(scratch.prisma).transaction((tx) => tx.loadPayment(p.id));
    assert.equal(loaded?.version, 3);
    assert.equal(loaded?.state.refundedAmount, 100);
    assert.equal(loaded?.state.status, 'REFUNDED');
  });

  test("a payment's state and the shop's balance at a past instant come from the store", async () => {
    const start = await adminGet('/v1/admin/payments/balance');
    const usdAt = (b: { totals: { currency: string }[] }) =>
      b.totals.find((t) => t.currency === 'USD') as Record<string, number> | undefined;
    const base = usdAt(start) ?? { captured: 0, refunded: 0, authorizedOpen: 0, payments: 0 };

    const p = await authorize(3000);
    const q = await authorize(400);
    const t1 = await dbNow();
    await call('capture', p.id);
    await refund(p.id, 1000);
    await call('void', q.id);

    const thenP = await adminGet(`/v1/admin/payments/${p.id}/events?at=${encodeURIComponent(t1)}`);
    assert.equal(thenP.version, 1);
    assert.equal(thenP.payment.status, 'AUTHORIZED');
    const nowP = await adminGet(`/v1/admin/payments/${p.id}/events`);
    assert.equal(nowP.payment.status, 'REFUNDED');
    assert.equal(nowP.payment.refunded.amount, 1000);

    const atT1 = usdAt(await adminGet(`/v1/admin/payments/balance?at=${encodeURIComponent(t1)}`));
    assert.equal(atT1?.captured, base.captured);
    assert.equal(atT1?.authorizedOpen, (base.authorizedOpen ?? 0) + 3400);
    assert.equal(atT1?.payments, (base.payments ?? 0) + 2);
    const atNow = usdAt(await adminGet('/v1/admin/payments/balance'));
    assert.equal(atNow?.captured, base.captured + 3000);
    assert.equal(atNow?.refunded, base.refunded + 1000);
    assert.equal(atNow?.net, base.captured + 3000 - (base.refunded + 1000));
    assert.equal(atNow?.authorizedOpen, base.authorizedOpen ?? 0);
  });
});

describe('the migration writes streams for the payments made before it', () => {
  test('a rebuild after the backfill reproduces the old rows', async () => {
    // A database at the first migration, with rows written the old way, then the event store's migration.
    const dir = await mkdtemp(join(tmpdir(), 'payment-migrations-'));
    await cp(join(migrationsDir, '20261127000000_init'), join(dir, '20261127000000_init'), { recursive: true });
    const old = await createScratchDatabase({ prefix: 'payment_backfill', migrationsDir: dir });
    const pool = new pg.Pool({ ...old.settings, max: 2 });
    const prisma = createPrismaClient(PrismaClient, old.settings);
    try {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      await pool.query(
        `INSERT INTO payments (id, order_id, status, currency, amount, captured_amount, refunded_amount, card_last4, decline_reason, created_at, updated_at) VALUES
           ($1, 'o-1', 'REFUNDED', 'USD', 1000, 1000, 300, '4242', NULL, '2026-11-30 10:00:00.000001+00', '2026-11-30 10:05:00.5+00'),
           ($2, 'o-2', 'DECLINED', 'EUR', 500, 0, 0, '0002', 'card_declined', '2026-11-30 11:00:00+00', '2026-11-30 11:00:00.003+00'),
           ($3, 'o-3', 'VOIDED', 'USD', 70, 0, 0, '4242', NULL, '2026-11-30 12:00:00+00', '2026-11-30 12:01:00+00')`,
        [a, b, c],
      );
      await pool.query(
        `INSERT INTO ledger_entries (payment_id, kind, amount, currency, created_at) VALUES
           ($1, 'AUTHORIZE', 1000, 'USD', '2026-11-30 10:00:00.000001+00'),
           ($2, 'DECLINE', 500, 'EUR', '2026-11-30 11:00:00+00'),
           ($1, 'CAPTURE', 1000, 'USD', '2026-11-30 10:01:00+00'),
           ($3, 'AUTHORIZE', 70, 'USD', '2026-11-30 12:00:00+00'),
           ($1, 'REFUND', 300, 'USD', '2026-11-30 10:05:00.499+00'),
           ($3, 'VOID', 70, 'USD', '2026-11-30 12:01:00+00')`,
        [a, b, c],
      );
      // Statement by statement, cut at every semicolon as Prisma's migrate deploy runs it (adapter-pg).
      const sql = await readFile(join(migrationsDir, '20261205000000_event_store', 'migration.sql'), 'utf8');
      for (const statement of sql.split(';')) await pool.query(statement);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM payment_events');
      assert.equal(rows[0]?.n, 6);
      const migrated = await projections(pool);
      // The projection's times are its events' (the old updated_at came from the client's clock).
      assert.match(
        String(migrated.payments.find((r) => String(r).includes(a))),
        /"updated_at": "2026-11-30T10:05:00\.499/,
      );
      await new PrismaPaymentStore(prisma).rebuild();
      assert.deepEqual(await projections(pool), migrated);
      const store = new PrismaPaymentStore(prisma);
      const loaded = await store.transaction((tx) => tx.loadPayment(a));
      assert.deepEqual(
        [loaded?.version, loaded?.state.status, loaded?.state.capturedAmount, loaded?.state.refundedAmount],
        [3, 'REFUNDED', 1000, 300],
      );
      const declined = await store.transaction((tx) => tx.loadPayment(b));
      assert.equal(declined?.state.declineReason, 'card_declined');
    } finally {
      await prisma.$disconnect();
      await pool.end();
      await old.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
