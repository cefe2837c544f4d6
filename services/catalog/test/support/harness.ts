// A catalog on a scratch database: the app as main.ts builds it (no listening on fixed
// ports), a real gRPC client through the chassis, and the checks every test ends with.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import {
  BreakerRegistry,
  createGrpcClient,
  createLogger,
  createMetrics,
  createServiceKit,
  type DatabaseSettings,
  type GrpcClient,
  loadConfig,
  StaticRegistry,
} from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { catalogV1 } from '@shoplab/contracts';
import pg from 'pg';
import { buildApp, type CatalogApp } from '../../src/app';
import { configSchema } from '../../src/config';
import { type CatalogPrisma, createCatalogPrisma } from '../../src/infrastructure/database';
import { seedCatalog } from '../../src/infrastructure/seed';

export const ADMIN_TOKEN = 'catalog-test-admin-token-0123';
export const MIGRATIONS_DIR = resolve(__dirname, '../../../prisma/migrations');

export type CatalogClient = GrpcClient<typeof catalogV1.CatalogServiceService>;

export interface TestCatalog {
  app: CatalogApp;
  database: DatabaseSettings;
  prisma: CatalogPrisma;
  /** A plain pg pool on the same database, for assertions. */
  sql: pg.Pool;
  client: CatalogClient;
  grpcAddress: string;
  close(): Promise<void>;
}

export async function startTestCatalog(prefix: string): Promise<TestCatalog> {
  const db: ScratchDatabase = await createScratchDatabase({ prefix, migrationsDir: MIGRATIONS_DIR });
  const config = loadConfig(configSchema, {
    ADMIN_TOKEN,
    DB_NAME: db.settings.database,
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: process.env.CATALOG_TEST_LOG_LEVEL ?? 'silent',
    OTEL_SDK_DISABLED: 'true',
    DB_POOL_MAX: '10',
    // The concurrency tests queue 1 000 stock commands on these 10 connections: on a loaded
    // machine the last ones wait longer than the default 10 s. The tests check what the commands
    // do (never oversell, once per key), not how soon they get a connection.
    STOCK_TX_MAX_WAIT_MS: '120000',
  });
  const kit = createServiceKit(config, { registry: new StaticRegistry() });
  const prisma = createCatalogPrisma({ ...db.settings, maxConnections: config.DB_POOL_MAX });
  await seedCatalog(prisma);
  const app = await buildApp({ kit, prisma });
  await app.http.ready();
  const port = await app.grpc.start();
  const grpcAddress = `127.0.0.1:${port}`;
  const breakers = new BreakerRegistry();
  const client = createGrpcClient(
    catalogV1.CatalogServiceClient,
    {
      caller: 'catalog-test',
      target: 'catalog',
      registry: new StaticRegistry({ catalog: [grpcAddress] }),
      deadlineMs: 30_000,
    },
    {
      metrics: createMetrics('catalog-test'),
      breakers,
      logger: createLogger({ service: 'catalog-test', level: 'silent' }),
    },
  );
  const sql = new pg.Pool({ ...db.settings, max: 3 });
  return {
    app,
    database: db.settings,
    prisma,
    sql,
    client,
    grpcAddress,
    close: async () => {
      client.close();
      breakers.close();
      await app.grpc.shutdown(1_000);
      await app.http.close();
      await prisma.$disconnect();
      await sql.end();
      await db.drop();
    },
  };
}

/** Adds a product with `stock` units, for tests that need exact numbers. */
export async function addProduct(sql: pg.Pool, id: string, stock: number, category = 'test'): Promise<void> {
  await sql.query(
    `INSERT INTO products (id, sku, name, description, category, price_amount, image_url)
     VALUES ($1, $2, $3, 'A product made for one test', $4, 1000, '')`,
    [id, `SKU-${id}`, `Test product ${id}`, category],
  );
  await sql.query('INSERT INTO stock (product_id, initial, available) VALUES ($1, $2, $2)', [id, stock]);
}

export interface Counters {
  initial: number;
  available: number;
  reserved: number;
  sold: number;
}

export async function stockOf(sql: pg.Pool, productId: string): Promise<Counters> {
  const { rows } = await sql.query<Counters>(
    'SELECT initial, available, reserved, sold FROM stock WHERE product_id = $1',
    [productId],
  );
  assert.ok(rows[0], `no stock row for ${productId}`);
  return rows[0];
}

/**
 * The audit's invariant 4, and more: per product, initial = available + reserved + sold with none
 * negative, and `reserved`/`sold` equal the units of RESERVED/COMMITTED reservations — so no
 * command ever moved stock twice or lost a unit.
 */
export async function assertStockInvariant(sql: pg.Pool): Promise<void> {
  const { rows } = await sql.query<{ product_id: string }>(
    `SELECT s.product_id
       FROM stock s
       LEFT JOIN (
         SELECT l.product_id,
                sum(l.quantity) FILTER (WHERE r.status = 'RESERVED')  AS reserved,
                sum(l.quantity) FILTER (WHERE r.status = 'COMMITTED') AS sold
           FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
          GROUP BY l.product_id
       ) held ON held.product_id = s.product_id
      WHERE s.initial <> s.available + s.reserved + s.sold
         OR s.available < 0 OR s.reserved < 0 OR s.sold < 0
         OR s.reserved <> coalesce(held.reserved, 0)
         OR s.sold <> coalesce(held.sold, 0)`,
  );
  assert.deepEqual(
    rows.map((r) => r.product_id),
    [],
    'stock counters disagree with the invariant or the reservations',
  );
}

export interface OutboxRow {
  event_type: string;
  aggregate_type: string;
  aggregate_id: string;
  topic: string;
  payload: { reservationId: string; lines: { productId: string; quantity: number }[] };
}

export async function outboxFor(sql: pg.Pool, reservationId: string): Promise<OutboxRow[]> {
  const { rows } = await sql.query<OutboxRow>(
    'SELECT event_type, aggregate_type, aggregate_id, topic, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id',
    [reservationId],
  );
  return rows;
}
