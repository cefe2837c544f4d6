import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { main, parseEnvFile, resolveAdminToken } from '../../src/cli';

const TOKEN = 'cli-test-admin-token-0123456789';

/** One fake HTTP server answering every service's admin routes from `routes`. */
let routes: Record<string, unknown>;
let seenTokens: string[];
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    seenTokens.push(req.headers.authorization ?? '');
    const body = routes[req.url ?? ''];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { code: 'SHOP_NOT_FOUND' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seenTokens = [];
  routes = {
    '/v1/admin/orders/audit': {
      orders: [
        {
          id: 'o-1',
          status: 'CONFIRMED',
          total: { amount: 1000, currency: 'USD' },
          paymentId: 'pay-1',
          createdAt: '2026-11-27T10:00:00.000Z',
        },
      ],
    },
    '/v1/admin/payments/summary': {
      totals: [{ currency: 'USD', authorized: 1000, captured: 1000, voided: 0, refunded: 0, declined: 0 }],
      orders: [
        {
          orderId: 'o-1',
          currency: 'USD',
          status: 'CAPTURED',
          authorized: 1000,
          captured: 1000,
          voided: 0,
          refunded: 0,
          declined: 0,
          captureCount: 1,
          refundCount: 0,
          paymentIds: ['pay-1'],
        },
      ],
    },
    '/v1/admin/stock': {
      products: [{ id: 'p-mug', initial: 5, available: 4, reserved: 0, sold: 1, confirmedUnitsSold: 1 }],
      reservationsByStatus: { RESERVED: 0, COMMITTED: 1, RELEASED: 0, RESTOCKED: 0 },
      violations: [],
    },
    '/v1/admin/reservations': { statuses: { 'o-1': 'COMMITTED' } },
    '/admin/outbox': { unpublished: 0, published: 3, oldestUnpublishedAgeSeconds: 0, lastError: null },
    '/admin/consumers': { groups: [], duplicateIds: 0 },
  };
});

/** Every service on the fake server. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    SHOPLAB_USER_URL: base,
    SHOPLAB_CATALOG_URL: base,
    SHOPLAB_CART_URL: base,
    SHOPLAB_PAYMENT_URL: base,
    SHOPLAB_ORDER_URL: base,
    SHOPLAB_STATE: '/nonexistent',
    ...extra,
  };
}

async function run(argv: string[], environment = env({ ADMIN_TOKEN: TOKEN })) {
  let out = '';
  let err = '';
  const code = await main(argv, { env: environment, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test('a consistent shop audits with exit 0 and sends the admin token to every service', async () => {
  const { code, out } = await run(['audit']);
  assert.equal(code, 0, out);
  assert.match(out, /^PASS {2}2\. confirmed orders captured once and stock committed {2}confirmed=1/m);
  assert.match(out, /^SKIP {2}7\. /m);
  assert.ok(seenTokens.length > 0 && seenTokens.every((t) => t === `Bearer ${TOKEN}`));
});

test('a broken invariant exits 1, and --json prints the report', async () => {
  (routes['/v1/admin/reservations'] as { statuses: Record<string, string> }).statuses['o-1'] = 'RESERVED';
  const { code, out } = await run(['audit', '--json']);
  assert.equal(code, 1);
  const report = JSON.parse(out);
  assert.equal(report.ok, false);
  assert.equal(report.results[1].verdict, 'FAIL');
});

test('a service without /admin/outbox is noted, not failed', async () => {
  delete routes['/admin/outbox'];
  const { code, out } = await run(['audit']);
  assert.equal(code, 0);
  assert.match(out, /^SKIP {2}6\. /m);
  assert.match(out, /order: no \/admin\/outbox \(skipped\)/);
});

test('a missing required endpoint exits 2 with the reason', async () => {
  delete routes['/v1/admin/orders/audit'];
  const { code, err } = await run(['audit']);
  assert.equal(code, 2);
  assert.match(err, /order: GET \/v1\/admin\/orders\/audit answered 404/);
});

test('no admin token anywhere exits 2; a bad option is a usage error', async () => {
  assert.equal((await run(['audit'], env())).code, 2);
  const bad = await run(['audit', '--frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown option --frobnicate/);
});

test('the admin token comes from --token, then ADMIN_TOKEN, then the secrets file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shopctl-'));
  try {
    await writeFile(join(dir, 'secrets.env'), 'JWT_SECRET=x\nexport ADMIN_TOKEN="from-file"\n');
    assert.equal(resolveAdminToken(undefined, { SHOPLAB_STATE: dir }), 'from-file');
    assert.equal(resolveAdminToken(undefined, { SHOPLAB_STATE: dir, ADMIN_TOKEN: 'from-env' }), 'from-env');
    assert.equal(resolveAdminToken('from-flag', { SHOPLAB_STATE: dir, ADMIN_TOKEN: 'from-env' }), 'from-flag');
  } finally {
    await rm(dir, { recursive: true });
  }
  assert.deepEqual(parseEnvFile("A=1\n# comment\nB='two'\n"), { A: '1', B: 'two' });
});

test('audit --wait retries while orders are PENDING, then reports', async () => {
  const orders = routes['/v1/admin/orders/audit'] as { orders: { status: string }[] };
  (orders.orders[0] as { status: string }).status = 'PENDING';
  setTimeout(() => {
    (orders.orders[0] as { status: string }).status = 'CONFIRMED';
  }, 1_500);
  const settled = await run(['audit', '--wait', '20s']);
  assert.equal(settled.code, 0, settled.out);
  assert.match(settled.err, /invariant\(s\) 1\b.* FAIL; retrying for up to 20s/);

  (orders.orders[0] as { status: string }).status = 'PENDING';
  const stuck = await run(['audit', '--wait', '1500ms']);
  assert.equal(stuck.code, 1);
  assert.match(stuck.out, /^FAIL {2}1\. orders settled/m);
  assert.equal((await run(['audit', '--wait', '60'])).code, 2);
});
