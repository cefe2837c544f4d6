import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import {
  AdminApi,
  ApiError,
  ApiUnreachableError,
  adminBaseUrl,
  LOCAL_ADMIN_PORTS,
  requestJson,
  ShopApi,
  Shopper,
  serviceBaseUrl,
  WaitTimeoutError,
} from '../../src/api';

/** One fake HTTP server; `handle` decides each answer. */
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handle: Handler;
let seen: { method: string; url: string; auth: string; body: string; headers: IncomingMessage['headers'] }[];
let server: Server;
let base: string;

function json(res: ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        auth: req.headers.authorization ?? '',
        body,
        headers: req.headers,
      });
      handle(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  handle = (_req, _body, res) => json(res, 200, {});
});

const env = () => ({
  SHOPLAB_GATEWAY_URL: `${base}/`,
  SHOPLAB_CATALOG_URL: base,
  SHOPLAB_ORDER_URL: base,
  SHOPLAB_STATE: '/nonexistent',
});

test('service addresses come from SHOPLAB_<SERVICE>_URL, else the local ports', () => {
  assert.equal(serviceBaseUrl('gateway', {}), 'http://127.0.0.1:8080');
  assert.equal(serviceBaseUrl('cart', {}), 'http://127.0.0.1:8083');
  assert.equal(serviceBaseUrl('gateway', { SHOPLAB_GATEWAY_URL: 'http://gw:1/' }), 'http://gw:1');
  assert.equal(serviceBaseUrl('order', { SHOPLAB_ORDER_URL: 'http://o:2' }), 'http://o:2');
});

test("admin addresses: SHOPLAB_<SERVICE>_ADMIN_URL, else SHOPLAB_<SERVICE>_URL's one port, else the local admin listener", () => {
  // The gateway's admin listener natively (:7080); its public :8080 answers 404 to admin routes.
  assert.equal(adminBaseUrl('gateway', {}), 'http://127.0.0.1:7080');
  assert.equal(adminBaseUrl('gateway', { SHOPLAB_GATEWAY_ADMIN_URL: 'http://gw:7/' }), 'http://gw:7');
  // A deployment that names only the gateway's URL serves admin routes there (no ADMIN_PORT).
  assert.equal(adminBaseUrl('gateway', { SHOPLAB_GATEWAY_URL: 'http://gw:1' }), 'http://gw:1');
  assert.equal(
    adminBaseUrl('gateway', { SHOPLAB_GATEWAY_URL: 'http://gw:1', SHOPLAB_GATEWAY_ADMIN_URL: 'http://gw:7' }),
    'http://gw:7',
  );
  // Every service has one natively: 7080 and its HTTP port's last digits.
  assert.equal(adminBaseUrl('order', {}), 'http://127.0.0.1:7085');
  assert.equal(adminBaseUrl('user', {}), 'http://127.0.0.1:7081');
  assert.equal(adminBaseUrl('history', {}), 'http://127.0.0.1:7086');
  assert.equal(adminBaseUrl('card-network', {}), 'http://127.0.0.1:7090');
  assert.equal(adminBaseUrl('order', { SHOPLAB_ORDER_ADMIN_URL: 'http://o:7' }), 'http://o:7');
  // A deployment that names a service's one port (no ADMIN_PORT there): its admin routes are on it.
  assert.equal(adminBaseUrl('order', { SHOPLAB_ORDER_URL: 'http://o:2' }), 'http://o:2');
  assert.equal(adminBaseUrl('card-network', { SHOPLAB_CARD_NETWORK_ADMIN_URL: 'http://cn:7/' }), 'http://cn:7');
  // No two processes share an admin port; all are in the 7080 range, apart from the HTTP ports.
  const ports = Object.values(LOCAL_ADMIN_PORTS);
  assert.equal(new Set(ports).size, ports.length);
  for (const p of ports) assert.ok(p >= 7080 && p <= 7090, `${p}`);
});

test("AdminApi sends the gateway's admin calls to its admin listener, the shopper's API stays public", async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  handle = (_req, _body, res) => json(res, 200, { enabled: true, items: [] });
  const admin = new AdminApi({
    env: { SHOPLAB_GATEWAY_URL: 'http://127.0.0.1:1', SHOPLAB_GATEWAY_ADMIN_URL: url, SHOPLAB_STATE: '/nonexistent' },
    token: 'test-admin-token-0123456789',
  });
  await admin.request('gateway', 'GET', '/api/v1/admin/breakers');
  assert.equal(seen.at(-1)?.url, '/api/v1/admin/breakers');
});

test('a problem+json answer becomes an ApiError with its status and code', async () => {
  handle = (_req, _body, res) =>
    json(
      res,
      409,
      { type: 'about:blank', title: 'Out of stock', status: 409, code: 'SHOP_OUT_OF_STOCK', detail: 'none left' },
      'application/problem+json',
    );
  const err = await requestJson('POST', `${base}/x`, { body: { a: 1 } }).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 409);
  assert.equal(err.code, 'SHOP_OUT_OF_STOCK');
  assert.equal(err.problem?.detail, 'none left');
  assert.match(err.message, /POST .*\/x answered 409 \(SHOP_OUT_OF_STOCK: none left\)/);
  assert.equal(seen[0]?.body, '{"a":1}');
});

test('a body that is not a problem still becomes an ApiError, without a code', async () => {
  handle = (_req, _body, res) => {
    res.writeHead(502);
    res.end('bad gateway');
  };
  const err = await requestJson('GET', `${base}/x`).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 502);
  assert.equal(err.code, undefined);
  assert.equal(err.body, 'bad gateway');
});

test('no answer is an ApiUnreachableError; a passed deadline says it timed out', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = await requestJson('GET', `http://127.0.0.1:${port}/`).catch((e: unknown) => e);
  assert.ok(refused instanceof ApiUnreachableError);
  assert.equal(refused.timedOut, false);

  handle = () => {}; // never answers
  const slow = await requestJson('GET', `${base}/slow`, { timeoutMs: 100 }).catch((e: unknown) => e);
  assert.ok(slow instanceof ApiUnreachableError);
  assert.equal(slow.timedOut, true);
});

test('a new shopper registers with a unique email, logs in, and sends its token', async () => {
  handle = (req, body, res) => {
    if (req.url === '/api/v1/auth/register') return json(res, 201, { user: { id: 'u-1' }, token: 'reg' });
    if (req.url === '/api/v1/auth/login') return json(res, 200, { token: `tok-for-${JSON.parse(body).email}` });
    if (req.url === '/api/v1/checkout') return json(res, 202, { orderId: 'o-1', status: 'PENDING' });
    return json(res, 200, { items: [], nextCursor: null });
  };
  const api = new ShopApi({ env: env() });
  const a = await api.newShopper();
  const b = await api.newShopper();
  assert.notEqual(a.email, b.email);
  assert.equal(a.userId, 'u-1');
  assert.equal(a.token, `tok-for-${a.email}`);
  await a.listProducts({ q: 'mug', limit: 5 });
  assert.equal(seen.at(-1)?.url, '/api/v1/products?q=mug&limit=5');
  assert.equal(seen.at(-1)?.auth, `Bearer ${a.token}`);
  const accepted = await a.checkout();
  assert.equal(accepted.orderId, 'o-1');
  assert.equal(seen.at(-1)?.headers['idempotency-key'], accepted.idempotencyKey);
  assert.equal(JSON.parse(seen.at(-1)?.body ?? '{}').card.number, '4242 4242 4242 4242');
});

test('waitForOrder returns the terminal order, or times out naming the last status', async () => {
  let polls = 0;
  handle = (_req, _body, res) => json(res, 200, { id: 'o-1', status: ++polls < 3 ? 'PENDING' : 'CONFIRMED' });
  const api = new ShopApi({ env: env() });
  const shopper = new Shopper(api, 'u', 'e', 't');
  assert.equal((await shopper.waitForOrder('o-1', { pollMs: 10 })).status, 'CONFIRMED');
  assert.equal(polls, 3);

  handle = (_req, _body, res) => json(res, 200, { id: 'o-2', status: 'PENDING' });
  const err = await shopper.waitForOrder('o-2', { timeoutMs: 50, pollMs: 10 }).catch((e: unknown) => e);
  assert.ok(err instanceof WaitTimeoutError);
  assert.match(err.message, /status PENDING/);
});

test('the admin client calls each service with the admin token', async () => {
  handle = (req, _body, res) => {
    if (req.method === 'DELETE') return json(res, 200, { cleared: 2 });
    if (req.method === 'PUT') return json(res, 201, { id: 'r-1', kind: 'http', target: '*' });
    return json(res, 200, { items: [{ id: 'r-1' }] });
  };
  const admin = new AdminApi({ env: env(), token: 'admin-tok' });
  const rule = await admin.chaosSet('catalog', { kind: 'http', target: '*', fault: { type: 'fail' } });
  assert.equal(rule.id, 'r-1');
  assert.deepEqual(
    (await admin.chaosList('gateway')).map((r) => r.id),
    ['r-1'],
  );
  assert.equal(await admin.chaosClear('order'), 2);
  await admin.chaosClear('order', 'r-1');
  await admin.setBreakersEnabled(false);
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.url}`),
    [
      'PUT /admin/chaos',
      'GET /admin/chaos',
      'DELETE /admin/chaos',
      'DELETE /admin/chaos/r-1',
      'PUT /api/v1/admin/breakers',
    ],
  );
  assert.ok(seen.every((s) => s.auth === 'Bearer admin-tok'));
  assert.throws(() => new AdminApi({ env: { SHOPLAB_STATE: '/nonexistent' } }), /no admin token/);
});
