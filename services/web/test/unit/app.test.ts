// The web service's own behaviour, with app.inject(): the bundle and the app's routes, problems
// for what is not there, and a gateway that does not answer (a port nothing listens on) as a
// problem, never a hang or a bare 5xx. The proxy's happy path, the event stream included, is
// tested against the running gateway (test/browser).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HttpApp } from '@shoplab/chassis';
import { closedPort } from '@shoplab/chassis/testing';
import { appWith, TEST_ADMIN_TOKEN } from '../support/app';

const INDEX = '<!doctype html><title>ShopLab test bundle</title><div id="root"></div>';

let dir: string;
let app: HttpApp;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shoplab-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
  const nobody = `http://127.0.0.1:${await closedPort()}`;
  app = await appWith({ UI_DIR: dir, GATEWAY_URL: nobody, JAEGER_URL: nobody });
});
after(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('serves the bundle: index.html revalidated, hashed assets cached for good', async () => {
  const index = await app.inject({ url: '/' });
  assert.equal(index.statusCode, 200);
  assert.equal(index.body, INDEX);
  assert.equal(index.headers['cache-control'], 'no-cache');
  const asset = await app.inject({ url: '/assets/app-1234.js' });
  assert.equal(asset.statusCode, 200);
  assert.match(String(asset.headers['cache-control']), /immutable/);
  // A bundle rebuilt while the service runs is served as it is now.
  writeFileSync(join(dir, 'assets', 'app-5678.js'), 'console.log(2)');
  assert.equal((await app.inject({ url: '/assets/app-5678.js' })).body, 'console.log(2)');
  const missing = await app.inject({ url: '/assets/app-0000.js' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().code, 'SHOP_NOT_FOUND');
  assert.equal((await app.inject({ url: '/assets/..%2Findex.html' })).statusCode, 404);
});

test('the app’s own routes answer index.html to a browser, a problem to anything else', async () => {
  const page = await app.inject({ url: '/orders/some-order', headers: { accept: 'text/html,*/*' } });
  assert.equal(page.statusCode, 200);
  assert.equal(page.body, INDEX);
  const json = await app.inject({ url: '/orders/some-order', headers: { accept: 'application/json' } });
  assert.equal(json.statusCode, 404);
  assert.equal(json.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(json.json().code, 'SHOP_ROUTE_NOT_FOUND');
});

test('a gateway that does not answer is a 503 problem naming it', async () => {
  const res = await app.inject({ url: '/api/v1/products?limit=1' });
  assert.equal(res.statusCode, 503);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  const problem = res.json();
  assert.equal(problem.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
  assert.match(problem.detail, /gateway/);
});

test('a JSON body is checked here and passed on: bad JSON and unstorable text are 400 problems', async () => {
  const bad = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: { 'content-type': 'application/json' },
    payload: '{"email":',
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'SHOP_BAD_REQUEST');
  const nul = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'a\u0000b@example.com', password: 'x' },
  });
  assert.equal(nul.statusCode, 400);
  assert.equal(nul.json().code, 'SHOP_VALIDATION_FAILED');
  // A well-formed body goes on to the gateway (which does not answer here).
  const ok = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'a@example.com', password: 'x' },
  });
  assert.equal(ok.statusCode, 503);
});

test('Jaeger’s API is read behind the admin token only', async () => {
  const anonymous = await app.inject({ url: '/jaeger/api/services' });
  assert.equal(anonymous.statusCode, 401);
  assert.equal(anonymous.json().code, 'SHOP_UNAUTHENTICATED');
  const wrong = await app.inject({
    url: '/jaeger/api/services',
    headers: { authorization: 'Bearer not-the-token-0000' },
  });
  assert.equal(wrong.statusCode, 403);
  const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
  const write = await app.inject({ method: 'POST', url: '/jaeger/api/services', headers: admin });
  assert.equal(write.statusCode, 405);
  // With the token, on to Jaeger, which does not answer here.
  const read = await app.inject({ url: '/jaeger/api/services', headers: admin });
  assert.equal(read.statusCode, 503);
  assert.match(read.json().detail, /Jaeger/);
});

test('not ready without a bundle', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'shoplab-web-empty-'));
  const bare = await appWith({ UI_DIR: empty });
  try {
    const ready = await bare.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.match(ready.json().checks.bundle, /index\.html is missing/);
    assert.equal((await bare.inject({ url: '/healthz' })).statusCode, 200);
  } finally {
    await bare.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
