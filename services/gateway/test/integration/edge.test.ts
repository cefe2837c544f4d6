import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import {
  admin,
  bearer,
  deadAddress,
  type Gateway,
  product,
  startGateway,
  startWorld,
  type World,
} from '../support/harness';

let world: World;
let gw: Gateway;

before(async () => {
  world = await startWorld();
  gw = await startGateway(world);
});

after(async () => {
  await gw.close();
  await world.close();
});

beforeEach(() => {
  world.state.reset();
  world.clearFaults();
  gw.kit.chaos.clear();
  gw.httpRegistry.set('payment', world.httpAddresses.payment!);
  world.state.products.set('p1', product('p1'));
});

test('registering is proxied to the user service and answered 201 with the user and a token', async () => {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email: 'ann@example.com', password: 'correct horse', name: 'Ann' },
  });
  assert.equal(res.statusCode, 201);
  const body = res.json();
  assert.equal(body.user.email, 'ann@example.com');
  assert.equal(typeof body.token, 'string');

  const login = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'ann@example.com', password: 'correct horse' },
  });
  assert.equal(login.statusCode, 200);
  const me = await gw.app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${login.json().token}` } });
  assert.equal(me.statusCode, 200, 'the token from login opens the user routes');
  assert.equal(me.json().user.name, 'Ann');
});

test('registering an email twice passes the user service’s 409 SHOP_ALREADY_EXISTS through', async () => {
  const payload = { email: 'dup@example.com', password: 'correct horse', name: 'Dup' };
  await gw.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload });
  const res = await gw.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload });
  assert.equal(res.statusCode, 409);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  const problem = res.json();
  assert.equal(problem.code, 'SHOP_ALREADY_EXISTS');
  assert.equal(problem.email, 'dup@example.com', 'extra members of the problem are kept');
  assert.equal(problem.instance, '/api/v1/auth/register');
});

test('the user service’s own validation problem is passed through (400) and a wrong password is 401', async () => {
  const weak = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { email: 'weak@example.com', password: 'short', name: 'Weak' },
  });
  assert.equal(weak.statusCode, 400);
  assert.equal(weak.json().code, 'SHOP_VALIDATION_FAILED');

  const wrong = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'nobody@example.com', password: 'whatever' },
  });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().code, 'SHOP_INVALID_CREDENTIALS');
});

test('admin routes need the admin token: none is 401, a user token or a wrong one is 403', async () => {
  const routes = [
    { method: 'GET', url: '/api/v1/admin/services' },
    { method: 'GET', url: '/api/v1/admin/breakers' },
    { method: 'PUT', url: '/api/v1/admin/breakers', payload: { enabled: false } },
    { method: 'PUT', url: '/api/v1/admin/chaos/catalog', payload: { kind: 'grpc', fault: { type: 'fail' } } },
    { method: 'DELETE', url: '/api/v1/admin/chaos/catalog' },
  ] as const;
  for (const route of routes) {
    const none = await gw.app.inject(route);
    assert.equal(none.statusCode, 401, `${route.method} ${route.url}`);
    const user = await gw.app.inject({ ...route, headers: bearer('alice') });
    assert.equal(user.statusCode, 403, `${route.method} ${route.url}`);
    assert.equal(user.json().code, 'SHOP_FORBIDDEN');
  }
  assert.equal(world.services.catalog.chaos.list().length, 0, 'nothing was forwarded');
  assert.equal(gw.kit.breakers.isEnabled, true);
});

test('/admin/services lists each service’s instances with their readiness', async () => {
  gw.httpRegistry.set('payment', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/admin/services', headers: admin });
  assert.equal(res.statusCode, 200);
  const items = res.json().items as { service: string; instances: { ready: boolean; readiness: unknown }[] }[];
  assert.deepEqual(
    items.map((s) => s.service),
    ['user', 'catalog', 'cart', 'payment', 'order'],
  );
  const catalog = items.find((s) => s.service === 'catalog')!;
  assert.equal(catalog.instances[0]?.ready, true);
  assert.deepEqual(catalog.instances[0]?.readiness, { status: 'ready', checks: {} });
  const payment = items.find((s) => s.service === 'payment')!;
  assert.equal(payment.instances[0]?.ready, false);
});

test('a fault put through the gateway reaches the service’s own chaos API, and clearing removes it', async () => {
  const put = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/chaos/catalog',
    headers: admin,
    payload: { kind: 'grpc', target: 'catalog.v1.CatalogService/*', fault: { type: 'fail' } },
  });
  assert.equal(put.statusCode, 201);
  assert.equal(put.json().results[0].status, 201);
  assert.equal(world.services.catalog.chaos.list().length, 1);
  assert.equal((await gw.app.inject({ url: '/api/v1/products' })).statusCode, 503, 'the fault is live');

  const del = await gw.app.inject({ method: 'DELETE', url: '/api/v1/admin/chaos/catalog', headers: admin });
  assert.equal(del.statusCode, 200);
  assert.equal(world.services.catalog.chaos.list().length, 0);
  assert.equal((await gw.app.inject({ url: '/api/v1/products' })).statusCode, 200);
});

test('a fault for `gateway` is added to the gateway itself', async () => {
  const put = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/chaos/gateway',
    headers: admin,
    payload: { kind: 'client', target: 'catalog.v1.CatalogService/ListProducts', fault: { type: 'fail' } },
  });
  assert.equal(put.statusCode, 201);
  assert.equal((await gw.app.inject({ url: '/api/v1/products' })).statusCode, 503);
  await gw.app.inject({ method: 'DELETE', url: '/api/v1/admin/chaos/gateway', headers: admin });
  assert.equal((await gw.app.inject({ url: '/api/v1/products' })).statusCode, 200);
});

test('a fault for an unknown service, or a malformed rule, is a 400 problem', async () => {
  const unknown = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/chaos/warehouse',
    headers: admin,
    payload: { kind: 'grpc', fault: { type: 'fail' } },
  });
  assert.equal(unknown.statusCode, 400);
  const malformed = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/chaos/catalog',
    headers: admin,
    payload: { kind: 'grpc', fault: { type: 'explode' } },
  });
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.json().code, 'SHOP_VALIDATION_FAILED');
});

test('/admin/breakers lists the gateway’s breakers and the switch turns them all off and on', async () => {
  const list = (await gw.app.inject({ url: '/api/v1/admin/breakers', headers: admin })).json();
  assert.equal(list.enabled, true);
  const targets = list.items.map((b: { target: string }) => b.target).sort();
  assert.deepEqual(targets, [
    'cart',
    'cart-http',
    'catalog',
    'history-http',
    'order',
    'order-http',
    'payment',
    'shipping',
    'user',
    'user-http',
  ]);

  const off = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/breakers',
    headers: admin,
    payload: { enabled: false },
  });
  assert.equal(off.statusCode, 200);
  assert.equal(off.json().enabled, false);
  assert.ok(off.json().items.every((b: { enabled: boolean }) => !b.enabled));
  await gw.app.inject({ method: 'PUT', url: '/api/v1/admin/breakers', headers: admin, payload: { enabled: true } });
  assert.equal(gw.kit.breakers.isEnabled, true);
});

test('the OpenAPI document lists every public path, and Swagger UI is served at /docs', async () => {
  const doc = (await gw.app.inject({ url: '/openapi.json' })).json();
  const paths = Object.keys(doc.paths);
  const expected: [string, string][] = [
    ['/api/v1/auth/register', 'post'],
    ['/api/v1/auth/login', 'post'],
    ['/api/v1/products', 'get'],
    ['/api/v1/products/{id}', 'get'],
    ['/api/v1/cart', 'get'],
    ['/api/v1/cart/items', 'post'],
    ['/api/v1/cart/items/{productId}', 'patch'],
    ['/api/v1/cart/items/{productId}', 'delete'],
    ['/api/v1/checkout', 'post'],
    ['/api/v1/orders', 'get'],
    ['/api/v1/orders/{id}', 'get'],
    ['/api/v1/orders/{id}/events', 'get'],
    ['/api/v1/me', 'get'],
    ['/api/v1/admin/services', 'get'],
    ['/api/v1/admin/breakers', 'get'],
    ['/api/v1/admin/breakers', 'put'],
    ['/api/v1/admin/chaos/{service}', 'put'],
    ['/api/v1/admin/chaos/{service}', 'delete'],
  ];
  for (const [path, method] of expected) {
    assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented (have: ${paths.join(', ')})`);
  }
  assert.deepEqual(doc.paths['/api/v1/cart'].get.security, [{ bearerAuth: [] }]);
  const docs = await gw.app.inject({ url: '/docs' });
  assert.ok([200, 302].includes(docs.statusCode));
});

test('the rate limit answers 429 SHOP_RATE_LIMITED with Retry-After, per user and per address', async () => {
  const limited = await startGateway(world, { RATE_LIMIT_PER_MINUTE: '3' });
  try {
    const carol = bearer('carol');
    for (let i = 0; i < 3; i++) {
      assert.equal((await limited.app.inject({ url: '/api/v1/products', headers: carol })).statusCode, 200);
    }
    const refused = await limited.app.inject({ url: '/api/v1/products', headers: carol });
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(refused.json().code, 'SHOP_RATE_LIMITED');
    assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After is set');

    // Another user from the same address has a budget of their own; anonymous calls count per address.
    assert.equal((await limited.app.inject({ url: '/api/v1/products', headers: bearer('dave') })).statusCode, 200);
    for (let i = 0; i < 3; i++) await limited.app.inject({ url: '/api/v1/products' });
    assert.equal((await limited.app.inject({ url: '/api/v1/products' })).statusCode, 429);
  } finally {
    await limited.close();
  }
});

test('a breaker opens after repeated failures, and then the gateway answers SHOP_CIRCUIT_OPEN at once', async () => {
  const fragile = await startGateway(world, {}, { breaker: { volumeThreshold: 2, resetTimeoutMs: 60_000 } });
  try {
    fragile.registry.set('catalog', [await deadAddress()]);
    for (let i = 0; i < 3; i++) await fragile.app.inject({ url: '/api/v1/products' });
    const breakers = (await fragile.app.inject({ url: '/api/v1/admin/breakers', headers: admin })).json();
    const catalog = breakers.items.find((b: { target: string }) => b.target === 'catalog');
    assert.equal(catalog.state, 'open');
    const res = await fragile.app.inject({ url: '/api/v1/products' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'SHOP_CIRCUIT_OPEN');
  } finally {
    await fragile.close();
  }
});

test('health and readiness answer', async () => {
  assert.equal((await gw.app.inject({ url: '/healthz' })).statusCode, 200);
  const ready = await gw.app.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json().checks, { registry: 'ok' });
});
