import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { FaultInjector } from '../../src/chaos';
import { type AdminListener, createHttpApp, type HttpApp, isAdminPath, listenAdmin } from '../../src/http';
import { createMetrics } from '../../src/metrics';

// One app on two real ports (the admin listener is about which socket a request came in on,
// which app.inject() has none of): admin routes answer on the admin port only.
const ADMIN = 'test-admin-token-0123456789';
let app: HttpApp;
let admin: AdminListener;
let publicUrl: string;
let adminUrl: string;

before(async () => {
  app = await createHttpApp({
    service: 'widgets',
    version: '1.0.0',
    logger: pino({ level: 'silent' }),
    metrics: createMetrics('admin-listener-test'),
    chaos: new FaultInjector(),
    adminToken: ADMIN,
  });
  app.get('/v1/widgets', async () => ({ items: [] }));
  app.get('/v1/admin/widgets', async () => ({ items: ['all'] }));
  admin = await listenAdmin(app, { host: '127.0.0.1', port: 0 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  publicUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  adminUrl = `http://127.0.0.1:${admin.port}`;
});

after(async () => {
  await app.close();
  await admin.close();
});

const bearer = { authorization: `Bearer ${ADMIN}` };

test('an admin route on the public port is the 404 problem of an unknown route, token or not', async () => {
  for (const path of ['/admin/chaos', '/admin/breakers', '/v1/admin/widgets', '/%61dmin/chaos']) {
    const res = await fetch(`${publicUrl}${path}`, { headers: bearer });
    assert.equal(res.status, 404, path);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', path);
    const body = (await res.json()) as { code: string; status: number };
    assert.equal(body.code, 'SHOP_ROUTE_NOT_FOUND', path);
    assert.equal(body.status, 404, path);
  }
  const put = await fetch(`${publicUrl}/admin/chaos`, {
    method: 'PUT',
    headers: { ...bearer, 'content-type': 'application/json' },
    body: JSON.stringify({ target: 'http', match: '*', fault: 'error', status: 503 }),
  });
  assert.equal(put.status, 404);
  // Nothing was added behind the public port's back.
  const list = await fetch(`${adminUrl}/admin/chaos`, { headers: bearer });
  assert.deepEqual(await list.json(), { items: [] });
});

test('on the admin port an admin route works with the token, 401 without it, 403 with a wrong one', async () => {
  const ok = await fetch(`${adminUrl}/admin/breakers`, { headers: bearer });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { items: [] });
  const own = await fetch(`${adminUrl}/v1/admin/widgets`, { headers: bearer });
  assert.equal(own.status, 200);
  const without = await fetch(`${adminUrl}/admin/breakers`);
  assert.equal(without.status, 401);
  assert.equal(((await without.json()) as { code: string }).code, 'SHOP_UNAUTHENTICATED');
  const wrong = await fetch(`${adminUrl}/admin/breakers`, {
    headers: { authorization: 'Bearer not-the-token-at-all' },
  });
  assert.equal(wrong.status, 403);
});

test('the public routes and the probes answer on the public port', async () => {
  assert.equal((await fetch(`${publicUrl}/v1/widgets`)).status, 200);
  assert.equal((await fetch(`${publicUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${adminUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${adminUrl}/metrics`)).status, 200);
});

test('without an admin listener (app.inject, or no ADMIN_PORT) admin routes answer on the one port', async () => {
  const other = await createHttpApp({
    service: 'widgets',
    version: '1.0.0',
    logger: pino({ level: 'silent' }),
    metrics: createMetrics('admin-listener-test-2'),
    chaos: new FaultInjector(),
    adminToken: ADMIN,
  });
  try {
    await other.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(other.server.address() as AddressInfo).port}`;
    assert.equal((await fetch(`${url}/admin/breakers`, { headers: bearer })).status, 200);
  } finally {
    await other.close();
  }
  // app has an admin listener, and inject (no socket) still reaches its admin routes: tests' way in.
  assert.equal((await app.inject({ method: 'GET', url: '/admin/breakers', headers: bearer })).statusCode, 200);
});

test('isAdminPath: a path with an admin segment, query aside', () => {
  for (const p of ['/admin/chaos', '/v1/admin/stock', '/api/v1/admin/audit', '/admin', '/admin?x=1']) {
    assert.equal(isAdminPath(p), true, p);
  }
  for (const p of ['/administrator', '/v1/products', '/v1/products?q=admin', '/api/v1/admins', '/docs']) {
    assert.equal(isAdminPath(p), false, p);
  }
});
