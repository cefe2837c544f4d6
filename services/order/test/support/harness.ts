// The order service under test: a scratch database with the committed migrations, fake cart
// and catalog gRPC servers (real grpc-js servers from the chassis, found through a
// StaticRegistry), and buildApp with its real HTTP and gRPC servers.
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type CallContext,
  createGrpcServer,
  createLogger,
  createMetrics,
  createServiceKit,
  createTokenSigner,
  type GrpcServer,
  loadConfig,
  ShopError,
  StaticRegistry,
} from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { cartV1, catalogV1 } from '@shoplab/contracts';
import { type App, buildApp } from '../../src/app';
import { configSchema, type OrderConfig } from '../../src/config';
import { createCartClient } from '../../src/infrastructure/cart.client';
import { createCatalogClient } from '../../src/infrastructure/catalog.client';
import { createPrismaClient, type PrismaClient } from '../../src/infrastructure/database';

export const ADMIN_TOKEN = 'order-test-admin-token-0123456789';
export const JWT_SECRET = 'order-test-jwt-secret-0123456789';
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

/** catalog.v1.CatalogService with products set by the test; only the reads checkout uses. */
export class FakeCatalog {
  readonly products = new Map<string, { name: string; price: number }>();
  calls = 0;

  implementation() {
    const refuse = async (_req: unknown, ctx: CallContext): Promise<never> => {
      throw new ShopError('SHOP_BAD_REQUEST', `the fake catalog does not implement ${ctx.method}`);
    };
    const product = (id: string): catalogV1.Product | undefined => {
      const p = this.products.get(id);
      return p
        ? {
            id,
            sku: `SKU-${id}`,
            name: p.name,
            description: '',
            category: 'test',
            price: { amount: p.price, currency: 'USD' },
            available: 100,
            imageUrl: '',
          }
        : undefined;
    };
    return {
      batchGetProducts: async (req: catalogV1.BatchGetProductsRequest): Promise<catalogV1.BatchGetProductsResponse> => {
        this.calls++;
        const products = req.ids.map(product).filter((p): p is catalogV1.Product => p !== undefined);
        return { products, missingIds: req.ids.filter((id) => !this.products.has(id)) };
      },
      getProduct: refuse,
      listProducts: refuse,
      reserveStock: refuse,
      commitStock: refuse,
      releaseStock: refuse,
      restockCommitted: refuse,
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
  catalogAddress: string;
  grpcPort: number;
  tokenFor(userId: string): string;
  close(): Promise<void>;
}

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
  const cartAddress = await serve('cart', (s) => s.addService(cartV1.CartServiceService, cart.implementation()));
  const catalogAddress = await serve('catalog', (s) =>
    s.addService(catalogV1.CatalogServiceService, catalog.implementation()),
  );

  const config = loadConfig(configSchema, {
    ADMIN_TOKEN,
    JWT_SECRET,
    CARD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DB_NAME: db.settings.database,
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    CART_DEADLINE_MS: '2000',
    CATALOG_DEADLINE_MS: '2000',
  });
  const registry = new StaticRegistry({ cart: [cartAddress], catalog: [catalogAddress] });
  const kit = createServiceKit(config, { registry });
  const prisma = createPrismaClient({ ...db.settings, maxConnections: 5 });
  const cartClient = createCartClient(kit, config.CART_DEADLINE_MS);
  const catalogClient = createCatalogClient(kit, config.CATALOG_DEADLINE_MS);
  const app = await buildApp({ kit, prisma, cart: cartClient, catalog: catalogClient });
  await app.http.ready();
  const grpcPort = await app.grpc.start();
  const sign = createTokenSigner(JWT_SECRET);

  return {
    app,
    config,
    prisma,
    db,
    registry,
    cart,
    catalog,
    catalogAddress,
    grpcPort,
    tokenFor: (userId) => sign({ id: userId, email: `${userId}@example.test`, name: userId }),
    close: async () => {
      await app.http.close();
      await app.grpc.shutdown(1_000);
      cartClient.close();
      catalogClient.close();
      kit.breakers.close();
      for (const server of servers) await server.shutdown(1_000);
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/** A fresh user id, so tests never see each other's orders. */
export function newUserId(): string {
  return `user-${randomUUID().slice(0, 8)}`;
}

export const VISA = { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2099, cvc: '987' };
