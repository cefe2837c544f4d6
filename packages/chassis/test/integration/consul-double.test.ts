import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Consul from 'consul';
import { ConsulDouble, parseDuration } from '../../src/testing/consul-double';

/** An HTTP server with a /readyz whose answer the test controls. */
async function readinessServer() {
  let ready = false;
  const server = http.createServer((req, res) => {
    if (req.url !== '/readyz') return void res.writeHead(404).end();
    res.writeHead(ready ? 200 : 503).end(ready ? 'ready' : 'not ready');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    setReady(value: boolean) {
      ready = value;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface HealthEntry {
  Service: { ID: string; Service: string; Port: number; Meta: Record<string, string> };
  Checks: { CheckID: string; Status: string }[];
}

async function health(base: string, name: string, query = '') {
  const res = await fetch(`${base}/v1/health/service/${name}${query}`);
  assert.equal(res.status, 200);
  return { index: Number(res.headers.get('x-consul-index')), entries: (await res.json()) as HealthEntry[] };
}

/** Blocking queries until `predicate` holds: each request returns only when the index moves. */
async function until(base: string, name: string, query: string, predicate: (e: HealthEntry[]) => boolean) {
  let { index, entries } = await health(base, name, query);
  while (!predicate(entries)) ({ index, entries } = await health(base, name, `${query}&index=${index}&wait=5s`));
  return entries;
}

async function put(base: string, path: string, body?: unknown) {
  return fetch(`${base}${path}`, { method: 'PUT', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

describe('ConsulDouble (a test double of Consul, not Consul)', () => {
  const consul = new ConsulDouble();
  let base = '';
  let app: Awaited<ReturnType<typeof readinessServer>>;

  before(async () => {
    base = await consul.start();
    app = await readinessServer();
  });
  after(async () => {
    await consul.close();
    await app.close();
  });

  test('accepts a registration from the consul npm client and lists it as an agent service', async () => {
    const client = new Consul({ host: '127.0.0.1', port: consul.port });
    try {
      await client.agent.service.register({
        name: 'cart',
        id: 'cart-1',
        address: '127.0.0.1',
        port: app.port,
        tags: ['v1'],
        meta: { grpc_port: '9083' },
        check: {
          name: 'ready',
          http: `http://127.0.0.1:${app.port}/readyz`,
          interval: '10s',
          timeout: '1s',
          deregistercriticalserviceafter: '1m',
        },
      });
      const services = (await client.agent.service.list()) as Record<string, { Service: string; Meta: object }>;
      assert.equal(services['cart-1']?.Service, 'cart');
      assert.deepEqual(services['cart-1']?.Meta, { grpc_port: '9083' });
      assert.equal(await client.status.leader(), '127.0.0.1:8300');
      await client.agent.service.deregister('cart-1');
      assert.deepEqual(await client.agent.service.list(), {});
    } finally {
      client.destroy();
    }
  });

  test('a new service is critical until its HTTP check passes, then shows as passing', async () => {
    app.setReady(false);
    const res = await put(base, '/v1/agent/service/register', {
      name: 'user',
      id: 'user-1',
      port: app.port,
      check: { http: `http://127.0.0.1:${app.port}/readyz`, interval: '50ms' },
    });
    assert.equal(res.status, 200);
    const all = await health(base, 'user');
    assert.equal(all.entries.length, 1);
    assert.deepEqual(
      all.entries[0]?.Checks.map((c) => [c.CheckID, c.Status]),
      [
        ['serfHealth', 'passing'],
        ['service:user-1', 'critical'],
      ],
    );
    assert.deepEqual((await health(base, 'user', '?passing=true')).entries, []);

    app.setReady(true);
    const passing = await until(base, 'user', '?passing=true', (e) => e.length === 1);
    assert.equal(passing[0]?.Service.ID, 'user-1');
    await put(base, '/v1/agent/service/deregister/user-1');
  });

  test('a blocking query with an unchanged index returns when its wait expires', async () => {
    const { index } = await health(base, 'nobody');
    const started = Date.now();
    const again = await health(base, 'nobody', `?index=${index}&wait=150ms`);
    assert.ok(Date.now() - started >= 140, 'it waited');
    assert.equal(again.index, index);
    assert.deepEqual(again.entries, []);
  });

  test('a service critical for longer than DeregisterCriticalServiceAfter is removed', async () => {
    await put(base, '/v1/agent/service/register', {
      Name: 'payment',
      ID: 'payment-1',
      Port: 1,
      Check: { TCP: '127.0.0.1:1', Interval: '40ms', Timeout: '200ms', DeregisterCriticalServiceAfter: '150ms' },
    });
    assert.equal((await health(base, 'payment')).entries.length, 1);
    await until(base, 'payment', '?', (e) => e.length === 0);
    assert.equal(
      consul.list().find((s) => s.id === 'payment-1'),
      undefined,
    );
  });

  test('stop makes it unreachable and start brings it back on the same port with its state', async () => {
    await put(base, '/v1/agent/service/register', { name: 'order', id: 'order-1', port: 1 });
    const port = consul.port;
    await consul.stop();
    await assert.rejects(fetch(`${base}/v1/agent/services`));
    await consul.start();
    assert.equal(consul.port, port);
    const services = (await (await fetch(`${base}/v1/agent/services`)).json()) as Record<string, unknown>;
    assert.ok(services['order-1']);
    await put(base, '/v1/agent/service/deregister/order-1');
  });

  test('answers errors the way Consul documents them', async () => {
    assert.equal((await put(base, '/v1/agent/service/deregister/ghost')).status, 404);
    assert.equal((await put(base, '/v1/agent/service/register', { id: 'no-name' })).status, 400);
    assert.equal((await fetch(`${base}/v1/agent/service/register`)).status, 405);
    assert.equal((await fetch(`${base}/v1/health/service/x?index=abc`)).status, 400);
  });

  test('parses Go durations', () => {
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('10'), 10 / 1e6);
    assert.equal(parseDuration('soon'), undefined);
  });
});
