import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GrpcStatus, ShopError } from '@shoplab/chassis/errors';
import { eventually } from '@shoplab/chassis/testing';
import { paymentV1 } from '@shoplab/contracts';
import type pg from 'pg';
import type { PrismaClient } from '../../src/generated/prisma/client';
import { ADMIN_TOKEN, type RunningPayment, scratchDatabase, startPayment } from '../support/harness';

const { PaymentStatus } = paymentV1;
const VISA = '4242 4242 4242 4242';
const DECLINED = '4000 0000 0000 0002';
const NO_FUNDS = '4000 0000 0000 9995';
const usd = (amount: number) => ({ amount, currency: 'USD' });

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
  await svc.close();
  await prisma.$disconnect();
  await pool.end();
  await scratch.db.drop();
});

function refusedWith(code: string, grpcStatus?: number) {
  return (err: unknown) => {
    assert.ok(err instanceof ShopError, `expected a ShopError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (grpcStatus !== undefined) assert.equal(err.grpcStatus, grpcStatus);
    return true;
  };
}

function authorize(
  overrides: Partial<paymentV1.AuthorizeRequest> & { number?: string; cvc?: string; expYear?: number } = {},
) {
  const { number = VISA, cvc = '123', expYear = 2031, ...rest } = overrides;
  return svc.client.call('authorize', {
    idempotencyKey: randomUUID(),
    orderId: `order-${randomUUID()}`,
    amount: usd(4999),
    card: { number, expMonth: 12, expYear, cvc },
    ...rest,
  });
}

async function ledgerOf(paymentId: string): Promise<{ kind: string; amount: number }[]> {
  const { rows } = await pool.query<{ kind: string; amount: string }>(
    'SELECT kind::text AS kind, amount FROM ledger_entries WHERE payment_id = $1 ORDER BY id',
    [paymentId],
  );
  return rows.map((r) => ({ kind: r.kind, amount: Number(r.amount) }));
}

async function paymentsOfOrder(orderId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [
    orderId,
  ]);
  return rows[0]?.n ?? 0;
}

describe('card rules', () => {
  test('the 4242 card is authorized for the full amount and only its last four digits are kept', async () => {
    const { payment } = await authorize({ amount: usd(1999) });
    assert.equal(payment?.status, PaymentStatus.PAYMENT_STATUS_AUTHORIZED);
    assert.deepEqual(payment?.amount, usd(1999));
    assert.deepEqual(payment?.captured, usd(0));
    assert.equal(payment?.cardLast4, '4242');
    assert.deepEqual(await ledgerOf(payment!.id), [{ kind: 'AUTHORIZE', amount: 1999 }]);
  });

  test('a card number written with dashes, or any other Luhn-valid number, is authorized', async () => {
    const dashed = await authorize({ number: '5555-5555-5555-4444' });
    assert.equal(dashed.payment?.status, PaymentStatus.PAYMENT_STATUS_AUTHORIZED);
    assert.equal(dashed.payment?.cardLast4, '4444');
    const amex = await authorize({ number: '378282246310005', cvc: '1234' });
    assert.equal(amex.payment?.status, PaymentStatus.PAYMENT_STATUS_AUTHORIZED);
  });

  test('a declined card is refused with SHOP_PAYMENT_DECLINED and recorded as DECLINED', async () => {
    const orderId = `order-${randomUUID()}`;
    await assert.rejects(
      authorize({ orderId, number: DECLINED }),
      refusedWith('SHOP_PAYMENT_DECLINED', GrpcStatus.FAILED_PRECONDITION),
    );
    const { payment } = await svc.client.call('getPayment', { paymentId: '', orderId });
    assert.equal(payment?.status, PaymentStatus.PAYMENT_STATUS_DECLINED);
    assert.equal(payment?.declineReason, 'card_declined');
    assert.deepEqual(await ledgerOf(payment!.id), [{ kind: 'DECLINE', amount: 4999 }]);
  });

  test('a card without funds is refused with SHOP_INSUFFICIENT_FUNDS and recorded as DECLINED', async () => {
    const orderId = `order-${randomUUID()}`;
    await assert.rejects(
      authorize({ orderId, number: NO_FUNDS }),
      refusedWith('SHOP_INSUFFICIENT_FUNDS', GrpcStatus.FAILED_PRECONDITION),
    );
    const { payment } = await svc.client.call('getPayment', { paymentId: '', orderId });
    assert.equal(payment?.status, PaymentStatus.PAYMENT_STATUS_DECLINED);
    assert.equal(payment?.declineReason, 'insufficient_funds');
  });

  test('an invalid, expired or badly verified card is SHOP_INVALID_CARD and nothing is recorded', async () => {
    const cases = [
      { number: '4242 4242 4242 4241' },
      { number: '4242' },
      { number: '4242-abcd-4242-4242' },
      { expYear: 2020 },
      { cvc: '12' },
    ];
    for (const c of cases) {
      const orderId = `order-${randomUUID()}`;
      await assert.rejects(
        authorize({ orderId, ...c }),
        refusedWith('SHOP_INVALID_CARD', GrpcStatus.INVALID_ARGUMENT),
        JSON.stringify(c),
      );
      assert.equal(await paymentsOfOrder(orderId), 0);
    }
  });

  test('a missing order id, amount or key is INVALID_ARGUMENT, never INTERNAL', async () => {
    await assert.rejects(
      authorize({ orderId: '' }),
      refusedWith('SHOP_VALIDATION_FAILED', GrpcStatus.INVALID_ARGUMENT),
    );
    await assert.rejects(authorize({ amount: usd(0) }), refusedWith('SHOP_VALIDATION_FAILED'));
    await assert.rejects(
      authorize({ amount: { amount: 10, currency: 'dollars' } }),
      refusedWith('SHOP_VALIDATION_FAILED'),
    );
    await assert.rejects(authorize({ idempotencyKey: '' }), refusedWith('SHOP_VALIDATION_FAILED'));
  });
});

describe('payment lifecycle', () => {
  test('an authorized payment is captured for its full amount', async () => {
    const { payment } = await authorize({ amount: usd(2500) });
    const captured = await svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: payment!.id });
    assert.equal(captured.payment?.status, PaymentStatus.PAYMENT_STATUS_CAPTURED);
    assert.deepEqual(captured.payment?.captured, usd(2500));
    assert.deepEqual(await ledgerOf(payment!.id), [
      { kind: 'AUTHORIZE', amount: 2500 },
      { kind: 'CAPTURE', amount: 2500 },
    ]);
  });

  test('an authorized payment is voided; voiding again is a no-op; it can no longer be captured', async () => {
    const { payment } = await authorize();
    const voided = await svc.client.call('void', { idempotencyKey: randomUUID(), paymentId: payment!.id });
    assert.equal(voided.payment?.status, PaymentStatus.PAYMENT_STATUS_VOIDED);
    const again = await svc.client.call('void', { idempotencyKey: randomUUID(), paymentId: payment!.id });
    assert.equal(again.payment?.status, PaymentStatus.PAYMENT_STATUS_VOIDED);
    await assert.rejects(
      svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: payment!.id }),
      refusedWith('SHOP_PAYMENT_INVALID_STATE', GrpcStatus.FAILED_PRECONDITION),
    );
    assert.deepEqual(
      (await ledgerOf(payment!.id)).map((e) => e.kind),
      ['AUTHORIZE', 'VOID'],
    );
  });

  test('voiding a captured payment is refused with SHOP_PAYMENT_INVALID_STATE', async () => {
    const { payment } = await authorize();
    await svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: payment!.id });
    await assert.rejects(
      svc.client.call('void', { idempotencyKey: randomUUID(), paymentId: payment!.id }),
      refusedWith('SHOP_PAYMENT_INVALID_STATE', GrpcStatus.FAILED_PRECONDITION),
    );
  });

  test('a captured payment is refunded in parts up to the captured amount, and an over-refund is refused', async () => {
    const { payment } = await authorize({ amount: usd(5000) });
    const id = payment!.id;
    await svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: id });
    const first = await svc.client.call('refund', { idempotencyKey: randomUUID(), paymentId: id, amount: usd(2000) });
    assert.equal(first.payment?.status, PaymentStatus.PAYMENT_STATUS_REFUNDED);
    assert.deepEqual(first.payment?.refunded, usd(2000));
    await assert.rejects(
      svc.client.call('refund', { idempotencyKey: randomUUID(), paymentId: id, amount: usd(3001) }),
      refusedWith('SHOP_REFUND_EXCEEDS_CAPTURE', GrpcStatus.FAILED_PRECONDITION),
    );
    const rest = await svc.client.call('refund', { idempotencyKey: randomUUID(), paymentId: id, amount: usd(3000) });
    assert.deepEqual(rest.payment?.refunded, usd(5000));
    await assert.rejects(
      svc.client.call('refund', { idempotencyKey: randomUUID(), paymentId: id, amount: usd(1) }),
      refusedWith('SHOP_REFUND_EXCEEDS_CAPTURE'),
    );
    assert.deepEqual(
      (await ledgerOf(id)).map((e) => `${e.kind}:${e.amount}`),
      ['AUTHORIZE:5000', 'CAPTURE:5000', 'REFUND:2000', 'REFUND:3000'],
    );
  });

  test('an authorized (not captured) payment cannot be refunded', async () => {
    const { payment } = await authorize();
    await assert.rejects(
      svc.client.call('refund', { idempotencyKey: randomUUID(), paymentId: payment!.id, amount: usd(1) }),
      refusedWith('SHOP_PAYMENT_INVALID_STATE'),
    );
  });

  test('an order has one live payment: a second authorization is ALREADY_EXISTS until the first is voided', async () => {
    const orderId = `order-${randomUUID()}`;
    const { payment } = await authorize({ orderId });
    await assert.rejects(authorize({ orderId }), refusedWith('SHOP_ALREADY_EXISTS', GrpcStatus.ALREADY_EXISTS));
    await svc.client.call('void', { idempotencyKey: randomUUID(), paymentId: payment!.id });
    const second = await authorize({ orderId });
    assert.notEqual(second.payment?.id, payment!.id);
    const found = await svc.client.call('getPayment', { paymentId: '', orderId });
    assert.equal(found.payment?.id, second.payment?.id, 'GetPayment by order returns the live payment');
  });

  test('after a decline the order may be authorized again with another card', async () => {
    const orderId = `order-${randomUUID()}`;
    await assert.rejects(authorize({ orderId, number: DECLINED }), refusedWith('SHOP_PAYMENT_DECLINED'));
    const { payment } = await authorize({ orderId });
    assert.equal(payment?.status, PaymentStatus.PAYMENT_STATUS_AUTHORIZED);
  });

  test('concurrent authorizations of one order with different keys leave exactly one live payment', async () => {
    const orderId = `order-${randomUUID()}`;
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => authorize({ orderId })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(refusedWith('SHOP_ALREADY_EXISTS')(r.reason));
    }
    assert.equal(await paymentsOfOrder(orderId), 1);
  });

  test('GetPayment finds by payment id or order id; unknown or malformed ids are NOT_FOUND', async () => {
    const { payment } = await authorize();
    const byId = await svc.client.call('getPayment', { paymentId: payment!.id, orderId: '' });
    assert.equal(byId.payment?.orderId, payment!.orderId);
    const byOrder = await svc.client.call('getPayment', { paymentId: '', orderId: payment!.orderId });
    assert.equal(byOrder.payment?.id, payment!.id);
    await assert.rejects(
      svc.client.call('getPayment', { paymentId: randomUUID(), orderId: '' }),
      refusedWith('SHOP_NOT_FOUND', GrpcStatus.NOT_FOUND),
    );
    await assert.rejects(
      svc.client.call('getPayment', { paymentId: 'nope', orderId: '' }),
      refusedWith('SHOP_NOT_FOUND'),
    );
    await assert.rejects(
      svc.client.call('getPayment', { paymentId: '', orderId: 'no-such-order' }),
      refusedWith('SHOP_NOT_FOUND'),
    );
    await assert.rejects(
      svc.client.call('getPayment', { paymentId: '', orderId: '' }),
      refusedWith('SHOP_VALIDATION_FAILED', GrpcStatus.INVALID_ARGUMENT),
    );
    await assert.rejects(
      svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: randomUUID() }),
      refusedWith('SHOP_NOT_FOUND'),
    );
  });
});

describe('idempotency', () => {
  test('a retried authorization returns the first payment and moves money once', async () => {
    const request = {
      idempotencyKey: randomUUID(),
      orderId: `order-${randomUUID()}`,
      amount: usd(1234),
      card: { number: VISA, expMonth: 12, expYear: 2031, cvc: '123' },
    };
    const first = await svc.client.call('authorize', request);
    const retried = await svc.client.call('authorize', request);
    assert.deepEqual(retried.payment, first.payment);
    assert.equal((await ledgerOf(first.payment!.id)).length, 1);
  });

  test('concurrent retries with one key authorize once', async () => {
    const request = {
      idempotencyKey: randomUUID(),
      orderId: `order-${randomUUID()}`,
      amount: usd(777),
      card: { number: VISA, expMonth: 12, expYear: 2031, cvc: '123' },
    };
    const answers = await Promise.all(Array.from({ length: 8 }, () => svc.client.call('authorize', request)));
    assert.equal(new Set(answers.map((a) => a.payment?.id)).size, 1);
    assert.equal(await paymentsOfOrder(request.orderId), 1);
    assert.equal((await ledgerOf(answers[0]!.payment!.id)).length, 1);
  });

  test('a retried decline gives the same refusal and records one decline', async () => {
    const request = {
      idempotencyKey: randomUUID(),
      orderId: `order-${randomUUID()}`,
      amount: usd(100),
      card: { number: DECLINED, expMonth: 12, expYear: 2031, cvc: '123' },
    };
    await assert.rejects(svc.client.call('authorize', request), refusedWith('SHOP_PAYMENT_DECLINED'));
    await assert.rejects(svc.client.call('authorize', request), refusedWith('SHOP_PAYMENT_DECLINED'));
    assert.equal(await paymentsOfOrder(request.orderId), 1);
  });

  test('retried captures, voids and refunds with their keys move money once', async () => {
    const { payment } = await authorize({ amount: usd(3000) });
    const id = payment!.id;
    const captureKey = randomUUID();
    const [c1, c2] = await Promise.all([
      svc.client.call('capture', { idempotencyKey: captureKey, paymentId: id }),
      svc.client.call('capture', { idempotencyKey: captureKey, paymentId: id }),
    ]);
    assert.deepEqual(c1.payment, c2.payment);
    const refund = { idempotencyKey: randomUUID(), paymentId: id, amount: usd(1000) };
    await svc.client.call('refund', refund);
    const again = await svc.client.call('refund', refund);
    assert.deepEqual(again.payment?.refunded, usd(1000));
    assert.deepEqual(
      (await ledgerOf(id)).map((e) => e.kind),
      ['AUTHORIZE', 'CAPTURE', 'REFUND'],
    );

    const other = await authorize();
    const voidKey = randomUUID();
    await svc.client.call('void', { idempotencyKey: voidKey, paymentId: other.payment!.id });
    await svc.client.call('void', { idempotencyKey: voidKey, paymentId: other.payment!.id });
    assert.deepEqual(
      (await ledgerOf(other.payment!.id)).map((e) => e.kind),
      ['AUTHORIZE', 'VOID'],
    );
  });

  test('reusing a key for a different request is refused with SHOP_IDEMPOTENCY_KEY_REUSED', async () => {
    const key = randomUUID();
    const { payment } = await authorize({ idempotencyKey: key, amount: usd(500) });
    await assert.rejects(
      authorize({ idempotencyKey: key, orderId: payment!.orderId, amount: usd(501) }),
      refusedWith('SHOP_IDEMPOTENCY_KEY_REUSED', GrpcStatus.FAILED_PRECONDITION),
    );
    await assert.rejects(
      svc.client.call('capture', { idempotencyKey: key, paymentId: payment!.id }),
      refusedWith('SHOP_IDEMPOTENCY_KEY_REUSED'),
    );
    const refundKey = randomUUID();
    await svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: payment!.id });
    await svc.client.call('refund', { idempotencyKey: refundKey, paymentId: payment!.id, amount: usd(100) });
    await assert.rejects(
      svc.client.call('refund', { idempotencyKey: refundKey, paymentId: payment!.id, amount: usd(200) }),
      refusedWith('SHOP_IDEMPOTENCY_KEY_REUSED'),
    );
  });

  test('the idempotency-key header stands in for an empty key field', async () => {
    const key = randomUUID();
    const { payment } = await authorize();
    const a = await svc.client.call('capture', { idempotencyKey: '', paymentId: payment!.id }, { idempotencyKey: key });
    const b = await svc.client.call('capture', { idempotencyKey: key, paymentId: payment!.id });
    assert.deepEqual(a.payment, b.payment);
  });
});

describe('what is stored', () => {
  test('the ledger is append-only: UPDATE, DELETE and TRUNCATE raise', async () => {
    const { payment } = await authorize();
    await assert.rejects(
      pool.query('UPDATE ledger_entries SET amount = amount + 1 WHERE payment_id = $1', [payment!.id]),
      /append-only/,
    );
    await assert.rejects(pool.query('DELETE FROM ledger_entries WHERE payment_id = $1', [payment!.id]), /append-only/);
    await assert.rejects(pool.query('TRUNCATE ledger_entries CASCADE'), /append-only/);
    assert.equal((await ledgerOf(payment!.id)).length, 1);
  });

  test('no table holds a full card number or a cvc', async () => {
    const number = '6011 1111 1111 1117';
    const digits = number.replaceAll(' ', '');
    await authorize({ number, cvc: '9876' });
    await assert.rejects(authorize({ number: '6011-1111-1111-1118', cvc: '9876' }), refusedWith('SHOP_INVALID_CARD'));
    for (const table of ['payments', 'ledger_entries', 'idempotency_keys', 'outbox']) {
      const { rows } = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t`);
      assert.ok(rows.length > 0, `${table} has rows`);
      for (const { row: stored } of rows) {
        // The logical clocks every event carries (ce_lamport, ce_hlc) are counters that may pass
        // through any four digits: they are not card data.
        const row = stored.replace(/"ce_(lamport|hlc)": ?"[^"]*"/g, '');
        assert.ok(!row.includes(digits), `${table} holds a full card number`);
        assert.ok(!row.includes('601111111111'), `${table} holds most of a card number`);
        // Standing alone: '9876' inside a uuid or a timestamp is not a cvc.
        assert.ok(!/(^|[^0-9a-f])9876([^0-9a-f]|$)/i.test(row), `${table} holds the cvc`);
      }
    }
  });
});

describe('processor latency', () => {
  test('a caller whose deadline passes during the processor latency moves no money, and its retry does', async () => {
    const slow = await startPayment(prisma, { latencyMs: 400, deadlineMs: 100 });
    try {
      const request = {
        idempotencyKey: randomUUID(),
        orderId: `order-${randomUUID()}`,
        amount: usd(900),
        card: { number: VISA, expMonth: 12, expYear: 2031, cvc: '123' },
      };
      await assert.rejects(slow.client.call('authorize', request), refusedWith('SHOP_TIMEOUT'));
      // Wait until the server has finished with the abandoned call, then look at what it left.
      await eventually('the abandoned call to finish', () => (slow.app.grpc.inFlight === 0 ? true : undefined), {
        timeoutMs: 15_000,
        intervalMs: 50,
      });
      assert.equal(await paymentsOfOrder(request.orderId), 0);
      const retried = await slow.client.call('authorize', request, { deadlineMs: 5_000 });
      assert.equal(retried.payment?.status, PaymentStatus.PAYMENT_STATUS_AUTHORIZED);
      assert.equal(await paymentsOfOrder(request.orderId), 1);
    } finally {
      await slow.close();
    }
  });
});

describe('admin summary', () => {
  test('the summary requires the admin token', async () => {
    const anonymous = await svc.app.http.inject({ method: 'GET', url: '/v1/admin/payments/summary' });
    assert.equal(anonymous.statusCode, 401);
    const wrong = await svc.app.http.inject({
      method: 'GET',
      url: '/v1/admin/payments/summary',
      headers: { authorization: 'Bearer not-the-admin-token-at-all' },
    });
    assert.equal(wrong.statusCode, 403);
  });

  test('the summary totals the ledger by currency and by order', async () => {
    const captured = await authorize({ amount: usd(1000) });
    await svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: captured.payment!.id });
    await svc.client.call('refund', {
      idempotencyKey: randomUUID(),
      paymentId: captured.payment!.id,
      amount: usd(250),
    });
    const voided = await authorize({ amount: usd(700) });
    await svc.client.call('void', { idempotencyKey: randomUUID(), paymentId: voided.payment!.id });
    const euro = await authorize({ amount: { amount: 300, currency: 'EUR' } });

    const res = await svc.app.http.inject({
      method: 'GET',
      url: '/v1/admin/payments/summary',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.statusCode, 200);
    const body = res.json() as {
      totals: { currency: string; captured: number; refunded: number; authorized: number }[];
      orders: {
        orderId: string;
        currency: string;
        status: string;
        captured: number;
        refunded: number;
        voided: number;
        captureCount: number;
      }[];
    };
    const order = (id: string) => body.orders.find((o) => o.orderId === id);
    assert.deepEqual(
      { ...order(captured.payment!.orderId), paymentIds: undefined },
      {
        orderId: captured.payment!.orderId,
        currency: 'USD',
        status: 'REFUNDED',
        authorized: 1000,
        captured: 1000,
        voided: 0,
        refunded: 250,
        declined: 0,
        captureCount: 1,
        refundCount: 1,
        paymentIds: undefined,
      },
    );
    assert.equal(order(voided.payment!.orderId)?.voided, 700);
    assert.equal(order(voided.payment!.orderId)?.status, 'VOIDED');
    const eur = body.totals.find((t) => t.currency === 'EUR');
    assert.equal(eur?.authorized, 300);
    assert.equal(order(euro.payment!.orderId)?.currency, 'EUR');
    const { rows } = await pool.query<{ captured: string; refunded: string }>(
      `SELECT coalesce(sum(amount) FILTER (WHERE kind = 'CAPTURE'), 0) AS captured,
              coalesce(sum(amount) FILTER (WHERE kind = 'REFUND'), 0) AS refunded
         FROM ledger_entries WHERE currency = 'USD'`,
    );
    const usdTotals = body.totals.find((t) => t.currency === 'USD');
    assert.equal(usdTotals?.captured, Number(rows[0]?.captured));
    assert.equal(usdTotals?.refunded, Number(rows[0]?.refunded));
  });
});

describe('outbox audit', () => {
  test('a captured payment’s events show in the outbox report and the consumers report has no duplicates', async () => {
    const authorized = await authorize({ amount: usd(500) });
    await svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: authorized.payment!.id });
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const outbox = await svc.app.http.inject({ method: 'GET', url: '/admin/outbox', headers });
    assert.equal(outbox.statusCode, 200, outbox.body);
    const body = outbox.json() as { unpublished: number; published: number };
    assert.ok(body.unpublished + body.published >= 2, 'authorize and capture each wrote an event');
    const consumers = await svc.app.http.inject({ method: 'GET', url: '/admin/consumers', headers });
    assert.equal(consumers.statusCode, 200);
    assert.equal(consumers.json().duplicateIds, 0);
  });

  test('the outbox report requires the admin token', async () => {
    const anonymous = await svc.app.http.inject({ method: 'GET', url: '/admin/outbox' });
    assert.equal(anonymous.statusCode, 401);
  });
});
