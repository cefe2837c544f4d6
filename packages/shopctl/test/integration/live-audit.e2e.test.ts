// `shopctl audit` against the LIVE local services (infra/local/services.sh): a checkout through
// the gateway reaches CONFIRMED, then the audit exits 0. Skipped when the gateway is not up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import { AdminApi } from '../../src/api';

const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
const api = `${gateway}/api/v1`;
const cli = resolve(__dirname, '../../src/cli.js');

async function gatewayIsUp(): Promise<boolean> {
  try {
    return (await fetch(`${gateway}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

async function call(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(method === 'POST' && path === '/checkout' ? { 'idempotency-key': randomUUID() } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function shopctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 2) : 0;
      done({ code, stdout, stderr });
    });
  });
}

test('after a checkout reaches CONFIRMED, `shopctl audit` on the live services exits 0', async (t) => {
  if (!(await gatewayIsUp())) {
    t.skip(`the local gateway (${gateway}) is not up: start the stack (make up)`);
    return;
  }
  const email = `audit-${randomUUID()}@example.com`;
  const registered = await call('POST', '/auth/register', {
    body: { email, password: 'correct horse battery', name: 'Audit Shopper' },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const token: string = registered.body.token;

  // A product of the test's own (docs/adr/0015-tests-own-their-data.md): the seeded catalogue may be sold out.
  const product = await new AdminApi().request<{ id: string }>('catalog', 'POST', '/v1/admin/products', {
    body: {
      name: `Audit product ${randomUUID().slice(0, 8)}`,
      category: 'e2e',
      price: { amount: 1200, currency: 'USD' },
      stock: 1,
    },
  });
  assert.equal(
    (await call('POST', '/cart/items', { token, body: { productId: product.id, quantity: 1 } })).status,
    201,
  );
  const checkout = await call('POST', '/checkout', {
    token,
    body: { card: { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2035, cvc: '123' } },
  });
  assert.equal(checkout.status, 202, JSON.stringify(checkout.body));

  const deadline = Date.now() + 60_000;
  const orderPath = `/orders/${checkout.body.orderId}`;
  let order: Awaited<ReturnType<typeof call>> | undefined;
  order = await eventually(
    () => `order ${checkout.body.orderId} to leave PENDING (last: ${JSON.stringify(order?.body)})`,
    async () => {
      order = await call('GET', orderPath, { token });
      return order.body?.status === 'PENDING' ? undefined : order;
    },
    { timeoutMs: deadline - Date.now(), intervalMs: 250, onError: 'fail' },
  );
  assert.equal(order.body.status, 'CONFIRMED', JSON.stringify(order.body));

  // The relay publishes the confirmation's events just after; the audit holds once they are out.
  let run: Awaited<ReturnType<typeof shopctl>> | undefined;
  run = await eventually(
    () => `the audit to pass (last run: ${run?.stdout}\n${run?.stderr})`,
    async () => {
      run = await shopctl(['audit']);
      return run.code === 0 ? run : undefined;
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 500, onError: 'fail' },
  );
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /^PASS {2}2\. confirmed orders captured once and stock committed/m);

  const json = await shopctl(['audit', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).ok, true);
});
