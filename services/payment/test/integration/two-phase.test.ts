// The payment service as a two-phase participant (docs/patterns/two-phase-commit.md) on a real
// PostgreSQL: a prepared authorization exists only once COMMIT PREPARED arrives, from any
// connection; a decline votes no and is recorded as the saga's would be; and its question to a
// coordinator it cannot reach leaves the authorization prepared.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import { eventually } from '@shoplab/chassis/testing';
import { paymentV1 } from '@shoplab/contracts';
import type pg from 'pg';
import type { PrismaClient } from '../../src/generated/prisma/client';
import { ADMIN_TOKEN, type RunningPayment, scratchDatabase, startPayment } from '../support/harness';

const VISA = '4242 4242 4242 4242';
const DECLINED = '4000 0000 0000 0002';

let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let prisma: PrismaClient;
let pool: pg.Pool;
let svc: RunningPayment;

before(async () => {
  scratch = await scratchDatabase();
  prisma = scratch.prisma;
  pool = scratch.pool;
  svc = await startPayment(prisma);
});

after(async () => {
  await svc?.close();
  await prisma?.$disconnect();
  await pool?.end();
  await scratch?.db.drop();
});

afterEach(async () => {
  const left = await prepared();
  for (const gid of left) await pool.query(`ROLLBACK PREPARED '${gid}'`);
  assert.deepEqual(left, [], 'a test left prepared transactions behind');
});

async function prepared(): Promise<string[]> {
  const { rows } = await pool.query<{ gid: string }>(
    'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY gid',
  );
  return rows.map((r) => r.gid);
}

function prepareAuthorize(orderId: string, number = VISA) {
  return svc.client.call('prepareAuthorize', {
    transactionId: `shop2pc:${orderId}:payment`,
    idempotencyKey: `${orderId}:two_phase`,
    orderId,
    amount: { amount: 2500, currency: 'USD' },
    card: { number, expMonth: 12, expYear: 2031, cvc: '123' },
  });
}

const finish = (orderId: string, commit: boolean) =>
  svc.client.call('finishPrepared', { transactionId: `shop2pc:${orderId}:payment`, commit });

async function paymentsOf(orderId: string): Promise<{ status: string; events: number; outbox: number }[]> {
  const { rows } = await pool.query<{ status: string; events: number; outbox: number }>(
    `SELECT p.status::text AS status,
            (SELECT count(*)::int FROM payment_events e WHERE e.stream_id = p.id) AS events,
            (SELECT count(*)::int FROM outbox o WHERE o.aggregate_id = p.id::text) AS outbox
       FROM payments p WHERE p.order_id = $1`,
    [orderId],
  );
  return rows;
}

describe('the payment service as a two-phase participant', () => {
  test('a prepared authorization is invisible until COMMIT PREPARED, sent after its connections dropped', async () => {
    const orderId = randomUUID();
    const { payment } = await prepareAuthorize(orderId);
    assert.equal(payment?.status, paymentV1.PaymentStatus.PAYMENT_STATUS_AUTHORIZED);
    assert.deepEqual(await prepared(), [`shop2pc:${orderId}:payment`]);
    assert.deepEqual(await paymentsOf(orderId), []);
    await assert.rejects(
      svc.client.call('getPayment', { paymentId: '', orderId }),
      (err: unknown) => err instanceof ShopError && err.code === 'SHOP_NOT_FOUND',
    );

    // The "crash": every other connection to the database is dropped; the prepared transaction stays.
    await pool.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    // A pool's first query after its connections were dropped may fail: ask again, as the coordinator would.
    assert.deepEqual(await eventually('the database answers again', () => prepared()), [`shop2pc:${orderId}:payment`]);
    assert.equal((await eventually('payment answers again', () => finish(orderId, true))).outcome, 'committed');
    // The event, its projection and its outbox row, all at once.
    assert.deepEqual(await paymentsOf(orderId), [{ status: 'AUTHORIZED', events: 1, outbox: 1 }]);
    assert.equal((await finish(orderId, true)).outcome, 'absent');
    // The saga's capture works on it as on any authorization.
    const captured = await svc.client.call('capture', {
      idempotencyKey: `${orderId}:capture_payment`,
      paymentId: payment?.id ?? '',
    });
    assert.equal(captured.payment?.status, paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED);
  });

  test('ROLLBACK PREPARED leaves no payment, no event and no outbox row', async () => {
    const orderId = randomUUID();
    await prepareAuthorize(orderId);
    assert.equal((await finish(orderId, false)).outcome, 'rolled_back');
    assert.deepEqual(await paymentsOf(orderId), []);
    const { rows } = await pool.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [`${orderId}:two_phase`]);
    assert.equal(rows.length, 0, 'the idempotency key went with it: a new attempt may prepare again');
  });

  test('a decline votes no: refused, recorded DECLINED (as the saga records it), nothing left prepared', async () => {
    const orderId = randomUUID();
    await assert.rejects(
      prepareAuthorize(orderId, DECLINED),
      (err: unknown) => err instanceof ShopError && err.code === 'SHOP_PAYMENT_DECLINED',
    );
    assert.deepEqual(await prepared(), []);
    assert.deepEqual(await paymentsOf(orderId), [{ status: 'DECLINED', events: 1, outbox: 1 }]);
  });

  test('bad transaction ids are INVALID_ARGUMENT, and the order id must be the transaction’s', async () => {
    for (const transactionId of ['', 'shop2pc:x:payment', `shop2pc:${randomUUID()}:catalog`, "'; COMMIT; --"]) {
      await assert.rejects(
        svc.client.call('prepareAuthorize', {
          transactionId,
          idempotencyKey: 'k',
          orderId: randomUUID(),
          amount: { amount: 1, currency: 'USD' },
          card: { number: VISA, expMonth: 12, expYear: 2031, cvc: '123' },
        }),
        (err: unknown) => err instanceof ShopError && err.code === 'SHOP_VALIDATION_FAILED',
        transactionId,
      );
      await assert.rejects(
        svc.client.call('finishPrepared', { transactionId, commit: false }),
        (err: unknown) => err instanceof ShopError && err.code === 'SHOP_VALIDATION_FAILED',
      );
    }
    await assert.rejects(
      svc.client.call('prepareAuthorize', {
        transactionId: `shop2pc:${randomUUID()}:payment`,
        idempotencyKey: 'k',
        orderId: randomUUID(),
        amount: { amount: 1, currency: 'USD' },
        card: { number: VISA, expMonth: 12, expYear: 2031, cvc: '123' },
      }),
      (err: unknown) => err instanceof ShopError && err.code === 'SHOP_VALIDATION_FAILED',
    );
  });
});

describe('payment asks the coordinator about what it held prepared', () => {
  test('POST /v1/admin/two-phase/inquire with no coordinator to reach: unanswered, the authorization stays prepared', async () => {
    const orderId = randomUUID();
    await prepareAuthorize(orderId);
    // The service's own wiring (its Prisma client lists pg_prepared_xacts); the harness names no order address.
    const res = await svc.app.http.inject({
      method: 'POST',
      url: '/v1/admin/two-phase/inquire',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { committed: 0, rolledBack: 0, unknown: 0, unreachable: 1 });
    assert.deepEqual(await prepared(), [`shop2pc:${orderId}:payment`], 'no decision of its own');
    assert.deepEqual(await paymentsOf(orderId), []);
    assert.equal((await finish(orderId, false)).outcome, 'rolled_back');
  });
});
