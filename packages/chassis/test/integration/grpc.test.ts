import assert from 'node:assert/strict';
import { type EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { catalogV1, healthV1 } from '@shoplab/contracts';
import pg from 'pg';
import { FaultInjector } from '../../src/chaos';
import { ConsulRegistry, type Instance, StaticRegistry } from '../../src/discovery';
import { GrpcStatus, ShopError } from '../../src/errors';
import { createGrpcClient, type GrpcClient, type GrpcClientOptions } from '../../src/grpc-client';
import { type CallContext, createGrpcServer, type GrpcServer, ServingStatus } from '../../src/grpc-server';
import { createLogger } from '../../src/logging';
import { createMetrics, type ServiceMetrics } from '../../src/metrics';
import { BreakerRegistry } from '../../src/resilience';
import { ConsulDouble } from '../../src/testing/consul-double';

const logger = createLogger({ service: 'grpc-test', level: 'silent' });
type CatalogService = typeof catalogV1.CatalogServiceService;
type Overrides = {
  getProduct?: (req: catalogV1.GetProductRequest, ctx: CallContext) => Promise<catalogV1.GetProductResponse>;
  reserveStock?: (req: catalogV1.ReserveStockRequest, ctx: CallContext) => Promise<catalogV1.ReserveStockResponse>;
};

/** An in-test CatalogService: answers with its own name, counts calls, and lets a test replace two handlers. */
class FakeCatalog {
  readonly calls = { getProduct: 0, reserveStock: 0, listProducts: 0 };
  readonly on: Overrides = {};

  constructor(readonly name: string) {}

  product(id: string): catalogV1.Product {
    return {
      id,
      sku: `SKU-${id}`,
      name: this.name,
      description: '',
      category: 'books',
      price: { amount: 1999, currency: 'USD' },
      available: 5,
      imageUrl: '',
    };
  }

  reservation(id: string, status = catalogV1.ReservationStatus.RESERVATION_STATUS_RESERVED): catalogV1.Reservation {
    return { id, status, lines: [] };
  }

  implementation() {
    return {
      getProduct: async (req: catalogV1.GetProductRequest, ctx: CallContext) => {
        this.calls.getProduct++;
        return this.on.getProduct ? this.on.getProduct(req, ctx) : { product: this.product(req.id) };
      },
      batchGetProducts: async (req: catalogV1.BatchGetProductsRequest) => ({
        products: req.ids.map((id) => this.product(id)),
        missingIds: [],
      }),
      listProducts: async () => {
        this.calls.listProducts++;
        return { products: [this.product('p1')], nextCursor: '' };
      },
      reserveStock: async (req: catalogV1.ReserveStockRequest, ctx: CallContext) => {
        this.calls.reserveStock++;
        return this.on.reserveStock
          ? this.on.reserveStock(req, ctx)
          : { reservation: this.reservation(req.reservationId) };
      },
      commitStock: async (req: catalogV1.CommitStockRequest) => ({ reservation: this.reservation(req.reservationId) }),
      releaseStock: async (req: catalogV1.ReleaseStockRequest) => ({
        reservation: this.reservation(req.reservationId),
      }),
      restockCommitted: async (req: catalogV1.RestockCommittedRequest) => ({
        reservation: this.reservation(req.reservationId),
      }),
      prepareReserveStock: async (req: catalogV1.PrepareReserveStockRequest) => ({
        reservation: this.reservation(req.reservationId),
      }),
      finishPrepared: async () => ({ outcome: 'absent' }),
    };
  }
}

interface RunningCatalog {
  server: GrpcServer;
  fake: FakeCatalog;
  chaos: FaultInjector;
  metrics: ServiceMetrics;
  address: string;
}

const servers: GrpcServer[] = [];
const clients: { close(): void }[] = [];
const breakerRegistries: BreakerRegistry[] = [];

async function startCatalog(name = 'catalog-a'): Promise<RunningCatalog> {
  const metrics = createMetrics('catalog');
  const chaos = new FaultInjector(metrics);
  const fake = new FakeCatalog(name);
  const server = createGrpcServer({ serviceName: 'catalog', logger, metrics, chaos, host: '127.0.0.1', port: 0 });
  server.addService(catalogV1.CatalogServiceService, fake.implementation());
  const port = await server.start();
  servers.push(server);
  return { server, fake, chaos, metrics, address: `127.0.0.1:${port}` };
}

function catalogClient(
  addresses: string[],
  overrides: Partial<GrpcClientOptions<CatalogService>> = {},
): { client: GrpcClient<CatalogService>; registry: StaticRegistry; metrics: ServiceMetrics } {
  const registry = new StaticRegistry({ catalog: addresses });
  const metrics = createMetrics('order');
  const breakers = new BreakerRegistry();
  breakerRegistries.push(breakers);
  const client = createGrpcClient(
    catalogV1.CatalogServiceClient,
    {
      caller: 'order',
      target: 'catalog',
      registry,
      deadlineMs: 2_000,
      retry: { idempotentMethods: ['getProduct', 'listProducts'], retries: 2, baseDelayMs: 5, maxDelayMs: 20 },
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 150 },
      ...overrides,
    },
    { metrics, breakers, logger },
  );
  clients.push(client);
  return { client, registry, metrics };
}

function shopError(code: string, check?: (err: ShopError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof ShopError, `expected a ShopError, got ${String(err)}`);
    assert.equal(err.code, code);
    check?.(err);
    return true;
  };
}

/** Awaits an event with a bound, so a missing event fails the test instead of hanging it. */
async function event(emitter: EventEmitter, name: string, limitMs = 3_000): Promise<unknown[]> {
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

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const b of breakerRegistries.splice(0)) b.close();
  await Promise.all(servers.splice(0).map((s) => s.shutdown(200)));
});

describe('gRPC server and client over loopback', () => {
  test('health Check answers SERVING, then NOT_SERVING once the service is marked so', async () => {
    const catalog = await startCatalog();
    const breakers = new BreakerRegistry();
    breakerRegistries.push(breakers);
    const health = createGrpcClient(
      healthV1.HealthClient,
      {
        caller: 'order',
        target: 'catalog',
        registry: new StaticRegistry({ catalog: [catalog.address] }),
        deadlineMs: 1_000,
      },
      { metrics: createMetrics('order'), breakers, logger },
    );
    clients.push(health);
    const service = 'catalog.v1.CatalogService';
    assert.equal((await health.call('check', { service: '' })).status, ServingStatus.SERVING);
    assert.equal((await health.call('check', { service })).status, ServingStatus.SERVING);

    catalog.server.setStatus(service, 'NOT_SERVING');
    assert.equal((await health.call('check', { service })).status, ServingStatus.NOT_SERVING);
    assert.deepEqual(await health.call('list', {}), {
      statuses: { '': { status: ServingStatus.SERVING }, [service]: { status: ServingStatus.NOT_SERVING } },
    });
    await assert.rejects(health.call('check', { service: 'nope.v1.Nope' }), shopError('SHOP_NOT_FOUND'));
  });

  test('health Watch streams the current status and every change', async () => {
    const catalog = await startCatalog();
    const raw = new healthV1.HealthClient(catalog.address, grpc.credentials.createInsecure());
    clients.push(raw);
    const stream = raw.watch({ service: 'catalog.v1.CatalogService' });
    const seen: number[] = [];
    const twoUpdates = new Promise<void>((resolve) =>
      stream.on('data', (msg: healthV1.HealthCheckResponse) => {
        seen.push(msg.status);
        if (seen.length === 1) catalog.server.setStatus('catalog.v1.CatalogService', 'NOT_SERVING');
        if (seen.length === 2) resolve();
      }),
    );
    stream.on('error', () => {});
    await twoUpdates;
    stream.cancel();
    assert.deepEqual(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });

  test('a ShopError reaches the client as the same ShopError with its gRPC status and details', async () => {
    const catalog = await startCatalog();
    catalog.fake.on.reserveStock = async () => {
      throw new ShopError('SHOP_OUT_OF_STOCK', 'only 2 left of Crème brûlée', { productId: 'p1', available: 2 });
    };
    const { client, metrics } = catalogClient([catalog.address]);
    await assert.rejects(
      client.call('reserveStock', { idempotencyKey: 'k1', reservationId: 'o1', lines: [] }),
      shopError('SHOP_OUT_OF_STOCK', (err) => {
        assert.equal(err.grpcStatus, GrpcStatus.FAILED_PRECONDITION);
        assert.equal(err.message, 'only 2 left of Crème brûlée');
        assert.deepEqual(err.details, { productId: 'p1', available: 2 });
      }),
    );
    const served = (await catalog.metrics.grpcServerDuration.get()).values.find(
      (v) => v.metricName?.endsWith('_count') && v.labels.method === 'ReserveStock',
    );
    assert.equal(served?.labels.code, 'FAILED_PRECONDITION');
    const made = (await metrics.grpcClientDuration.get()).values.find(
      (v) => v.metricName?.endsWith('_count') && v.labels.method === 'ReserveStock',
    );
    assert.deepEqual(made?.labels, {
      target: 'catalog',
      service: 'catalog.v1.CatalogService',
      method: 'ReserveStock',
      code: 'FAILED_PRECONDITION',
    });
    assert.equal(client.breaker.info().stats.failures, 0, 'a refusal is not a breaker failure');
  });

  test('an unexpected throw arrives as SHOP_INTERNAL without its message', async () => {
    const catalog = await startCatalog();
    catalog.fake.on.getProduct = async () => {
      throw new Error('connect to db with password hunter2 failed');
    };
    const { client } = catalogClient([catalog.address]);
    await assert.rejects(
      client.call('getProduct', { id: 'p1' }),
      shopError('SHOP_INTERNAL', (err) => {
        assert.equal(err.message, 'Internal error');
        assert.doesNotMatch(JSON.stringify({ m: err.message, d: err.details }), /hunter2/);
      }),
    );
    assert.equal(catalog.fake.calls.getProduct, 1, 'INTERNAL is not transient, so it is not retried');
  });

  test('bad input (NUL, a value the database refuses) is INVALID_ARGUMENT: never retried, never a breaker failure', async () => {
    const catalog = await startCatalog();
    const { client } = catalogClient([catalog.address]);
    // The server refuses NUL before any handler runs.
    for (let i = 0; i < 6; i++) {
      await assert.rejects(
        client.call('getProduct', { id: 'p\u00001' }),
        shopError('SHOP_VALIDATION_FAILED', (err) => assert.equal(err.grpcStatus, GrpcStatus.INVALID_ARGUMENT)),
      );
    }
    assert.equal(catalog.fake.calls.getProduct, 0, 'no handler saw the NUL');
    // A value PostgreSQL refuses (here as Prisma reports it) is the caller's mistake too.
    catalog.fake.on.getProduct = async () => {
      throw Object.assign(new Error('invalid byte sequence for encoding "UTF8"'), {
        code: 'P2010',
        meta: { driverAdapterError: { cause: { kind: 'postgres', originalCode: '22021' } } },
      });
    };
    for (let i = 0; i < 6; i++) {
      await assert.rejects(client.call('getProduct', { id: 'p1' }), shopError('SHOP_VALIDATION_FAILED'));
    }
    assert.equal(catalog.fake.calls.getProduct, 6, 'an idempotent read refused as bad input is not retried');
    assert.equal(client.breaker.state, 'closed');
    assert.equal(client.breaker.info().stats.failures, 0);
    catalog.fake.on.getProduct = undefined;
    assert.equal((await client.call('getProduct', { id: 'p1' })).product?.id, 'p1');
  });

  test('a handler whose database cannot be reached answers UNAVAILABLE SHOP_DEPENDENCY_UNAVAILABLE, not INTERNAL', async () => {
    const catalog = await startCatalog();
    const { client } = catalogClient([catalog.address]);
    // A real pg pool pointed at a port where nothing listens: what a service sees when its database is down.
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server as EventEmitter, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const pool = new pg.Pool({ host: '127.0.0.1', port, user: 'nobody', database: 'nowhere', max: 1 });
    try {
      catalog.fake.on.getProduct = async () => {
        await pool.query('select 1');
        throw new Error('unreachable');
      };
      await assert.rejects(
        client.call('getProduct', { id: 'p1' }),
        shopError('SHOP_DEPENDENCY_UNAVAILABLE', (err) => {
          assert.equal(err.grpcStatus, GrpcStatus.UNAVAILABLE);
          assert.match(err.message, /catalog database is unavailable/);
        }),
      );
    } finally {
      await pool.end();
    }
  });

  test('the deadline fires for a slow handler and the handler sees the cancellation', async () => {
    const catalog = await startCatalog();
    let handlerSawAbort!: Promise<void>;
    catalog.fake.on.getProduct = (_req, ctx) => {
      handlerSawAbort = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      return handlerSawAbort.then(() => ({ product: undefined }));
    };
    const { client } = catalogClient([catalog.address]);
    const started = Date.now();
    await assert.rejects(client.call('getProduct', { id: 'p1' }, { deadlineMs: 100 }), shopError('SHOP_TIMEOUT'));
    assert.ok(Date.now() - started < 1_000);
    await handlerSawAbort;
    assert.equal(catalog.fake.calls.getProduct, 1, 'no retry once the deadline is spent');
  });

  test('an idempotent method is retried on UNAVAILABLE and succeeds', async () => {
    const catalog = await startCatalog();
    catalog.fake.on.getProduct = async (req) => {
      if (catalog.fake.calls.getProduct === 1) throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE');
      return { product: catalog.fake.product(req.id) };
    };
    const { client } = catalogClient([catalog.address]);
    const res = await client.call('getProduct', { id: 'p7' });
    assert.equal(res.product?.id, 'p7');
    assert.equal(catalog.fake.calls.getProduct, 2);
  });

  test('a non-idempotent method is not retried', async () => {
    const catalog = await startCatalog();
    catalog.fake.on.reserveStock = async () => {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE');
    };
    const { client } = catalogClient([catalog.address]);
    await assert.rejects(
      client.call('reserveStock', { idempotencyKey: 'k', reservationId: 'o', lines: [] }),
      shopError('SHOP_DEPENDENCY_UNAVAILABLE', (err) => assert.equal(err.grpcStatus, GrpcStatus.UNAVAILABLE)),
    );
    assert.equal(catalog.fake.calls.reserveStock, 1);
  });

  test('an idempotent call fails over from an instance that is down to one that is up', async () => {
    const down = await startCatalog('down');
    const up = await startCatalog('up');
    await down.server.shutdown(100);
    // The breaker counts attempts, so a dead instance that stays listed counts against the
    // target (under Consul its failing check removes it); keep the breaker out of this test.
    const { client } = catalogClient([down.address, up.address], {
      breaker: { volumeThreshold: 100, errorThresholdPercentage: 90, resetTimeoutMs: 150 },
    });
    for (let i = 0; i < 4; i++) assert.equal((await client.call('getProduct', { id: 'p1' })).product?.name, 'up');
  });

  test('the breaker opens after repeated failures and then rejects without calling the server', async () => {
    const catalog = await startCatalog();
    catalog.fake.on.reserveStock = async () => {
      throw new Error('bug');
    };
    const { client } = catalogClient([catalog.address]);
    const reserve = () => client.call('reserveStock', { idempotencyKey: 'k', reservationId: 'o', lines: [] });
    for (let i = 0; i < 3; i++) await assert.rejects(reserve(), shopError('SHOP_INTERNAL'));
    assert.equal(client.breaker.state, 'open');

    const started = Date.now();
    await assert.rejects(reserve(), shopError('SHOP_CIRCUIT_OPEN'));
    assert.ok(Date.now() - started < 50, 'rejected at once');
    assert.equal(catalog.fake.calls.reserveStock, 3, 'the server was not called');

    catalog.fake.on.reserveStock = undefined;
    await event(client.breaker.circuit, 'halfOpen');
    assert.equal((await reserve()).reservation?.id, 'o');
    assert.equal(client.breaker.state, 'closed');
  });

  test('a chaos rule on a method makes that method fail and leaves the others alone', async () => {
    const catalog = await startCatalog();
    catalog.chaos.add({ kind: 'grpc', target: 'catalog.v1.CatalogService/GetProduct', fault: { type: 'fail' } });
    const { client } = catalogClient([catalog.address], { retry: { idempotentMethods: [], retries: 0 } });
    await assert.rejects(
      client.call('getProduct', { id: 'p1' }),
      shopError('SHOP_CHAOS_INJECTED', (err) => assert.equal(err.grpcStatus, GrpcStatus.UNAVAILABLE)),
    );
    assert.equal(catalog.fake.calls.getProduct, 0, 'the fault fired before the handler');
    assert.equal(
      (await client.call('listProducts', { category: '', query: '', limit: 1, cursor: '' })).products.length,
      1,
    );
  });

  test('calls are spread across two instances of a static registry', async () => {
    const a = await startCatalog('catalog-a');
    const b = await startCatalog('catalog-b');
    const { client } = catalogClient([a.address, b.address]);
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push((await client.call('getProduct', { id: 'p1' })).product!.name);
    assert.equal(a.fake.calls.getProduct, 2);
    assert.equal(b.fake.calls.getProduct, 2);
    assert.notEqual(names[0], names[1]);
    assert.deepEqual(client.channels().sort(), [a.address, b.address].sort());
  });

  test('the channel of an instance that leaves the registry is closed', async () => {
    const a = await startCatalog('catalog-a');
    const b = await startCatalog('catalog-b');
    const { client, registry } = catalogClient([a.address, b.address]);
    await client.call('getProduct', { id: 'p1' });
    await client.call('getProduct', { id: 'p1' });
    registry.set('catalog', [b.address]);
    assert.deepEqual(client.channels(), [b.address]);
    assert.equal((await client.call('getProduct', { id: 'p1' })).product?.name, 'catalog-b');
  });

  test('the caller and the idempotency key reach the handler as metadata', async () => {
    const catalog = await startCatalog();
    let seen: Pick<CallContext, 'caller' | 'idempotencyKey' | 'method'> | undefined;
    catalog.fake.on.reserveStock = async (req, ctx) => {
      seen = { caller: ctx.caller, idempotencyKey: ctx.idempotencyKey, method: ctx.method };
      return { reservation: catalog.fake.reservation(req.reservationId) };
    };
    const { client } = catalogClient([catalog.address]);
    await client.call(
      'reserveStock',
      { idempotencyKey: 'order-1:reserve', reservationId: 'order-1', lines: [{ productId: 'p1', quantity: 2 }] },
      { idempotencyKey: 'order-1:reserve' },
    );
    assert.deepEqual(seen, {
      caller: 'order',
      idempotencyKey: 'order-1:reserve',
      method: 'catalog.v1.CatalogService/ReserveStock',
    });
  });

  test('shutdown lets an in-flight call finish and reports NOT_SERVING meanwhile', async () => {
    const catalog = await startCatalog();
    let release!: () => void;
    const entered = new Promise<void>((resolveEntered) => {
      catalog.fake.on.getProduct = async (req) => {
        resolveEntered();
        await new Promise<void>((r) => {
          release = r;
        });
        return { product: catalog.fake.product(req.id) };
      };
    });
    const { client } = catalogClient([catalog.address]);
    const inFlight = client.call('getProduct', { id: 'p1' });
    await entered;
    const stopping = catalog.server.shutdown(2_000);
    assert.equal(catalog.server.inFlight, 1);
    release();
    assert.equal((await inFlight).product?.id, 'p1');
    assert.deepEqual(await stopping, { forced: false });
  });

  test('shutdown cancels calls still running at its bound', async () => {
    const catalog = await startCatalog();
    const entered = new Promise<void>((resolveEntered) => {
      catalog.fake.on.getProduct = () => {
        resolveEntered();
        return new Promise(() => {});
      };
    });
    const { client } = catalogClient([catalog.address], { retry: { idempotentMethods: [], retries: 0 } });
    const hung = client.call('getProduct', { id: 'p1' });
    hung.catch(() => {});
    await entered;
    assert.deepEqual(await catalog.server.shutdown(100), { forced: true });
    await assert.rejects(hung, (err: unknown) => err instanceof ShopError);
  });
});

describe('gRPC client over the Consul registry (against the Consul double)', () => {
  test('the client follows instances as their readiness checks pass and fail', async (t) => {
    const consul = new ConsulDouble();
    await consul.start();
    let ready = true;
    const readiness = http.createServer((_req, res) => void res.writeHead(ready ? 200 : 503).end());
    readiness.listen(0, '127.0.0.1');
    await once(readiness, 'listening');
    const settings = { url: consul.url, logger, blockingWaitMs: 60_000, check: { intervalMs: 50 } };
    const self = new ConsulRegistry(settings);
    const discovery = new ConsulRegistry(settings);
    t.after(async () => {
      self.close();
      discovery.close();
      readiness.closeAllConnections();
      readiness.close();
      await consul.close();
    });

    const catalog = await startCatalog('catalog-a');
    await self.register({
      id: 'catalog-a',
      service: 'catalog',
      address: '127.0.0.1',
      port: (readiness.address() as AddressInfo).port,
      grpcPort: Number(catalog.address.split(':')[1]),
    });
    const listWhere = (predicate: (l: Instance[]) => boolean) =>
      new Promise<void>((resolve) => {
        const unwatch = discovery.watch('catalog', (list) => {
          if (!predicate(list)) return;
          queueMicrotask(() => unwatch());
          resolve();
        });
      });
    await listWhere((l) => l.length === 1);

    const { client } = catalogClient([], { registry: discovery });
    assert.equal((await client.call('getProduct', { id: 'p1' })).product?.name, 'catalog-a');
    assert.deepEqual(client.channels(), [catalog.address]);

    ready = false;
    await listWhere((l) => l.length === 0);
    assert.deepEqual(client.channels(), [], 'the channel of the vanished instance is closed');
    await assert.rejects(
      client.call('reserveStock', { idempotencyKey: 'k', reservationId: 'o', lines: [] }),
      shopError('SHOP_DEPENDENCY_UNAVAILABLE', (err) => assert.match(err.message, /no healthy instance of catalog/)),
    );
  });
});
