import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { checkoutModeCommand } from '../../src/checkout-mode';

async function run(argv: string[], orderUrl: string) {
  let out = '';
  let err = '';
  const code = await checkoutModeCommand(argv, {
    env: { ADMIN_TOKEN: 'the-admin-token', SHOPLAB_ORDER_URL: orderUrl },
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

test('shopctl checkout-mode: reads the mode, switches it with the admin token; bad input is exit 2 before any call', async () => {
  const seen: { method: string; auth: string | undefined; body: string }[] = [];
  let mode = 'orchestrated';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', auth: req.headers.authorization, body });
      if (req.method === 'PUT') mode = JSON.parse(body).mode;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ mode, available: ['orchestrated', 'choreographed'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const read = await run([], url);
    assert.equal(read.code, 0, read.err);
    assert.match(read.out, /checkout mode: orchestrated \(available: orchestrated, choreographed\)/);
    const switched = await run(['choreographed'], url);
    assert.equal(switched.code, 0, switched.err);
    assert.match(switched.out, /checkout mode: choreographed/);
    assert.deepEqual(
      seen.map((s) => [s.method, s.auth, s.body]),
      [
        ['GET', 'Bearer the-admin-token', ''],
        ['PUT', 'Bearer the-admin-token', '{"mode":"choreographed"}'],
      ],
    );
    assert.equal((await run(['sideways'], url)).code, 2);
    assert.equal((await run(['choreographed', 'again'], url)).code, 2);
    assert.equal(seen.length, 2, 'no call for bad input');
  } finally {
    server.close();
  }
  // A well-formed call to an order service that is not there: exit 1.
  assert.equal((await run([], 'http://127.0.0.1:1')).code, 1);
});
