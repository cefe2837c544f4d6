import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { z } from 'zod';
import { FaultInjector } from '../../src/chaos';
import { ShopError } from '../../src/errors';
import { createHttpApp, type HttpApp } from '../../src/http';
import { createMetrics } from '../../src/metrics';
import { BreakerRegistry, createBreaker } from '../../src/resilience';

const ADMIN = 'test-admin-token-0123456789';
let app: HttpApp;
let dbUp = true;
let shuttingDown = false;
const chaos = new FaultInjector();
const metrics = createMetrics('http-test');

before(async () => {
  app = await createHttpApp({
    service: 'widgets',
    version: '1.2.3',
    logger: pino({ level: 'silent' }),
    metrics,
    chaos,
    adminToken: ADMIN,
    bodyLimitBytes: 1024,
    readiness: {
      db: async () => {
        if (!dbUp) throw new Error('connection refused');
      },
    },
    isShuttingDown: () => shuttingDown,
    breakers: { list: () => [{ caller: 'widgets', target: 'catalog', state: 'closed' }] },
    swaggerUi: true,
  });
  app.post(
    '/widgets',
    {
      schema: {
        summary: 'Create a widget',
        body: z.object({ name: z.string().min(1), quantity: z.number().int().positive() }),
        response: { 201: z.object({ id: z.string(), name: z.string() }) },
      },
    },
    async (request, reply) => reply.code(201).send({ id: 'w-1', name: request.body.name }),
  );
  app.get('/widgets/:id', { schema: { params: z.object({ id: z.string() }) } }, async (request) => {
    throw new ShopError('SHOP_NOT_FOUND', `No widget ${request.params.id}`, { widgetId: request.params.id });
  });
  app.get('/boom', async () => {
    throw new Error('secret internal detail');
  });
  await app.ready();
});

after(() => app.close());

test('a ShopError becomes problem+json with its status, code and details', async () => {
  const res = await app.inject({ method: 'GET', url: '/widgets/w-9' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  const body = res.json();
  assert.equal(body.code, 'SHOP_NOT_FOUND');
  assert.equal(body.widgetId, 'w-9');
  assert.equal(body.instance, '/widgets/w-9');
});

test('invalid input is a 400 problem naming each failing field', async () => {
  const res = await app.inject({ method: 'POST', url: '/widgets', payload: { name: '', quantity: 1.5 } });
  assert.equal(res.statusCode, 400);
  const body = res.json();
  assert.equal(body.code, 'SHOP_VALIDATION_FAILED');
  const fields = body.errors.map((e: { field: string }) => e.field).sort();
  assert.deepEqual(fields, ['body.name', 'body.quantity']);
});

test('valid input passes and the response is serialized by its schema', async () => {
  const res = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'Sprocket', quantity: 2 } });
  assert.equal(res.statusCode, 201);
  assert.deepEqual(res.json(), { id: 'w-1', name: 'Sprocket' });
  assert.ok(res.headers['x-request-id'], 'a request id is returned');
});

test('malformed JSON is a 400 problem, an oversized body a 413, an unknown route a 404', async () => {
  const bad = await app.inject({
    method: 'POST',
    url: '/widgets',
    headers: { 'content-type': 'application/json' },
    payload: '{"name":',
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'SHOP_BAD_REQUEST');
  const big = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'x'.repeat(2048), quantity: 1 } });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().code, 'SHOP_PAYLOAD_TOO_LARGE');
  const missing = await app.inject({ method: 'GET', url: '/nowhere' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().code, 'SHOP_ROUTE_NOT_FOUND');
});

test('an unexpected error is a 500 problem that does not leak its message', async () => {
  const res = await app.inject({ method: 'GET', url: '/boom' });
  assert.equal(res.statusCode, 500);
  assert.equal(res.json().code, 'SHOP_INTERNAL');
  assert.ok(!res.body.includes('secret internal detail'));
});

test('a caller may pass its own request id, which is echoed back', async () => {
  const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'req-42' } });
  assert.equal(res.headers['x-request-id'], 'req-42');
});

test('/healthz is alive; /readyz follows its dependency checks and shutdown', async () => {
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: 'ready', checks: { db: 'ok' } });
  dbUp = false;
  const notReady = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(notReady.statusCode, 503);
  assert.equal(notReady.json().checks.db, 'error: connection refused');
  dbUp = true;
  shuttingDown = true;
  assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
  shuttingDown = false;
});

test('/metrics exposes RED metrics labelled by route template', async () => {
  await app.inject({ method: 'GET', url: '/widgets/w-1' });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /text\/plain/);
  assert.match(
    res.body,
    /shop_http_request_duration_seconds_count\{service="http-test",method="GET",route="\/widgets\/:id",status_code="404"\} \d+/,
  );
  assert.match(res.body, /process_cpu_user_seconds_total/);
});

test('admin routes need the admin token', async () => {
  const none = await app.inject({ method: 'GET', url: '/admin/chaos' });
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().code, 'SHOP_UNAUTHENTICATED');
  const wrong = await app.inject({ method: 'GET', url: '/admin/chaos', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.statusCode, 403);
  const ok = await app.inject({ method: 'GET', url: '/admin/breakers', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().items[0].target, 'catalog');
});

test('PUT /admin/breakers turns every breaker of the process off and on again', async () => {
  const registry = new BreakerRegistry();
  createBreaker(
    async () => 'ok',
    {
      caller: 'widgets',
      target: 'catalog',
      timeoutMs: false,
      errorThresholdPercentage: 50,
      volumeThreshold: 1,
      resetTimeoutMs: 1_000,
    },
    { metrics, registry },
  );
  const admin = await createHttpApp({
    service: 'breaker-switch',
    version: '0.0.0',
    logger: pino({ level: 'silent' }),
    metrics: createMetrics('breaker-switch'),
    chaos: new FaultInjector(),
    adminToken: ADMIN,
    breakers: registry,
  });
  const auth = { authorization: `Bearer ${ADMIN}` };
  try {
    const off = await admin.inject({
      method: 'PUT',
      url: '/admin/breakers',
      headers: auth,
      payload: { enabled: false },
    });
    assert.equal(off.statusCode, 200);
    assert.equal(off.json().enabled, false);
    assert.equal(off.json().items[0].enabled, false);
    assert.equal(registry.get('widgets', 'catalog')?.enabled, false);
    const on = await admin.inject({ method: 'PUT', url: '/admin/breakers', headers: auth, payload: { enabled: true } });
    assert.equal(on.json().items[0].enabled, true);
    const listed = await admin.inject({ method: 'GET', url: '/admin/breakers', headers: auth });
    assert.equal(listed.json().enabled, true);
    const bad = await admin.inject({
      method: 'PUT',
      url: '/admin/breakers',
      headers: auth,
      payload: { enabled: 'no' },
    });
    assert.equal(bad.statusCode, 400);
    const anonymous = await admin.inject({ method: 'PUT', url: '/admin/breakers', payload: { enabled: false } });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(registry.isEnabled, true);
  } finally {
    registry.close();
    await admin.close();
  }
});

test('a process whose breakers cannot be switched answers 404 to PUT /admin/breakers', async () => {
  const res = await app.inject({
    method: 'PUT',
    url: '/admin/breakers',
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { enabled: false },
  });
  assert.equal(res.statusCode, 404);
});

test('a fault set through /admin/chaos breaks its route until it is cleared', async () => {
  const auth = { authorization: `Bearer ${ADMIN}` };
  const put = await app.inject({
    method: 'PUT',
    url: '/admin/chaos',
    headers: auth,
    payload: { kind: 'http', target: 'POST /widgets', fault: { type: 'fail' }, durationSeconds: 60 },
  });
  assert.equal(put.statusCode, 201);
  const rule = put.json();
  const broken = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'a', quantity: 1 } });
  assert.equal(broken.statusCode, 503);
  assert.equal(broken.json().code, 'SHOP_CHAOS_INJECTED');
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'operations are never faulted');
  const listed = await app.inject({ method: 'GET', url: '/admin/chaos', headers: auth });
  assert.equal(listed.json().items[0].id, rule.id);
  const del = await app.inject({ method: 'DELETE', url: `/admin/chaos/${rule.id}`, headers: auth });
  assert.equal(del.statusCode, 200);
  const healed = await app.inject({ method: 'POST', url: '/widgets', payload: { name: 'a', quantity: 1 } });
  assert.equal(healed.statusCode, 201);
  const bad = await app.inject({
    method: 'PUT',
    url: '/admin/chaos',
    headers: auth,
    payload: { kind: 'http', fault: { type: 'error', rate: 5 } },
  });
  assert.equal(bad.statusCode, 400);
});

test('the OpenAPI document describes the routes from their schemas, and Swagger UI is served', async () => {
  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.equal(spec.openapi, '3.1.0');
  assert.equal(spec.info.title, 'ShopLab widgets');
  const post = spec.paths['/widgets'].post;
  assert.equal(post.summary, 'Create a widget');
  assert.deepEqual(post.requestBody.content['application/json'].schema.required.sort(), ['name', 'quantity']);
  assert.ok(spec.paths['/admin/chaos'].put);
  const ui = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(ui.statusCode, 200);
  assert.match(ui.body, /swagger/i);
});

test('a request that trickles in is cut off at requestTimeoutMs (408), and the default is set', async () => {
  const { connect } = await import('node:net');
  const slow = await createHttpApp({
    service: 'slowloris',
    version: '0.0.0',
    logger: pino({ level: 'silent' }),
    metrics: createMetrics('slowloris'),
    chaos: new FaultInjector(),
    adminToken: ADMIN,
    requestTimeoutMs: 300,
  });
  try {
    await slow.listen({ host: '127.0.0.1', port: 0 });
    const { port } = slow.server.address() as { port: number };
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
      let received = '';
      socket.on('data', (d) => {
        received += d.toString();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.equal(app.server.requestTimeout, 30_000);
    assert.equal(app.initialConfig.connectionTimeout, 120_000);
  } finally {
    await slow.close();
  }
});
