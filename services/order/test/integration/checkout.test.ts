import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createEvent } from '@shoplab/chassis';
import { ORDER_CREATED } from '../../src/application/checkout';
import { DuplicateCheckoutError, type NewOrder } from '../../src/application/ports';
import { AesGcmCardVault } from '../../src/infrastructure/card-vault';
import { PrismaOrderRepository } from '../../src/infrastructure/order.repository';
import { type Harness, newUserId, startHarness, VISA } from '../support/harness';

let h: Harness;

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-book', { name: 'A Book', price: 1999 });
  h.catalog.products.set('p-pen', { name: 'A Pen', price: 250 });
});

after(() => h.close());

let keyCounter = 0;
const newKey = () => `test-key-${Date.now()}-${++keyCounter}`;

function checkout(userId: string, options: { key?: string | null; body?: unknown } = {}) {
  const key = options.key === undefined ? newKey() : options.key;
  return h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: {
      authorization: `Bearer ${h.tokenFor(userId)}`,
      ...(key === null ? {} : { 'idempotency-key': key }),
    },
    payload: (options.body ?? { card: VISA }) as object,
  });
}

async function countRows(table: string, userId: string): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*) AS n FROM ${table} WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1)`,
    userId,
  );
  return Number(rows[0]?.n ?? 0);
}

test('checkout creates a PENDING order priced at the catalog’s prices, with its saga row and one event', async () => {
  const userId = newUserId();
  h.cart.set(userId, [
    { productId: 'p-book', quantity: 2 },
    { productId: 'p-pen', quantity: 3 },
  ]);
  const address = { line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

  const res = await checkout(userId, { body: { card: VISA, shippingAddress: address } });

  assert.equal(res.statusCode, 202, res.body);
  const body = res.json();
  assert.equal(body.status, 'PENDING');
  assert.deepEqual(body.links, {
    self: `/api/v1/orders/${body.orderId}`,
    events: `/api/v1/orders/${body.orderId}/events`,
  });
  assert.equal(res.headers.location, `/api/v1/orders/${body.orderId}`);

  const order = await h.prisma.order.findUniqueOrThrow({
    where: { id: body.orderId },
    include: { lines: { orderBy: { lineNo: 'asc' } }, saga: true },
  });
  assert.equal(order.userId, userId);
  assert.equal(order.status, 'PENDING');
  assert.equal(order.totalAmount, 2n * 1999n + 3n * 250n);
  assert.deepEqual(order.shippingAddress, address);
  assert.deepEqual(
    order.lines.map((l) => [l.productId, l.name, l.quantity, l.unitPriceAmount, l.lineTotalAmount]),
    [
      ['p-book', 'A Book', 2, 1999n, 3998n],
      ['p-pen', 'A Pen', 3, 250n, 750n],
    ],
  );
  assert.equal(order.saga?.state, 'STARTED');
  assert.equal(order.saga?.currentStep, 1);
  assert.ok(order.saga.deadlineAt > order.saga.nextAttemptAt);

  const events = await h.prisma.outbox.findMany({ where: { aggregateId: body.orderId } });
  assert.equal(events.length, 1);
  const [event] = events;
  assert.equal(event?.eventType, 'shop.order.created.v1');
  assert.equal(event?.topic, 'order.events');
  const data = event?.payload as Record<string, unknown>;
  assert.equal(data.orderId, body.orderId);
  assert.equal(data.userId, userId);
  assert.deepEqual(data.total, { amount: 4748, currency: 'USD' });
  assert.deepEqual(data.shippingAddress, address);
  assert.equal((data.lines as unknown[]).length, 2);
  assert.equal(data.card, undefined);
  const serialized = JSON.stringify({ payload: event?.payload, headers: event?.headers });
  for (const secret of ['4242424242424242', '4242 4242 4242 4242', 'cvc', 'expYear']) {
    assert.ok(!serialized.includes(secret), `the event carries no card data (${secret})`);
  }
});

test('the card is stored only sealed (AES-256-GCM) and opens again for the saga', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-book', quantity: 1 }]);
  const res = await checkout(userId);
  assert.equal(res.statusCode, 202, res.body);
  const { orderId } = res.json();

  const tables = await h.prisma.$queryRawUnsafe<{ table_name: string }[]>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  for (const { table_name } of tables) {
    const rows = await h.prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT t::text AS row FROM "${table_name}" t`);
    for (const { row } of rows) {
      assert.ok(!row.includes('4242424242424242'), `${table_name} holds the card number in clear text`);
      assert.ok(!row.includes('4242 4242'), `${table_name} holds the card number in clear text`);
      assert.ok(!row.includes('"cvc"'), `${table_name} holds the CVC in clear text`);
    }
  }

  const sealed = await h.prisma.sagaPaymentInstruction.findUniqueOrThrow({ where: { orderId } });
  const vault = new AesGcmCardVault(h.config.CARD_ENCRYPTION_KEY);
  const bytes = (b: Uint8Array) => Buffer.from(b);
  const open = (id: string) =>
    vault.open(id, {
      keyId: sealed.keyId,
      iv: bytes(sealed.iv),
      ciphertext: bytes(sealed.ciphertext),
      authTag: bytes(sealed.authTag),
    });
  assert.deepEqual(open(orderId), { ...VISA, number: '4242424242424242' });
  assert.throws(() => open('00000000-0000-4000-8000-000000000000'), 'a sealed card does not open for another order');
});

test('the same Idempotency-Key twice creates one order and answers with it both times', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-pen', quantity: 1 }]);
  const key = newKey();

  const first = await checkout(userId, { key });
  const second = await checkout(userId, { key });

  assert.equal(first.statusCode, 202, first.body);
  assert.equal(second.statusCode, 202, second.body);
  assert.equal(second.json().orderId, first.json().orderId);
  assert.equal(second.headers['idempotent-replayed'], 'true');
  assert.equal(await h.prisma.order.count({ where: { userId } }), 1);
  assert.equal(await h.prisma.outbox.count({ where: { aggregateId: first.json().orderId } }), 1);
});

test('two concurrent identical checkouts with one key create one order', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-book', quantity: 1 }]);
  const key = newKey();

  const responses = await Promise.all([
    checkout(userId, { key }),
    checkout(userId, { key }),
    checkout(userId, { key }),
  ]);

  for (const res of responses) assert.equal(res.statusCode, 202, res.body);
  assert.equal(new Set(responses.map((r) => r.json().orderId)).size, 1);
  assert.equal(await h.prisma.order.count({ where: { userId } }), 1);
  assert.equal(await countRows('saga_instances', userId), 1);
});

test('the same Idempotency-Key with a different body is refused with 422 SHOP_IDEMPOTENCY_KEY_REUSED', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-book', quantity: 1 }]);
  const key = newKey();
  assert.equal((await checkout(userId, { key })).statusCode, 202);

  const res = await checkout(userId, { key, body: { card: { ...VISA, number: '4000 0000 0000 0077' } } });

  assert.equal(res.statusCode, 422, res.body);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(res.json().code, 'SHOP_IDEMPOTENCY_KEY_REUSED');
  assert.equal(await h.prisma.order.count({ where: { userId } }), 1);
});

test('one key used by two users gives each user their own order', async () => {
  const [alice, bob] = [newUserId(), newUserId()];
  h.cart.set(alice, [{ productId: 'p-book', quantity: 1 }]);
  h.cart.set(bob, [{ productId: 'p-book', quantity: 1 }]);
  const key = newKey();

  const a = await checkout(alice, { key });
  const b = await checkout(bob, { key });

  assert.equal(a.statusCode, 202);
  assert.equal(b.statusCode, 202);
  assert.notEqual(a.json().orderId, b.json().orderId);
});

test('a checkout without an Idempotency-Key is refused with 400 SHOP_VALIDATION_FAILED', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-book', quantity: 1 }]);

  const missing = await checkout(userId, { key: null });
  const tooShort = await checkout(userId, { key: 'abc' });
  const badChars = await checkout(userId, { key: 'spaces are not allowed' });

  for (const res of [missing, tooShort, badChars]) {
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
  }
  assert.match(missing.json().detail, /idempotency-key/i);
  assert.equal(await h.prisma.order.count({ where: { userId } }), 0);
});

test('a checkout without a token is refused with 401', async () => {
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { 'idempotency-key': newKey() },
    payload: { card: VISA },
  });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().code, 'SHOP_UNAUTHENTICATED');
});

test('an invalid card number is refused with 400 SHOP_INVALID_CARD and never echoed', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-book', quantity: 1 }]);

  const res = await checkout(userId, { body: { card: { ...VISA, number: '4242 4242 4242 4241' } } });

  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json().code, 'SHOP_INVALID_CARD');
  assert.ok(!res.body.includes('4241'));
});

test('an empty cart is refused with 409 SHOP_CART_EMPTY', async () => {
  const withEmptyCart = newUserId();
  h.cart.set(withEmptyCart, []);
  const withNoCart = newUserId();

  for (const userId of [withEmptyCart, withNoCart]) {
    const res = await checkout(userId);
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json().code, 'SHOP_CART_EMPTY');
    assert.equal(await h.prisma.order.count({ where: { userId } }), 0);
  }
});

test('a product the catalog no longer sells is refused with 409 SHOP_PRODUCT_UNAVAILABLE naming it', async () => {
  const userId = newUserId();
  h.cart.set(userId, [
    { productId: 'p-book', quantity: 1 },
    { productId: 'p-gone', quantity: 1 },
  ]);

  const res = await checkout(userId);

  assert.equal(res.statusCode, 409, res.body);
  assert.equal(res.json().code, 'SHOP_PRODUCT_UNAVAILABLE');
  assert.deepEqual(res.json().missingProductIds, ['p-gone']);
  assert.equal(await h.prisma.order.count({ where: { userId } }), 0);
});

test('with the catalog down, checkout answers 503 SHOP_DEPENDENCY_UNAVAILABLE and creates no order', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-book', quantity: 1 }]);
  // Nothing listens on port 1: every attempt is refused, as when the catalog is down.
  h.registry.set('catalog', ['127.0.0.1:1']);
  try {
    const key = newKey();
    const res = await checkout(userId, { key });

    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
    assert.equal(res.json().dependency, 'catalog');
    assert.equal(await h.prisma.order.count({ where: { userId } }), 0);
    assert.equal(await h.prisma.idempotencyKey.count({ where: { userId } }), 0);

    // The key was not spent: once the catalog is back, the same request succeeds.
    h.registry.set('catalog', [h.catalogAddress]);
    const retried = await checkout(userId, { key });
    assert.equal(retried.statusCode, 202, retried.body);
  } finally {
    h.registry.set('catalog', [h.catalogAddress]);
  }
});

test('the admin summary counts orders by status and needs the admin token', async () => {
  const denied = await h.app.http.inject({ method: 'GET', url: '/v1/admin/orders/summary' });
  assert.equal(denied.statusCode, 401);

  const res = await h.app.http.inject({
    method: 'GET',
    url: '/v1/admin/orders/summary',
    headers: { authorization: `Bearer ${h.config.ADMIN_TOKEN}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  const summary = res.json();
  assert.equal(summary.byStatus.PENDING, await h.prisma.order.count());
  assert.equal(summary.byStatus.CONFIRMED, 0);
  assert.deepEqual(summary.confirmedTotals, []);
  assert.equal(summary.paymentInstructionsHeld, summary.byStatus.PENDING);
});

test('a second transaction for a taken (user, Idempotency-Key) fails as a duplicate, writing nothing', async () => {
  const repo = new PrismaOrderRepository(h.prisma);
  const vault = new AesGcmCardVault(h.config.CARD_ENCRYPTION_KEY);
  const userId = newUserId();
  const newOrder = (): NewOrder => {
    const id = randomUUID();
    const now = new Date();
    return {
      id,
      userId,
      lines: [],
      total: { amount: 0, currency: 'USD' },
      shippingAddress: undefined,
      cartVersion: 1,
      createdAt: now,
      idempotency: { key: 'the-same-key', requestHash: 'h' },
      saga: { nextAttemptAt: now, deadlineAt: now },
      card: vault.seal(id, { number: '4242424242424242', expMonth: 1, expYear: 2099, cvc: '123' }),
      event: createEvent({ service: 'order', type: ORDER_CREATED, subject: id, data: { orderId: id } }),
    };
  };
  await repo.create(newOrder());
  const duplicate = newOrder();

  await assert.rejects(repo.create(duplicate), DuplicateCheckoutError);
  assert.equal(await h.prisma.order.count({ where: { id: duplicate.id } }), 0);
  assert.equal(await h.prisma.outbox.count({ where: { aggregateId: duplicate.id } }), 0);
});
