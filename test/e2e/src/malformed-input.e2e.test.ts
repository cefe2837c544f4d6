// Bad input never looks like an outage: a burst of malformed requests to every public route
// (NUL bytes, lone surrogates, bytes that are not UTF-8, over-long values, numbers out of
// range, wrong methods, wrong passwords) is answered 4xx problem+json by the gateway and by the services
// themselves, opens no circuit breaker and counts as no breaker failure anywhere, and the
// same downstreams then serve a normal request. Before this, NUL in a search reached
// PostgreSQL, came back as a 500 → 503 and, a few dozen times over, opened gateway→catalog
// for every shopper.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ADMIN_TOKEN,
  adminOk,
  breakersQuiet,
  call,
  createProduct,
  direct,
  poll,
  registerShoppers,
  type Shopper,
} from './support';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';

interface Probe {
  name: string;
  method: string;
  /** Path and query under the gateway, written raw (percent-escapes are sent as they are). */
  url: string;
  /** A JSON text, sent as it is (so `\u0000` and `\ud800` escapes reach the server). */
  body?: string;
  auth?: boolean;
  headers?: Record<string, string>;
}

const NUL = '%00';
const NOT_UTF8 = '%FF%FE';
const LONE_SURROGATE = '%ED%A0%80'; // the UTF-8 form of U+D800, which UTF-8 forbids
const LONG = 'x'.repeat(600);

function probes(productId: string): Probe[] {
  const api = '/api/v1';
  const card = { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2099, cvc: '123' };
  const checkout = (shippingAddress: unknown) =>
    JSON.stringify({ card, shippingAddress }).replace('"LINE1"', '"a\\u0000b"');
  return [
    { name: 'search with NUL', method: 'GET', url: `${api}/products?q=a${NUL}b` },
    { name: 'category with NUL', method: 'GET', url: `${api}/products?category=${NUL}` },
    { name: 'search not UTF-8', method: 'GET', url: `${api}/products?q=${NOT_UTF8}` },
    { name: 'search with a lone surrogate', method: 'GET', url: `${api}/products?q=${LONE_SURROGATE}` },
    { name: 'search too long', method: 'GET', url: `${api}/products?q=${LONG}` },
    { name: 'cursor with NUL', method: 'GET', url: `${api}/products?cursor=${NUL}` },
    { name: 'cursor not a cursor', method: 'GET', url: `${api}/products?cursor=not-a-cursor` },
    { name: 'limit out of range', method: 'GET', url: `${api}/products?limit=99999999999999999999` },
    { name: 'product id with NUL', method: 'GET', url: `${api}/products/p${NUL}1` },
    { name: 'product id not UTF-8', method: 'GET', url: `${api}/products/${NOT_UTF8}` },
    { name: 'product id too long', method: 'GET', url: `${api}/products/${LONG}` },
    { name: 'products, wrong method', method: 'DELETE', url: `${api}/products` },
    {
      name: 'register with NUL',
      method: 'POST',
      url: `${api}/auth/register`,
      body: '{"email":"nul\\u0000@example.com","password":"long enough password","name":"N\\u0000L"}',
    },
    {
      name: 'register with a lone surrogate',
      method: 'POST',
      url: `${api}/auth/register`,
      body: '{"email":"ls@example.com","password":"long enough password","name":"\\ud800"}',
    },
    {
      name: 'login with NUL',
      method: 'POST',
      url: `${api}/auth/login`,
      body: '{"email":"a\\u0000@example.com","password":"x\\u0000"}',
    },
    { name: 'login, not JSON', method: 'POST', url: `${api}/auth/login`, body: '{"email":' },
    {
      name: 'cart add with NUL',
      method: 'POST',
      url: `${api}/cart/items`,
      body: '{"productId":"p\\u0000","quantity":1}',
      auth: true,
    },
    {
      name: 'cart add, quantity out of range',
      method: 'POST',
      url: `${api}/cart/items`,
      body: `{"productId":"${productId}","quantity":1e300}`,
      auth: true,
    },
    {
      name: 'cart change, id with NUL',
      method: 'PATCH',
      url: `${api}/cart/items/p${NUL}`,
      body: '{"quantity":1}',
      auth: true,
    },
    { name: 'cart remove, id not UTF-8', method: 'DELETE', url: `${api}/cart/items/${NOT_UTF8}`, auth: true },
    {
      name: 'checkout, address with NUL',
      method: 'POST',
      url: `${api}/checkout`,
      body: checkout({ line1: 'LINE1', city: 'Berlin', postalCode: '10115', country: 'DE' }),
      auth: true,
      headers: { 'idempotency-key': 'malformed-input-e2e-1' },
    },
    { name: 'orders, cursor with NUL', method: 'GET', url: `${api}/orders?cursor=${NUL}`, auth: true },
    { name: 'order id with NUL', method: 'GET', url: `${api}/orders/o${NUL}`, auth: true },
    { name: 'order id not a uuid', method: 'GET', url: `${api}/orders/not-an-order`, auth: true },
    { name: 'order events, id too long', method: 'GET', url: `${api}/orders/${LONG}/events`, auth: true },
    { name: 'me, wrong method', method: 'POST', url: `${api}/me`, auth: true, body: '{}' },
  ];
}

async function send(probe: Probe, shopper: Shopper): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`${GATEWAY}${probe.url}`, {
    method: probe.method,
    headers: {
      ...(probe.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(probe.auth ? { authorization: `Bearer ${shopper.token}` } : {}),
      ...probe.headers,
    },
    ...(probe.body !== undefined ? { body: probe.body } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

interface BreakerRow {
  caller: string;
  target: string;
  state: string;
  stats: { failures: number; rejects: number; timeouts: number };
}

async function gatewayBreakers(): Promise<BreakerRow[]> {
  const res = await call('GET', '/admin/breakers', { token: ADMIN_TOKEN });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.items;
}

test('a burst of malformed requests is 4xx problem+json everywhere and trips no breaker', async (t) => {
  const [shopper] = await registerShoppers(1, 'malformed');
  assert.ok(shopper);
  const product = await createProduct(5);
  // Start from quiet breakers: what is counted below is this test's doing.
  await poll(
    'the gateway’s breakers to be closed and quiet',
    async () => {
      const rows = await gatewayBreakers();
      return rows.every((b) => b.state === 'closed' && b.stats.failures + b.stats.rejects + b.stats.timeouts === 0)
        ? true
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  for (const service of ['cart', 'order'] as const) await breakersQuiet(service);

  // Three rounds: more calls per target than a breaker's volume threshold (10).
  const list = probes(product.id);
  for (let round = 0; round < 3; round++) {
    for (const probe of list) {
      const res = await send(probe, shopper);
      const what = `${probe.name} (${probe.method} ${probe.url.slice(0, 80)}): ${res.status} ${res.body.slice(0, 300)}`;
      assert.ok(res.status >= 400 && res.status < 500, what);
      assert.match(res.type ?? '', /^application\/problem\+json/, what);
      const problem = JSON.parse(res.body);
      assert.equal(problem.status, res.status, what);
      assert.match(problem.type, /^\/problems\/[a-z-]+$/, what);
    }
  }
  t.diagnostic(`${list.length * 3} malformed requests, every one answered 4xx problem+json`);

  // The services themselves refuse the same input, as 400 naming the field (not 500).
  const fromServices = [
    await direct('catalog', 'GET', '/v1/products?q=a%00b'),
    await direct('catalog', 'GET', '/v1/products/p%00'),
    await direct('order', 'GET', '/v1/orders/o%00'),
  ];
  for (const res of fromServices) {
    assert.ok(res.status === 400 || res.status === 401, `${res.status} ${JSON.stringify(res.body)}`);
    assert.notEqual(res.body?.code, 'SHOP_INTERNAL');
  }

  // Wrong passwords for one email are slowed down, then refused, within the gateway's deadline:
  // late 401s and then 429s, never a 504 that the gateway's breaker would count against the user service.
  for (let i = 0; i < 12; i++) {
    const res = await call('POST', '/auth/login', { body: { email: shopper.email, password: `wrong password ${i}` } });
    assert.ok(res.status === 401 || res.status === 429, `bad login ${i}: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  }

  // No breaker counted any of it, and the same downstreams serve a normal request.
  for (const row of await gatewayBreakers()) {
    assert.equal(row.state, 'closed', `${row.caller}→${row.target}`);
    assert.equal(row.stats.failures, 0, `${row.caller}→${row.target} counted a failure`);
  }
  for (const service of ['cart', 'order'] as const) {
    const body = await adminOk(service, 'GET', '/admin/breakers');
    for (const row of body.items as BreakerRow[]) {
      assert.equal(row.state, 'closed', `${row.caller}→${row.target}`);
      assert.equal(row.stats.failures, 0, `${row.caller}→${row.target} counted a failure`);
    }
  }
  const page = await call('GET', '/products?limit=5');
  assert.equal(page.status, 200, JSON.stringify(page.body));
  const one = await call('GET', `/products/${product.id}`);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.equal(one.body.available, 5);
  const added = await call('POST', '/cart/items', {
    token: shopper.token,
    body: { productId: product.id, quantity: 1 },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  // (The shopper's email is locked out by now: another one logs in.)
  const [other] = await registerShoppers(1, 'malformed-ok');
  const login = await call('POST', '/auth/login', {
    body: { email: other?.email, password: 'a long enough password' },
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
});
