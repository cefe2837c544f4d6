import assert from 'node:assert/strict';
import { type EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { ConsulRegistry, grpcAddressOf, type Instance, RoundRobin } from '../../src/discovery';
import { ShopError } from '../../src/errors';
import { createLogger } from '../../src/logging';
import { ConsulDouble } from '../../src/testing/consul-double';

const logger = createLogger({ service: 'discovery-test', level: 'silent' });

/** An HTTP server with a /readyz whose answer the test controls; `probes` emits each check. */
async function readinessServer() {
  let ready = false;
  const server = http.createServer((req, res) => {
    if (req.url !== '/readyz') return void res.writeHead(404).end();
    res.writeHead(ready ? 200 : 503).end(ready ? 'ready' : 'not ready');
    server.emit('probe', ready);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    probes: server as EventEmitter,
    setReady(value: boolean) {
      ready = value;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Resolves with the first list (pushed by the registry's watch) that satisfies `predicate`. */
function listWhere(
  registry: ConsulRegistry,
  service: string,
  predicate: (list: Instance[]) => boolean,
  limitMs = 5_000,
): Promise<Instance[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unwatch();
      reject(new Error(`no matching instance list of ${service} within ${limitMs} ms`));
    }, limitMs);
    const unwatch = registry.watch(service, (list) => {
      if (!predicate(list)) return;
      clearTimeout(timer);
      queueMicrotask(() => unwatch());
      resolve(list);
    });
  });
}

/** Awaits an event with a ref'd guard timer (so the test process stays alive) and a bound. */
async function event(emitter: EventEmitter, name: string, limitMs = 5_000): Promise<unknown[]> {
  let guard: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(`no ${name} event within ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([once(emitter, name), limit]);
  } finally {
    clearTimeout(guard);
  }
}

describe('ConsulRegistry against the Consul double', () => {
  const consul = new ConsulDouble();
  let app: Awaited<ReturnType<typeof readinessServer>>;
  const open: ConsulRegistry[] = [];

  function registry(): ConsulRegistry {
    const r = new ConsulRegistry({
      url: consul.url,
      logger,
      // A long wait: changes can only arrive this fast through a blocking query returning early.
      blockingWaitMs: 60_000,
      retryBaseDelayMs: 20,
      retryMaxDelayMs: 200,
      check: { intervalMs: 50, timeoutMs: 500, deregisterCriticalAfterMs: 60_000 },
    });
    open.push(r);
    return r;
  }

  function catalogInstance(id: string) {
    return { id, service: 'catalog', address: '127.0.0.1', port: app.port, grpcPort: 9082, tags: ['v1'] };
  }

  before(async () => {
    await consul.start();
    app = await readinessServer();
  });
  afterEach(async () => {
    for (const r of open.splice(0)) {
      await r.deregister().catch(() => {});
      r.close();
    }
    app.setReady(false);
    if (!consul.running) await consul.start();
  });
  after(async () => {
    await consul.close();
    await app.close();
  });

  test('a registered instance becomes visible only after its readiness check passes', async () => {
    const self = registry();
    const client = registry();
    await self.register(catalogInstance('catalog-1'));
    assert.deepEqual(await client.instances('catalog'), [], 'a new check starts critical');

    const probed = event(app.probes, 'probe');
    assert.deepEqual(await probed, [false], 'Consul probed /readyz and was told "not ready"');
    assert.deepEqual(await client.instances('catalog'), []);

    app.setReady(true);
    const [instance] = await listWhere(client, 'catalog', (l) => l.length === 1);
    assert.deepEqual(instance, {
      id: 'catalog-1',
      service: 'catalog',
      address: '127.0.0.1',
      port: app.port,
      meta: { grpc_port: '9082' },
    });
    assert.equal(grpcAddressOf(instance!), '127.0.0.1:9082');
    assert.equal(consul.list()[0]?.checks[0]?.status, 'passing');
  });

  test('an instance whose readiness starts failing disappears through the blocking query', async () => {
    const self = registry();
    const client = registry();
    await self.register(catalogInstance('catalog-1'));
    app.setReady(true);
    await listWhere(client, 'catalog', (l) => l.length === 1);

    app.setReady(false);
    await listWhere(client, 'catalog', (l) => l.length === 0);
    assert.deepEqual(await client.instances('catalog'), []);
  });

  test('deregistration removes the instance', async () => {
    const self = registry();
    const client = registry();
    await self.register(catalogInstance('catalog-1'));
    app.setReady(true);
    await listWhere(client, 'catalog', (l) => l.length === 1);

    await self.deregister();
    await listWhere(client, 'catalog', (l) => l.length === 0);
    assert.deepEqual(consul.list(), []);
  });

  test('a Consul outage keeps the last known list, and changes flow again once it is back', async () => {
    const self = registry();
    const client = registry();
    await self.register(catalogInstance('catalog-1'));
    app.setReady(true);
    await listWhere(client, 'catalog', (l) => l.length === 1);

    const unreachable = event(client, 'unreachable');
    await consul.stop();
    await unreachable;
    assert.deepEqual(
      (await client.instances('catalog')).map((i) => i.id),
      ['catalog-1'],
    );
    assert.equal((await new RoundRobin(client).pick('catalog')).id, 'catalog-1');

    const reachable = event(client, 'reachable');
    await consul.start();
    await reachable;
    app.setReady(false);
    await listWhere(client, 'catalog', (l) => l.length === 0);
  });

  test('round robin alternates between the healthy instances', async () => {
    const client = registry();
    await registry().register(catalogInstance('catalog-a'));
    await registry().register(catalogInstance('catalog-b'));
    app.setReady(true);
    await listWhere(client, 'catalog', (l) => l.length === 2);

    const rr = new RoundRobin(client);
    const picked: string[] = [];
    for (let i = 0; i < 4; i++) picked.push((await rr.pick('catalog')).id);
    assert.deepEqual(picked, ['catalog-a', 'catalog-b', 'catalog-a', 'catalog-b']);
  });

  test('the first lookup fails with SHOP_DEPENDENCY_UNAVAILABLE while Consul is down and nothing is known', async () => {
    await consul.stop();
    const client = registry();
    await assert.rejects(client.instances('catalog'), (err: unknown) => {
      assert.ok(err instanceof ShopError);
      assert.equal(err.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
      return true;
    });
    await assert.rejects(registry().register(catalogInstance('catalog-1')), (err: unknown) => {
      return err instanceof ShopError && err.code === 'SHOP_DEPENDENCY_UNAVAILABLE';
    });
  });
});
