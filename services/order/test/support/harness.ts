// The order service under test: a scratch database with the committed migrations, fake cart,
// catalog, user and payment gRPC servers (real grpc-js servers from the chassis, found through
// a StaticRegistry), and buildApp with its real HTTP and gRPC servers. Saga runners are not
// started: a test starts the app's (`app.saga`) or makes its own (`newRunner`).
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  createGrpcClient,
  createGrpcServer,
  createLogger,
  createMetrics,
  createServiceKit,
  createTokenSigner,
  type GrpcServer,
  generateKeyPairSetting,
  loadConfig,
  type ServiceKit,
  ShopError,
  StaticRegistry,
} from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { cartV1, catalogV1, paymentV1, userV1 } from '@shoplab/contracts';
import { type App, buildApp, createSagaRunner } from '../../src/app';
import type { SagaStore } from '../../src/application/ports';
import type { SagaRunner } from '../../src/application/saga-runner';
import { configSchema, type OrderConfig } from '../../src/config';
import { createCartClient } from '../../src/infrastructure/cart.client';
import { createCatalogClient } from '../../src/infrastructure/catalog.client';
import { createPrismaClient, type PrismaClient } from '../../src/infrastructure/database';
import { createPaymentClient } from '../../src/infrastructure/payment.client';
import { createUserClient } from '../../src/infrastructure/user.client';
import { FakeCatalog, FakePayments, FakeUsers } from './participants';

export { FakeCatalog, FakePayments, FakeUsers };

export const ADMIN_TOKEN = 'order-test-admin-token-0123456789';
/** The user service's key pair, made for this run: the test signs user tokens with its private half. */
export const USER_KEYS = generateKeyPairSetting();
const logger = createLogger({ service: 'order-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** cart.v1.CartService with carts set by the test. */
export class FakeCart {
  readonly carts = new Map<string, { lines: { productId: string; quantity: number }[]; version: number }>();
  calls = 0;

  set(userId: string, lines: { productId: string; quantity: number }[]): void {
    const version = (this.carts.get(userId)?.version ?? 0) + 1;
    this.carts.set(userId, { lines, version });
  }

  implementation() {
    return {
      getCart: async (req: cartV1.GetCartRequest): Promise<cartV1.GetCartResponse> => {
        this.calls++;
        const cart = this.carts.get(req.userId);
        if (!cart) throw new ShopError('SHOP_NOT_FOUND', `no cart for ${req.userId}`);
        return {
          cart: {
            userId: req.userId,
            version: cart.version,
            updatedAt: new Date().toISOString(),
            lines: cart.lines.map((l) => ({ ...l, unitPrice: { amount: 1, currency: 'USD' } })),
          },
        };
      },
    };
  }
}

export interface Harness {
  app: App;
  config: OrderConfig;
  prisma: PrismaClient;
  db: ScratchDatabase;
  registry: StaticRegistry;
  cart: FakeCart;
  catalog: FakeCatalog;
  users: FakeUsers;
  payments: FakePayments;
  catalogAddress: string;
  grpcPort: number;
  tokenFor(userId: string): string;
  /**
   * Another saga runner on the same database, as another order instance would run it: its own
   * kit and clients. Its breakers are off (so injected outages never open a circuit for the next
   * test) unless `breaker` gives them thresholds. Stopped by `close`.
   */
  newRunner(options?: {
    store?: (store: SagaStore) => SagaStore;
    config?: Partial<OrderConfig>;
    breaker?: { resetTimeoutMs: number; volumeThreshold: number };
  }): SagaRunner;
  close(): Promise<void>;
}

/** Small deadlines, backoffs and polls so saga tests run in milliseconds. */
export const FAST_SAGA_CONFIG = {
  SAGA_POLL_INTERVAL_MS: '50',
  SAGA_STEP_DEADLINE_MS: '1500',
  SAGA_RETRY_BASE_MS: '10',
  SAGA_RETRY_MAX_MS: '80',
  SAGA_LEASE_MS: '1000',
  USER_DEADLINE_MS: '300',
  PAYMENT_DEADLINE_MS: '300',
} as const;

export async function startHarness(): Promise<Harness> {
  const db = await createScratchDatabase({
    prefix: 'order_test',
    migrationsDir: resolve(__dirname, '../../../prisma/migrations'),
  });
  const servers: GrpcServer[] = [];
  const serve = async (name: string, add: (server: GrpcServer) => void): Promise<string> => {
    const server = createGrpcServer({ serviceName: name, logger, metrics: createMetrics(name), port: 0 });
    add(server);
    servers.push(server);
    return `127.0.0.1:${await server.start()}`;
  };
  const cart = new FakeCart();
  const catalog = new FakeCatalog();
  const users = new FakeUsers();
  const payments = new FakePayments();
  const cartAddress = await serve('cart', (s) => s.addService(cartV1.CartServiceService, cart.implementation()));
  const catalogAddress = await serve('catalog', (s) =>
    s.addService(catalogV1.CatalogServiceService, catalog.implementation()),
  );
  const userAddress = await serve('user', (s) => s.addService(userV1.UserServiceService, users.implementation()));
  const paymentAddress = await serve('payment', (s) =>
    s.addService(paymentV1.PaymentServiceService, payments.implementation()),
  );

  const config = loadConfig(configSchema, {
    ADMIN_TOKEN,
    JWT_PUBLIC_KEY: USER_KEYS.publicKey,
    CARD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DB_NAME: db.settings.database,
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    CART_DEADLINE_MS: '2000',
    CATALOG_DEADLINE_MS: '300',
    ...FAST_SAGA_CONFIG,
  });
  const registry = new StaticRegistry({
    cart: [cartAddress],
    catalog: [catalogAddress],
    user: [userAddress],
    payment: [paymentAddress],
  });
  const kit = createServiceKit(config, { registry });
  const prisma = createPrismaClient({ ...db.settings, maxConnections: 10 });
  const cartClient = createCartClient(kit, config.CART_DEADLINE_MS);
  const catalogClient = createCatalogClient(kit, config.CATALOG_DEADLINE_MS);
  const userClient = createUserClient(kit, config.USER_DEADLINE_MS);
  const paymentClient = createPaymentClient(kit, config.PAYMENT_DEADLINE_MS);
  const app = await buildApp({
    kit,
    prisma,
    cart: cartClient,
    catalog: catalogClient,
    user: userClient,
    payment: paymentClient,
  });
  await app.http.ready();
  const grpcPort = await app.grpc.start();
  const sign = createTokenSigner(USER_KEYS.privateKey);

  const extra: { runner: SagaRunner; kit: ServiceKit; close: () => void }[] = [];
  const newRunner: Harness['newRunner'] = (options = {}) => {
    const runnerConfig = { ...config, ...options.config };
    const runnerKit = createServiceKit(runnerConfig, { registry });
    const { breaker } = options;
    if (!breaker) runnerKit.breakers.setEnabled(false);
    const clients = breaker
      ? breakerClients(runnerKit, runnerConfig, breaker)
      : {
          catalog: createCatalogClient(runnerKit, runnerConfig.CATALOG_DEADLINE_MS),
          user: createUserClient(runnerKit, runnerConfig.USER_DEADLINE_MS),
          payment: createPaymentClient(runnerKit, runnerConfig.PAYMENT_DEADLINE_MS),
        };
    const runner = createSagaRunner({
      kit: runnerKit,
      prisma,
      ...clients,
      ...(options.store ? { wrapStore: options.store } : {}),
      ...(breaker ? { breakerResetMs: breaker.resetTimeoutMs } : {}),
    });
    extra.push({
      runner,
      kit: runnerKit,
      close: () => {
        for (const client of Object.values(clients)) client.close();
        runnerKit.breakers.close();
      },
    });
    return runner;
  };

  return {
    app,
    config,
    prisma,
    db,
    registry,
    cart,
    catalog,
    users,
    payments,
    catalogAddress,
    grpcPort,
    tokenFor: (userId) => sign({ id: userId, email: `${userId}@example.test`, name: userId }),
    newRunner,
    close: async () => {
      await app.saga.stop();
      for (const { runner, close } of extra) {
        await runner.stop();
        close();
      }
      await app.http.close();
      await app.grpc.shutdown(1_000);
      cartClient.close();
      catalogClient.close();
      userClient.close();
      paymentClient.close();
      kit.breakers.close();
      for (const server of servers) await server.shutdown(1_000);
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/**
 * The saga's clients as createCatalogClient & co. make them (no retries of commands), with
 * breakers that open after `volumeThreshold` calls and try again after `resetTimeoutMs`.
 */
function breakerClients(
  kit: ServiceKit<OrderConfig>,
  config: OrderConfig,
  breaker: { resetTimeoutMs: number; volumeThreshold: number },
) {
  const deps = { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger };
  const common = { caller: config.SERVICE_NAME, registry: kit.registry, breaker };
  return {
    catalog: createGrpcClient(
      catalogV1.CatalogServiceClient,
      { ...common, target: 'catalog', deadlineMs: config.CATALOG_DEADLINE_MS },
      deps,
    ),
    user: createGrpcClient(
      userV1.UserServiceClient,
      { ...common, target: 'user', deadlineMs: config.USER_DEADLINE_MS },
      deps,
    ),
    payment: createGrpcClient(
      paymentV1.PaymentServiceClient,
      { ...common, target: 'payment', deadlineMs: config.PAYMENT_DEADLINE_MS },
      deps,
    ),
  };
}

/** A fresh user id, so tests never see each other's orders. */
export function newUserId(): string {
  return `user-${randomUUID().slice(0, 8)}`;
}

export const VISA = { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2099, cvc: '987' };
