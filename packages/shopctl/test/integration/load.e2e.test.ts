// `shopctl load` against the LIVE local stack: a short open-loop run sends every scheduled
// arrival, its checkouts become real orders, and afterwards `shopctl audit --wait` passes.
// Its carts take only products the test makes (docs/adr/0015-tests-own-their-data.md), so it
// passes whatever the shop has sold, and buys none of the catalogue a user plays with.
// Run under the live-stack lock: flock -o /tmp/shoplab-live.lock bash scripts/test.sh load.e2e
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { AdminApi, serviceBaseUrl } from '../../src/api';
import { OPERATIONS, runLoad } from '../../src/load';

const cli = resolve(__dirname, '../../src/cli.js');

async function gatewayIsUp(): Promise<boolean> {
  try {
    return (await fetch(`${serviceBaseUrl('gateway')}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

test('a short load run sends what the clock scheduled, creates orders, and leaves the audit passing', async (t) => {
  if (!(await gatewayIsUp())) {
    t.skip('the local gateway is not up: start the stack (make up)');
    return;
  }
  const admin = new AdminApi();
  const own = await Promise.all(
    [1, 2].map(() =>
      admin.request<{ id: string; available: number }>('catalog', 'POST', '/v1/admin/products', {
        body: {
          name: `Load test product ${randomUUID().slice(0, 8)}`,
          category: 'e2e',
          price: { amount: 700, currency: 'USD' },
          stock: 200,
        },
      }),
    ),
  );
  const startedAt = new Date();
  const progress: number[] = [];
  const summary = await runLoad({
    products: own.map((p) => p.id),
    rate: 8,
    durationMs: 5_000,
    users: 4,
    mix: { browse: 2, cart: 2, checkout: 1 },
    progressEveryMs: 1_000,
    onProgress: (p) => progress.push(p.sent),
  });
  assert.equal(summary.scheduled, 40);
  assert.equal(summary.sent + summary.dropped, 40);
  assert.equal(summary.aborted, false);
  const perOperation = OPERATIONS.map((op) => summary.operations[op]);
  assert.equal(
    summary.ok + summary.errors,
    perOperation.reduce((sum, o) => sum + o.count, 0),
  );
  assert.ok(summary.operations.browse.ok > 0, JSON.stringify(summary.operations.browse));
  assert.ok(summary.operations.cart.ok > 0, JSON.stringify(summary.operations.cart));
  assert.ok(summary.orderIds.length > 0, JSON.stringify(summary.operations.checkout));
  assert.ok(progress.length >= 3, `progress snapshots: ${progress}`);
  assert.deepEqual(
    progress,
    [...progress].sort((a, b) => a - b),
  );

  // Every order id the run reports is a real order.
  const audited = await admin.request<{ orders: { id: string }[] }>(
    'order',
    'GET',
    `/v1/admin/orders/audit?since=${encodeURIComponent(startedAt.toISOString())}`,
  );
  const known = new Set(audited.orders.map((o) => o.id));
  assert.deepEqual(
    summary.orderIds.filter((id) => !known.has(id)),
    [],
  );

  const audit = await new Promise<{ code: number; out: string }>((done) =>
    execFile(process.execPath, [cli, 'audit', '--wait', '60s'], { timeout: 90_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, out: `${stdout}${stderr}` }),
    ),
  );
  assert.equal(audit.code, 0, audit.out);

  // The carts held only the test's products: every confirmed order bought at least one of them.
  const ended = await admin.request<{ orders: { id: string; status: string }[] }>(
    'order',
    'GET',
    `/v1/admin/orders/audit?since=${encodeURIComponent(startedAt.toISOString())}`,
  );
  const mine = new Set(summary.orderIds);
  const confirmed = ended.orders.filter((o) => mine.has(o.id) && o.status === 'CONFIRMED').length;
  const stock = await admin.request<{ products: { id: string; sold: number; initial: number }[] }>(
    'catalog',
    'GET',
    '/v1/admin/stock',
  );
  const ownIds = new Set(own.map((p) => p.id));
  const sold = stock.products.filter((p) => ownIds.has(p.id)).reduce((sum, p) => sum + p.sold, 0);
  assert.ok(confirmed > 0, `confirmed orders of the run: ${confirmed}`);
  assert.ok(sold >= confirmed, `${sold} units of the test's products sold for ${confirmed} confirmed orders`);
});
