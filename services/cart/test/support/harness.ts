// A cart service on a scratch database, a fake CatalogService it calls over real gRPC, and
// helpers to sign user tokens.
import { join } from 'node:path';
import {
  BreakerRegistry,
  type CallContext,
  createGrpcClient,
  createGrpcServer,
  createLogger,
  createMetrics,
  createPrismaAdapter,
  createServiceKit,
  createTokenSigner,
  type GrpcClient,
  type GrpcServer,
  generateKeyPairSetting,
  loadConfig,
  StaticRegistry,
} from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { cartV1, catalogV1 } from '@shoplab/contracts';
import pg from 'pg';
import { buildApp, type CartApp } from '../../src/app';
import { configSchema } from '../../src/config';
import { PrismaClient } from '../../src/generated/prisma/client';
import { type CatalogClient, createCatalogClient, GrpcProductCatalog } from '../../src/infrastructure/catalog.client';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** The user service's key pair, made for this run: the test signs user tokens with its private half. */
export const USER_KEYS = generateKeyPairSetting();
const migrationsDir = join(__dirname, '../../../prisma/migrations');
const logger = createLogger({ service: 'cart-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** An in-test CatalogService over real gRPC: products with a price and available stock. */
export class FakeCatalog {
  readonly products = new Map<string, { price: number; available: number }>();
  batchCalls = 0;
  /** Answer this much later (a slow catalog). */
  delayMs = 0;
  private server: GrpcServer | undefined;
  address = '';

  set(id: string, price: number, available: number): this {
    this.products.set(id, { price, available });
    return this;
  }

  private product(id: string): catalogV1.Product | undefined {
    const p = this.products.get(id);
    if (!p) return undefined;
    return {
      id,
      sku: `SKU-${id}`,
      name: `Product ${id}`,
      description: '',
      category: 'test',
      price: { amount: p.price, currency: 'USD' },
      available: p.available,
      imageUrl: '',
    };
  }

  async start(): Promise<string> {
    const unimplemented = async (_req: unknown, _ctx: CallContext): Promise<never> => {
      throw new ShopError('SHOP_INTERNAL', 'not used by the cart');
    };
    const server = createGrpcServer({ serviceName: 'catalog', logger, metrics: createMetrics('catalog'), port: 0 });
    server.addService(catalogV1.CatalogServiceService, {
      batchGetProducts: async (req) => {
        this.batchCalls++;
        if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
        const products = req.ids.map((id) => this.product(id)).filter((p) => p !== undefined);
        return { products, missingIds: req.ids.filter((id) => !this.products.has(id)) };
      },
      getProduct: unimplemented,
      listProducts: unimplemented,
      reserveStock: unimplemented,
      commitStock: unimplemented,
      releaseStock: unimplemented,
      restockCommitted: unimplemented,
      prepareReserveStock: unimplemented,
      finishPrepared: unimplemented,
    });
    const port = await server.start();
    this.server = server;
    this.address = `127.0.0.1:${port}`;
    return this.address;
  }

  /** Stops the server: the catalog is down. */
  async stop(): Promise<void> {
    await this.server?.shutdown(100);
    this.server = undefined;
  }
}

export interface RunningCart {
  app: CartApp;
  catalog: FakeCatalog;
  catalogClient: CatalogClient;
  cartClient: GrpcClient<typeof cartV1.CartServiceService>;
  db: ScratchDatabase;
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export async function startCart(options: { eventsTopic?: string } = {}): Promise<RunningCart> {
  const db = await createScratchDatabase({ prefix: 'cart_test', migrationsDir });
  const prisma = new PrismaClient({ adapter: createPrismaAdapter(db.settings) });
  const pool = new pg.Pool({ ...db.settings, max: 4 });
  const catalog = new FakeCatalog();
  const catalogAddress = await catalog.start();
  const config = loadConfig(configSchema, {
    ADMIN_TOKEN,
    JWT_PUBLIC_KEY: USER_KEYS.publicKey,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    CATALOG_DEADLINE_MS: '800',
    OTEL_SDK_DISABLED: 'true',
  });
  const kit = createServiceKit(config, { registry: new StaticRegistry({ catalog: [catalogAddress] }) });
  const catalogClient = createCatalogClient(kit, { deadlineMs: config.CATALOG_DEADLINE_MS, retries: 2 });
  const app = await buildApp({
    kit,
    prisma,
    catalog: new GrpcProductCatalog(catalogClient),
    ...(options.eventsTopic ? { eventsTopic: options.eventsTopic } : {}),
  });
  const grpcPort = await app.grpc.start();
  const breakers = new BreakerRegistry();
  const cartClient = createGrpcClient(
    cartV1.CartServiceClient,
    {
      caller: 'order',
      target: 'cart',
      registry: new StaticRegistry({ cart: [`127.0.0.1:${grpcPort}`] }),
      deadlineMs: 5_000,
    },
    { metrics: createMetrics('order'), breakers, logger },
  );
  return {
    app,
    catalog,
    catalogClient,
    cartClient,
    db,
    prisma,
    pool,
    close: async () => {
      cartClient.close();
      breakers.close();
      catalogClient.close();
      kit.breakers.close();
      await app.grpc.shutdown(1_000);
      await app.http.close();
      await catalog.stop();
      await prisma.$disconnect();
      await pool.end();
      await db.drop();
    },
  };
}

const sign = createTokenSigner(USER_KEYS.privateKey);

/** `Authorization` headers of a signed-in user. */
export function userHeaders(userId: string): { authorization: string } {
  return { authorization: `Bearer ${sign({ id: userId, email: `${userId}@example.test`, name: userId })}` };
}
