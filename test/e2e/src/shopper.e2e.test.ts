// A new user's path through the public API of the running shop (`make up`):
// register → browse → add to cart → checkout → order detail, all through the gateway.
// Run by `make check` after it starts the services (scripts/check.sh), or by hand:
//   make up && bash scripts/test.sh e2e
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import { createProduct, modeSteps, type Product, stepsWith } from './support';

const base = `${process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'}/api/v1`;

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** GETs `path` every 250 ms until `done` holds for the answer; fails (showing the last answer) at `until` (epoch ms). */
async function readUntil(
  path: string,
  token: string,
  done: (answer: Awaited<ReturnType<typeof call>>) => boolean,
  until: number,
) {
  let last: Awaited<ReturnType<typeof call>> | undefined;
  return eventually(
    () => `GET ${path} to settle (last answer: ${last?.status} ${JSON.stringify(last?.body)})`,
    async () => {
      last = await call('GET', path, { token });
      return done(last) ? last : undefined;
    },
    { timeoutMs: Math.max(0, until - Date.now()), intervalMs: 250, onError: 'fail' },
  );
}

test('a new shopper registers, browses, fills a cart, checks out and reads the order', async () => {
  const email = `e2e-${randomUUID()}@example.com`;
  const registered = await call('POST', '/auth/register', {
    body: { email, password: 'correct horse battery', name: 'E2E Shopper' },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  assert.equal(registered.body.user.email, email);

  const login = await call('POST', '/auth/login', { body: { email, password: 'correct horse battery' } });
  assert.equal(login.status, 200);
  const token: string = login.body.token;

  // The test's own products, in a category of their own (docs/adr/0015-tests-own-their-data.md):
  // six, so that browsing five at a time takes two pages whatever the shop holds.
  const category = `e2e-${randomUUID().slice(0, 8)}`;
  const made = await Promise.all([5, 3, 1, 1, 1, 1].map((stock, i) => createProduct(stock, 1000 + i * 250, category)));
  const page = await call('GET', `/products?category=${category}&limit=5`);
  assert.equal(page.status, 200);
  assert.equal(page.body.items.length, 5);
  assert.ok(page.body.nextCursor, 'more than one page of products');
  const next = await call(
    'GET',
    `/products?category=${category}&limit=5&cursor=${encodeURIComponent(page.body.nextCursor)}`,
  );
  assert.equal(next.body.items.length, 1);
  assert.notEqual(next.body.items[0].id, page.body.items[0].id);
  assert.deepEqual(
    [...page.body.items, ...next.body.items].map((p: { id: string }) => p.id).sort(),
    made.map((p) => p.id).sort(),
  );

  const byId = new Map<string, Product>([...page.body.items, ...next.body.items].map((p: Product) => [p.id, p]));
  const first = byId.get(made[0]?.id ?? '');
  const second = byId.get(made[1]?.id ?? '');
  assert.ok(first && second, 'the listing shows the products made for this test');
  assert.equal(first.available, 5);
  const detail = await call('GET', `/products/${first.id}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.id, first.id);
  assert.equal(typeof detail.body.price.amount, 'number');

  assert.equal((await call('POST', '/cart/items', { token, body: { productId: first.id, quantity: 2 } })).status, 201);
  const cart = await call('POST', '/cart/items', { token, body: { productId: second.id, quantity: 1 } });
  assert.equal(cart.status, 201);
  const expectedTotal = first.price.amount * 2 + second.price.amount;
  assert.equal(cart.body.total.amount, expectedTotal);
  assert.equal(cart.body.lines.length, 2);

  const key = randomUUID();
  const checkoutBody = { card: { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2035, cvc: '123' } };
  const checkout = await call('POST', '/checkout', { token, body: checkoutBody, headers: { 'idempotency-key': key } });
  assert.equal(checkout.status, 202, JSON.stringify(checkout.body));
  const { orderId } = checkout.body;
  assert.ok(orderId);
  const again = await call('POST', '/checkout', { token, body: checkoutBody, headers: { 'idempotency-key': key } });
  assert.equal(again.body.orderId, orderId, 'the same Idempotency-Key gives the same order');

  // The saga runs behind the 202: follow the order until it is terminal.
  const deadline = Date.now() + 60_000;
  const order = await readUntil(`/orders/${orderId}`, token, (o) => o.body?.status !== 'PENDING', deadline);
  assert.equal(order.status, 200);
  assert.equal(order.body.id, orderId);
  assert.equal(order.body.status, 'CONFIRMED', JSON.stringify(order.body.timeline));
  assert.equal(order.body.total.amount, expectedTotal);
  assert.equal(order.body.lines.length, 2);
  assert.equal(order.body.payment?.status, 'CAPTURED', 'the payment was captured');
  assert.deepEqual(
    stepsWith(order.body, 'SUCCEEDED'),
    modeSteps('validate_user', 'reserve_stock', 'authorize_payment', 'commit_stock', 'capture_payment', 'confirm'),
  );

  // The cart service consumes shop.order.confirmed.v1 and removes what was bought.
  const after = await readUntil('/cart', token, (c) => !(c.body?.lines?.length > 0), deadline + 30_000);
  assert.equal(after.body.lines.length, 0, 'the confirmed order emptied the cart');

  const declined = await call('POST', '/cart/items', { token, body: { productId: first.id, quantity: 1 } });
  assert.equal(declined.status, 201);
  const refused = await call('POST', '/checkout', {
    token,
    body: { card: { number: '4000 0000 0000 0002', expMonth: 12, expYear: 2035, cvc: '123' } },
    headers: { 'idempotency-key': randomUUID() },
  });
  assert.equal(refused.status, 202);
  const cancelled = await readUntil(
    `/orders/${refused.body.orderId}`,
    token,
    (o) => o.body?.status !== 'PENDING',
    deadline + 60_000,
  );
  assert.equal(cancelled.body.status, 'CANCELLED', 'a declined card cancels the order');

  const mine = await call('GET', '/orders', { token });
  assert.ok(mine.body.items.some((o: { id: string }) => o.id === orderId));

  const stranger = await call('POST', '/auth/register', {
    body: { email: `e2e-${randomUUID()}@example.com`, password: 'another long password', name: 'Stranger' },
  });
  const theirs = await call('GET', `/orders/${orderId}`, { token: stranger.body.token });
  assert.equal(theirs.status, 404, "another user cannot see the shopper's order");
});

test('bad input gets a problem+json answer with a stable code', async () => {
  const res = await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'not-an-email', password: 'x' }),
  });
  assert.equal(res.status, 400);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(((await res.json()) as { code: string }).code, 'SHOP_VALIDATION_FAILED');
  const unauth = await fetch(`${base}/cart`);
  assert.equal(unauth.status, 401);
});
