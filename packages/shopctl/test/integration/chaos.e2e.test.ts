// `shopctl chaos` against the LIVE local services: a `fail` rule on a catalog route is listed,
// makes that route answer the injected problem, and is gone (route healthy again) once cleared.
// Run under the live-stack lock: flock /tmp/shoplab-live.lock bash scripts/test.sh chaos.e2e
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { AdminApi, ApiError, requestJson, serviceBaseUrl } from '../../src/api';

const cli = resolve(__dirname, '../../src/cli.js');
const catalog = serviceBaseUrl('catalog');

function shopctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, stdout, stderr });
    });
  });
}

async function catalogIsUp(): Promise<boolean> {
  try {
    return (await fetch(`${catalog}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

test('a fail rule set with shopctl is listed, bites the route it names, and clears', async (t) => {
  if (!(await catalogIsUp())) {
    t.skip(`the local catalog (${catalog}) is not up: start the stack (make up)`);
    return;
  }
  const admin = new AdminApi();
  try {
    const set = await shopctl(['chaos', 'set', 'catalog', 'http', 'GET /v1/products/:id', 'fail', '--for', '60s']);
    assert.equal(set.code, 0, set.stderr);
    const id = /fault (\S+) set/.exec(set.stdout)?.[1];
    assert.ok(id, set.stdout);

    const list = await shopctl(['chaos', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^catalog +${id} +http +GET /v1/products/:id +fail +in \\d`, 'm'));

    // The named route fails with the injected problem; another route of the same service does not.
    const err = await requestJson(`GET`, `${catalog}/v1/products/any-id`).catch((e: unknown) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 503);
    assert.equal(err.code, 'SHOP_CHAOS_INJECTED');
    const page = await requestJson<{ items: unknown[] }>('GET', `${catalog}/v1/products?limit=1`);
    assert.ok(Array.isArray(page.items));

    const clear = await shopctl(['chaos', 'clear', 'catalog', '--id', id]);
    assert.equal(clear.code, 0, clear.stderr);
    assert.match(clear.stdout, /^catalog: cleared 1 rule\(s\)$/m);
    assert.equal((await admin.chaosList('catalog')).length, 0);
    const healed = await requestJson('GET', `${catalog}/v1/products/any-id`).catch((e: unknown) => e);
    assert.ok(!(healed instanceof ApiError && healed.code === 'SHOP_CHAOS_INJECTED'), String(healed));
  } finally {
    await admin.chaosClear('catalog');
  }
});
