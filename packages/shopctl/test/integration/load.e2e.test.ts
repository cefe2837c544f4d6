// `shopctl load` against the LIVE local stack: a short open-loop run sends every scheduled
// arrival, its checkouts become real orders, and afterwards `shopctl audit --wait` passes.
// Run under the live-stack lock: flock -o /tmp/shoplab-live.lock bash scripts/test.sh load.e2e
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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
  const progress: number[] = [];
  const summary = await runLoad({
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
  const audited = await new AdminApi().request<{ orders: { id: string }[] }>('order', 'GET', '/v1/admin/orders/audit');
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
});
