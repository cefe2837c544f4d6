// Fake downstreams for the gateway's integration tests: for each service a real gRPC server
// (the chassis createGrpcServer implementing the generated definition) and a real HTTP
// server (the chassis createHttpApp: problem+json, /readyz, /admin/chaos), sharing one
// FaultInjector, so a fault added through the gateway's admin API reaches the fake's gRPC
// methods. All state is in memory and reset by each test file.

import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  createGrpcServer,
  createHttpApp,
  createLogger,
  createMetrics,
  createServiceKit,
  createTokenSigner,
  createTokenVerifier,
  FaultInjector,
  type GrpcServer,
  generateKeyPairSetting,
  type HttpApp,
  loadConfig,
  requireUser,
  type ServiceKit,
  ShopError,
  StaticRegistry,
} from '@shoplab/chassis';
import { cartV1, catalogV1, orderV1, paymentV1, shippingV1, userV1 } from '@shoplab/contracts';
import { z } from 'zod';
import { buildApp } from '../../src/app';
import type { Downstreams } from '../../src/application/ports';
import { configSchema, type GatewayConfig } from '../../src/config';
import { createDownstreams } from '../../src/infrastructure/downstreams';

/** The user service's key pair, made for this run: the test signs user tokens with its private half. */
export const USER_KEYS = generateKeyPairSetting();
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
const signer = createTokenSigner(USER_KEYS.privateKey);
const verify = createTokenVerifier(USER_KEYS.publicKey);

/** A valid user token, as the user service would sign it. */
export function tokenFor(userId: string): string {
  return signer({ id: userId, email: `${userId}@example.com`, name: userId });
}

export const bearer = (userId: string) => ({ authorization: `Bearer ${tokenFor(userId)}` });
export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

const usd = (amount: number) => ({ amount, currency: 'USD' });

export function product(id: string, overrides: Partial<catalogV1.Product> = {}): catalogV1.Product {
  return {
    id,
    sku: `SKU-${id}`,
    name: `Product ${id}`,
    description: `About ${id}`,
    category: 'books',
    price: usd(1999),
    available: 10,
    imageUrl: `https://img.example/${id}.png`,
    ...overrides,
  };
}

export function order(id: string, userId: string, overrides: Partial<orderV1.Order> = {}): orderV1.Order {
  return {
    id,
    userId,
    status: orderV1.OrderStatus.ORDER_STATUS_PENDING,
    lines: [{ productId: 'p1', name: 'Product p1', quantity: 2, unitPrice: usd(1999), lineTotal: usd(3998) }],
    total: usd(3998),
    cancelReason: '',
    paymentId: '',
    timeline: [],
    createdAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T10:00:00.000Z',
    ...overrides,
  };
}

export function step(name: string, outcome = 'SUCCEEDED', attempt = 1): orderV1.SagaStep {
  return {
    kind: 'step',
    step: name,
    attempt,
    outcome,
    error: '',
    traceId: '',
    startedAt: '2026-11-27T10:00:01.000Z',
    finishedAt: '2026-11-27T10:00:02.000Z',
    lamport: 0,
    hlc: '',
  };
}

/** A payment event on an order's timeline, as the order service sends it. */
export function paymentEventEntry(type: string, traceId = ''): orderV1.SagaStep {
  return {
    kind: 'event',
    step: type,
    attempt: 1,
    outcome: 'RECEIVED',
    error: '',
    traceId,
    startedAt: '2026-11-27T10:00:01.500Z',
    finishedAt: '2026-11-27T10:00:01.600Z',
    lamport: 0,
    hlc: '',
  };
}

interface StoredLine {
  productId: string;
  quantity: number;
  unitPrice: { amount: number; currency: string };
}

/** What the fakes know; tests arrange it directly. */
export class FakeState {
  products = new Map<string, catalogV1.Product>();
  users = new Map<string, userV1.User>();
  passwords = new Map<string, { userId: string; password: string }>();
  carts = new Map<string, { lines: StoredLine[]; version: number }>();
  orders = new Map<string, orderV1.Order>();
  payments = new Map<string, paymentV1.Payment>();
  /** Shipments by order id. */
  shipments = new Map<string, shippingV1.Shipment>();
  checkouts = new Map<string, string>();
  /** When set, the order service sheds every checkout (503 SHOP_BULKHEAD_FULL with this Retry-After). */
  shedCheckoutsFor: number | undefined;
  /** The headers of each checkout the order service received. */
  checkoutHeaders: Record<string, string | string[] | undefined>[] = [];
  /** The client address the gateway named with each login (x-shop-client-address). */
  loginAddresses: (string | string[] | undefined)[] = [];
  /** When set, the order service answers checkouts only once this settles. */
  checkoutGate: Promise<void> | undefined;
  /** Called before GetOrder answers: lets a test move an order along its saga. */
  onGetOrder: ((order: orderV1.Order, call: number) => void) | undefined;
  getOrderCalls = 0;
  /** WatchOrder calls received, and those still open. */
  watchOrderCalls = 0;
  openWatches = 0;
  /** Last user_id each gRPC read was called with, to check the gateway passes the caller's. */
  seenUserIds: string[] = [];

  reset(): void {
    this.products.clear();
    this.users.clear();
    this.passwords.clear();
    this.carts.clear();
    this.orders.clear();
    this.payments.clear();
    this.shipments.clear();
    this.checkouts.clear();
    this.shedCheckoutsFor = undefined;
    this.checkoutHeaders = [];
    this.loginAddresses = [];
    this.checkoutGate = undefined;
    this.onGetOrder = undefined;
    this.getOrderCalls = 0;
    this.watchOrderCalls = 0;
    this.seenUserIds = [];
  }
}

export interface FakeService {
  name: string;
  chaos: FaultInjector;
  http: HttpApp;
  grpc: GrpcServer;
  httpAddress: string;
  grpcAddress: string;
}

const notFound = (what: string) => new ShopError('SHOP_NOT_FOUND', `No ${what}`);

async function fakeService(
  name: string,
  setup: { grpc: (server: GrpcServer) => void; http?: (app: HttpApp) => void },
): Promise<FakeService> {
  const logger = createLogger({ service: `fake-${name}`, level: 'silent' });
  const metrics = createMetrics(`fake-${name}`);
  const chaos = new FaultInjector(metrics);
  const http = await createHttpApp({
    service: name,
    version: '0.0.0',
    logger,
    metrics,
    chaos,
    adminToken: ADMIN_TOKEN,
  });
  setup.http?.(http);
  await http.listen({ host: '127.0.0.1', port: 0 });
  const grpc = createGrpcServer({ serviceName: name, logger, metrics, chaos, host: '127.0.0.1', port: 0 });
  setup.grpc(grpc);
  const grpcPort = await grpc.start();
  return {
    name,
    chaos,
    http,
    grpc,
    httpAddress: `127.0.0.1:${(http.server.address() as AddressInfo).port}`,
    grpcAddress: `127.0.0.1:${grpcPort}`,
  };
}

const unused = async () => {
  throw new ShopError('SHOP_BAD_REQUEST', 'not used by the gateway');
};

export interface World {
  state: FakeState;
  services: Record<'user' | 'catalog' | 'cart' | 'payment' | 'shipping' | 'order', FakeService>;
  grpcAddresses: Record<string, string[]>;
  httpAddresses: Record<string, string[]>;
  clearFaults(): void;
  close(): Promise<void>;
}

/** Starts the six fake downstreams. */
export async function startWorld(): Promise<World> {
  const state = new FakeState();

  const catalog = await fakeService('catalog', {
    grpc: (server) =>
      server.addService(catalogV1.CatalogServiceService, {
        getProduct: async (req) => {
          const p = state.products.get(req.id);
          if (!p) throw notFound(`product ${req.id}`);
          return { product: p };
        },
        batchGetProducts: async (req) => ({
          products: req.ids.flatMap((id) => state.products.get(id) ?? []),
          missingIds: req.ids.filter((id) => !state.products.has(id)),
        }),
        listProducts: async (req) => {
          const all = [...state.products.values()].filter(
            (p) => (!req.category || p.category === req.category) && (!req.query || p.name.includes(req.query)),
          );
          const start = req.cursor ? Number(req.cursor) : 0;
          const page = all.slice(start, start + (req.limit || 20));
          const next = start + page.length < all.length ? String(start + page.length) : '';
          return { products: page, nextCursor: next };
        },
        reserveStock: unused,
        commitStock: unused,
        releaseStock: unused,
        restockCommitted: unused,
        prepareReserveStock: unused,
        finishPrepared: unused,
      }),
  });

  const user = await fakeService('user', {
    grpc: (server) =>
      server.addService(userV1.UserServiceService, {
        getUser: async (req) => {
          const u = state.users.get(req.id);
          if (!u) throw notFound(`user ${req.id}`);
          return { user: u };
        },
        validateAddress: unused,
      }),
    http: (app) => {
      app.post(
        '/v1/auth/register',
        { schema: { body: z.object({ email: z.string(), password: z.string().min(8), name: z.string() }) } },
        async (request, reply) => {
          const { email, password, name } = request.body;
          if (state.passwords.has(email)) {
            throw new ShopError('SHOP_ALREADY_EXISTS', `An account for ${email} exists`, { email });
          }
          const id = `u-${state.passwords.size + 1}`;
          const createdAt = new Date().toISOString();
          state.passwords.set(email, { userId: id, password });
          state.users.set(id, { id, email, name, addresses: [], createdAt });
          return reply.code(201).send({ user: { id, email, name, createdAt }, token: tokenFor(id) });
        },
      );
      app.post(
        '/v1/auth/login',
        { schema: { body: z.object({ email: z.string(), password: z.string() }) } },
        async (request) => {
          state.loginAddresses.push(request.headers['x-shop-client-address']);
          const entry = state.passwords.get(request.body.email);
          if (!entry || entry.password !== request.body.password) throw new ShopError('SHOP_INVALID_CREDENTIALS');
          return { token: tokenFor(entry.userId) };
        },
      );
    },
  });

  const cartOf = (userId: string) => {
    const c = state.carts.get(userId) ?? { lines: [], version: 0 };
    state.carts.set(userId, c);
    return c;
  };
  const cartBody = (userId: string) => {
    const c = cartOf(userId);
    return { userId, lines: c.lines, version: c.version, updatedAt: '2026-11-27T10:00:00.000Z' };
  };
  const cart = await fakeService('cart', {
    grpc: (server) =>
      server.addService(cartV1.CartServiceService, {
        getCart: async (req) => {
          state.seenUserIds.push(req.userId);
          return { cart: cartBody(req.userId) };
        },
      }),
    http: (app) => {
      app.register(async (scope: HttpApp) => {
        scope.addHook('preHandler', requireUser(verify));
        scope.get('/v1/cart', async (request) => cartBody(request.user!.id));
        scope.post(
          '/v1/cart/items',
          { schema: { body: z.object({ productId: z.string(), quantity: z.number().int().positive() }) } },
          async (request, reply) => {
            const p = state.products.get(request.body.productId);
            if (!p) throw notFound(`product ${request.body.productId}`);
            const c = cartOf(request.user!.id);
            const line = c.lines.find((l) => l.productId === p.id);
            if (line) line.quantity += request.body.quantity;
            else c.lines.push({ productId: p.id, quantity: request.body.quantity, unitPrice: p.price! });
            c.version++;
            return reply.code(201).send(cartBody(request.user!.id));
          },
        );
        scope.patch(
          '/v1/cart/items/:productId',
          { schema: { params: z.object({ productId: z.string() }), body: z.object({ quantity: z.number().int() }) } },
          async (request) => {
            const c = cartOf(request.user!.id);
            const line = c.lines.find((l) => l.productId === request.params.productId);
            if (!line) throw notFound(`line ${request.params.productId}`);
            line.quantity = request.body.quantity;
            c.version++;
            return cartBody(request.user!.id);
          },
        );
        scope.delete(
          '/v1/cart/items/:productId',
          { schema: { params: z.object({ productId: z.string() }) } },
          async (request, reply) => {
            const c = cartOf(request.user!.id);
            c.lines = c.lines.filter((l) => l.productId !== request.params.productId);
            c.version++;
            // Answers without a body: the gateway reads the cart itself.
            return reply.code(204).send();
          },
        );
      });
    },
  });

  const payment = await fakeService('payment', {
    grpc: (server) =>
      server.addService(paymentV1.PaymentServiceService, {
        getPayment: async (req) => {
          const p = state.payments.get(req.orderId);
          if (!p) throw notFound(`payment of order ${req.orderId}`);
          return { payment: p };
        },
        authorize: unused,
        capture: unused,
        void: unused,
        refund: unused,
        prepareAuthorize: unused,
        finishPrepared: unused,
      }),
  });

  const shipping = await fakeService('shipping', {
    grpc: (server) =>
      server.addService(shippingV1.ShippingServiceService, {
        trackShipment: async (req) => {
          const s = state.shipments.get(req.orderId);
          if (!s) throw notFound(`shipment of order ${req.orderId}`);
          return { shipment: s };
        },
        quote: unused,
        createShipment: unused,
        cancelShipment: unused,
      }),
  });

  const orderService = await fakeService('order', {
    grpc: (server) =>
      server.addService(orderV1.OrderServiceService, {
        getOrder: async (req) => {
          state.seenUserIds.push(req.userId);
          const o = state.orders.get(req.id);
          // Another user's order does not exist, as far as the caller can tell.
          if (!o || o.userId !== req.userId) throw notFound(`order ${req.id}`);
          state.onGetOrder?.(o, ++state.getOrderCalls);
          return { order: o };
        },
        getTwoPhaseDecision: unused,
        // Like order's WatchOrder: the order, then again each time it changed. The fake has no
        // saga to hear from, so it reads its state every 10 ms (each read is a GetOrder for onGetOrder).
        watchOrder: (async (call: grpc.ServerWritableStream<orderV1.WatchOrderRequest, orderV1.WatchOrderResponse>) => {
          state.watchOrderCalls++;
          state.openWatches++;
          let open = true;
          call.on('cancelled', () => {
            open = false;
          });
          try {
            let last = '';
            while (open) {
              const o = state.orders.get(call.request.id);
              if (!o || o.userId !== call.request.userId) {
                call.emit('error', { code: grpc.status.NOT_FOUND, details: `order ${call.request.id}` });
                return;
              }
              state.onGetOrder?.(o, ++state.getOrderCalls);
              const now = JSON.stringify(orderV1.Order.toJSON(o));
              if (now !== last) {
                last = now;
                call.write({ order: orderV1.Order.fromJSON(JSON.parse(now)) });
              }
              if (
                o.status === orderV1.OrderStatus.ORDER_STATUS_CONFIRMED ||
                o.status === orderV1.OrderStatus.ORDER_STATUS_CANCELLED
              ) {
                call.end();
                return;
              }
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
          } finally {
            state.openWatches--;
          }
        }) as grpc.UntypedHandleCall,
        listOrders: async (req) => {
          state.seenUserIds.push(req.userId);
          const mine = [...state.orders.values()].filter((o) => o.userId === req.userId);
          return { orders: mine.slice(0, req.limit || 20), nextCursor: '' };
        },
      }),
    http: (app) => {
      app.register(async (scope: HttpApp) => {
        scope.addHook('preHandler', requireUser(verify));
        scope.post(
          '/v1/checkout',
          {
            schema: {
              headers: z.looseObject({ 'idempotency-key': z.string() }),
              body: z.object({ card: z.object({ number: z.string() }).loose() }).loose(),
            },
          },
          async (request, reply) => {
            state.checkoutHeaders.push({ ...request.headers });
            await state.checkoutGate;
            if (state.shedCheckoutsFor !== undefined) {
              reply.header('retry-after', String(state.shedCheckoutsFor));
              throw new ShopError('SHOP_BULKHEAD_FULL', 'Checkout is busy', {
                retryAfterSeconds: state.shedCheckoutsFor,
                reason: 'deadline',
              });
            }
            const key = `${request.user!.id}:${request.headers['idempotency-key']}`;
            const c = state.carts.get(request.user!.id);
            if (!c || c.lines.length === 0) throw new ShopError('SHOP_CART_EMPTY');
            let id = state.checkouts.get(key);
            if (!id) {
              id = `o-${state.orders.size + 1}`;
              state.checkouts.set(key, id);
              state.orders.set(id, order(id, request.user!.id));
            }
            return reply
              .code(202)
              .header('location', `/v1/orders/${id}`)
              .send({ orderId: id, status: 'PENDING', links: { self: `/v1/orders/${id}` } });
          },
        );
      });
    },
  });

  const services = { user, catalog, cart, payment, shipping, order: orderService };
  const list = Object.values(services);
  return {
    state,
    services,
    grpcAddresses: Object.fromEntries(list.map((s) => [s.name, [s.grpcAddress]])),
    httpAddresses: Object.fromEntries(list.map((s) => [s.name, [s.httpAddress]])),
    clearFaults: () => {
      for (const s of list) s.chaos.clear();
    },
    close: async () => {
      for (const s of list) {
        s.chaos.clear();
        await s.grpc.shutdown(1_000);
        // A request the gateway gave up on may still be held by an injected latency: do not wait for it.
        const closing = s.http.close();
        s.http.server.closeAllConnections();
        await closing;
      }
    },
  };
}

export interface Gateway {
  app: HttpApp;
  kit: ServiceKit<GatewayConfig>;
  downstreams: Downstreams;
  /** gRPC addresses the gateway dials; `set()` one to a dead address to "stop" a service. */
  registry: StaticRegistry;
  /** HTTP addresses of the downstreams. */
  httpRegistry: StaticRegistry;
  close(): Promise<void>;
}

/** A gateway wired to the fakes, with short deadlines; `env` overrides any setting. */
export async function startGateway(
  world: World,
  env: Record<string, string> = {},
  options: { breaker?: { volumeThreshold?: number; errorThresholdPercentage?: number; resetTimeoutMs?: number } } = {},
): Promise<Gateway> {
  const config = loadConfig(configSchema, {
    JWT_PUBLIC_KEY: USER_KEYS.publicKey,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    HTTP_PORT: '0',
    CATALOG_DEADLINE_MS: '400',
    PAYMENT_DEADLINE_MS: '400',
    ORDER_DEADLINE_MS: '400',
    USER_DEADLINE_MS: '400',
    CART_DEADLINE_MS: '400',
    ORDER_EVENTS_POLL_MS: '20',
    ...env,
  });
  const registry = new StaticRegistry(world.grpcAddresses);
  const httpRegistry = new StaticRegistry(world.httpAddresses);
  const kit = createServiceKit(config, { registry });
  const downstreams = createDownstreams(kit, {
    httpRegistry,
    // Breakers that do not open unless a test asks for it: tests stay independent.
    breaker: options.breaker ?? { volumeThreshold: 10_000 },
  });
  const { http } = await buildApp({ kit, downstreams });
  await http.ready();
  return {
    app: http,
    kit,
    downstreams,
    registry,
    httpRegistry,
    close: async () => {
      await http.close();
      downstreams.close();
      kit.breakers.close();
    },
  };
}

/** An address where nothing listens: connections are refused. */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

export { usd };
