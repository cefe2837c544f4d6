import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import {
  ADMIN_TOKEN,
  admin,
  bearer,
  deadAddress,
  type Gateway,
  startGateway,
  startWorld,
  type World,
} from '../support/harness';

let world: World;
let gw: Gateway;
/** One fake HTTP server answering every service's admin routes. */
let server: Server;
let address: string;
let routes: Record<string, unknown>;
let tokens: string[];

before(async () => {
  world = await startWorld();
  gw = await startGateway(world);
  server = createServer((req, res) => {
    tokens.push(req.headers.authorization ?? '');
    const body = routes[req.url ?? ''];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { code: 'SHOP_NOT_FOUND' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await gw.close();
  await world.close();
});

beforeEach(() => {
  tokens = [];
  for (const service of ['user', 'catalog', 'cart', 'payment', 'order']) gw.httpRegistry.set(service, [address]);
  routes = {
    '/v1/admin/orders/audit': {
      orders: [
        {
          id: 'o-1',
          status: 'CONFIRMED',
          total: { amount: 700, currency: 'USD' },
          paymentId: 'pay-1',
          createdAt: '2026-11-27T10:00:00.000Z',
        },
      ],
    },
    '/v1/admin/payments/summary': {
      totals: [{ currency: 'USD', captured: 700, refunded: 0 }],
      orders: [
        {
          orderId: 'o-1',
          currency: 'USD',
          status: 'CAPTURED',
          captured: 700,
          refunded: 0,
          captureCount: 1,
          refundCount: 0,
          paymentIds: ['pay-1'],
        },
      ],
    },
    '/v1/admin/stock': {
      products: [{ id: 'p1', initial: 3, available: 2, reserved: 0, sold: 1 }],
      reservationsByStatus: { COMMITTED: 1 },
      violations: [],
    },
    '/v1/admin/reservations': { statuses: { 'o-1': 'COMMITTED' } },
    '/admin/outbox': { unpublished: 0, published: 2, oldestUnpublishedAgeSeconds: 0, lastError: null },
    '/admin/consumers': { groups: [{ group: 'g', processed: 2 }], duplicateIds: 0 },
  };
});

test('the audit through the gateway checks every invariant against the services’ admin APIs', async () => {
  const res = await gw.app.inject({ url: '/api/v1/admin/audit', headers: admin });
  assert.equal(res.statusCode, 200, res.body);
  const report = res.json();
  assert.equal(report.ok, true);
  assert.deepEqual(
    report.results.map((r: { verdict: string }) => r.verdict),
    ['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'SKIP'],
  );
  assert.ok(tokens.length > 0 && tokens.every((t) => t === `Bearer ${ADMIN_TOKEN}`), 'the admin token is forwarded');
});

test('a broken invariant is reported as FAIL and the report is not ok', async () => {
  (routes['/admin/outbox'] as { unpublished: number }).unpublished = 4;
  const report = (await gw.app.inject({ url: '/api/v1/admin/audit', headers: admin })).json();
  assert.equal(report.ok, false);
  assert.equal(report.results[5].verdict, 'FAIL');
});

test('the audit is 503 when a service it needs does not answer', async () => {
  gw.httpRegistry.set('order', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/admin/audit', headers: admin });
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
});

test('the audit needs the admin token', async () => {
  assert.equal((await gw.app.inject({ url: '/api/v1/admin/audit' })).statusCode, 401);
  assert.equal((await gw.app.inject({ url: '/api/v1/admin/audit', headers: bearer('u1') })).statusCode, 403);
});
