// The control room's own routes (src/control.ts) with app.inject(), off the native stack (an
// empty state directory: no pid file, as in a compose or kind container) and with nothing
// listening where the gateway, Kafka and the services would be: the admin token is required;
// stop/kill/start and the exercises say they need the native stack (409), never a 5xx; bad
// input is a 400 problem; a switch that cannot be read says so; the exercise pages are served.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HttpApp } from '@shoplab/chassis';
import { closedPort } from '@shoplab/chassis/testing';
import { appWith, TEST_ADMIN_TOKEN } from '../support/app';

const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
let state: string;
let app: HttpApp;
before(async () => {
  state = mkdtempSync(join(tmpdir(), 'shoplab-web-state-'));
  const nobody = `127.0.0.1:${await closedPort()}`;
  app = await appWith({
    SHOPLAB_STATE: state,
    GATEWAY_URL: `http://${nobody}`,
    MAP_SERVICES: `history=http://${nobody}/,shipping=http://${nobody}`,
    KAFKA_BROKERS: nobody,
    ...Object.fromEntries(
      // Their admin routes too (no SHOPLAB_<S>_ADMIN_URL: on that address); shipping's switches included.
      ['USER', 'CATALOG', 'CART', 'PAYMENT', 'ORDER', 'SHIPPING'].map((s) => [`SHOPLAB_${s}_URL`, `http://${nobody}`]),
    ),
  });
});
after(async () => {
  await app?.close();
  rmSync(state, { recursive: true, force: true });
});

test('every control route wants the admin token', async () => {
  for (const [method, url] of [
    ['GET', '/control/dead-letters'],
    ['POST', '/control/dead-letters/order.events/discard'],
    ['GET', '/control/switches'],
    ['POST', '/control/services/payment/kill'],
    ['GET', '/control/exercises'],
    ['POST', '/control/exercises/6/run'],
  ] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 401, `${method} ${url}`);
    assert.equal(res.json().code, 'SHOP_UNAUTHENTICATED');
  }
});

test('stop/kill/start and the exercises need the native stack: a 409 that says so', async () => {
  for (const url of ['/control/services/payment/kill', '/control/exercises/6/run']) {
    const res = await app.inject({ method: 'POST', url, headers: admin });
    assert.equal(res.statusCode, 409, url);
    assert.equal(res.json().code, 'SHOP_CONFLICT');
    assert.match(res.json().detail, /native stack \(make up\)/);
  }
});

test('bad input is a 400 or 404 problem', async () => {
  const unknownService = await app.inject({ method: 'POST', url: '/control/services/web/kill', headers: admin });
  assert.equal(unknownService.statusCode, 400);
  const unknownAction = await app.inject({ method: 'POST', url: '/control/services/payment/pause', headers: admin });
  assert.equal(unknownAction.statusCode, 400);
  const topic = await app.inject({ method: 'POST', url: '/control/dead-letters/a%20b/redrive', headers: admin });
  assert.equal(topic.statusCode, 400);
  const noSwitch = await app.inject({
    method: 'PUT',
    url: '/control/switches/warp',
    headers: admin,
    payload: { value: 'on' },
  });
  assert.equal(noSwitch.statusCode, 404);
  const badValue = await app.inject({
    method: 'PUT',
    url: '/control/switches/order-events',
    headers: admin,
    payload: { value: 'sometimes' },
  });
  assert.equal(badValue.statusCode, 400);
  assert.match(badValue.json().detail, /streaming or polling/);
  const noExercise = await app.inject({ url: '/control/exercises/999/page', headers: admin });
  assert.equal(noExercise.statusCode, 404);
  const nothingRuns = await app.inject({ method: 'POST', url: '/control/exercises/running/stop', headers: admin });
  assert.equal(nothingRuns.statusCode, 404);
});

test('switches that cannot be read are listed as unknown, with the reason', async () => {
  const res = await app.inject({ url: '/control/switches', headers: admin });
  assert.equal(res.statusCode, 200);
  const items = res.json().items as { name: string; value: string | null; error?: string }[];
  assert.deepEqual(
    items.map((s) => s.name),
    [
      'breakers',
      'bulkheads',
      'product-cache',
      'order-events',
      'checkout-mode',
      'card-network',
      'relay-user',
      'relay-catalog',
      'relay-cart',
      'relay-payment',
      'relay-order',
      'outbox-user',
      'outbox-catalog',
      'outbox-cart',
      'outbox-payment',
      'outbox-order',
      'shipping-quote-native',
      'shipping-create-native',
      'shipping-shadow',
    ],
  );
  for (const s of items) {
    assert.equal(s.value, null, s.name);
    assert.ok(s.error, s.name);
  }
});

test('the map’s other services: one that does not answer is NOT READY with the reason', async () => {
  const res = await app.inject({ url: '/control/health', headers: admin });
  assert.equal(res.statusCode, 200);
  const items = res.json().items as { service: string; ready: boolean; error?: string }[];
  assert.deepEqual(
    items.map((h) => [h.service, h.ready]),
    [
      ['gateway', false],
      ['history', false],
      ['shipping', false],
    ],
  );
  assert.ok(items.every((h) => h.error));
});

test('Kafka that does not answer is a 503 problem naming it', async () => {
  const res = await app.inject({ url: '/control/dead-letters', headers: admin });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().dependency, 'kafka');
});

test('the exercises are listed with their pages', async () => {
  const list = await app.inject({ url: '/control/exercises', headers: admin });
  assert.equal(list.statusCode, 200);
  const six = (list.json().items as { number: number; doc: string }[]).find((e) => e.number === 6);
  assert.equal(six?.doc, 'docs/exercises/06-duplicate-delivery.md');
  assert.equal(list.json().running, null);
  const page = await app.inject({ url: '/control/exercises/6/page', headers: admin });
  assert.equal(page.statusCode, 200);
  assert.match(page.json().markdown, /^# Exercise 6/);
});
