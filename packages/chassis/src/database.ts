// A service's database, wired once: the discrete settings from its DB_* config, its Prisma
// client (through the chassis' driver adapter), the outbox relay's own small pg pool, and the
// two as `pools` for startService. Also the one mapping of database failures to ShopErrors.
import pg from 'pg';
import type { databaseConfigSchema } from './config';
import { createPrismaAdapter, type DatabaseSettings, type OfflinePrismaPg, poolConfig } from './prisma';
import type { Closeable } from './service';

/** The DB_* settings of databaseConfigSchema. */
export type DatabaseConfig = ReturnType<typeof databaseConfigSchema.parse>;

/** The connection settings of a service's DB_* config (DB_POOL_MAX bounds Prisma's pool). */
export function databaseSettings(config: DatabaseConfig): DatabaseSettings {
  return {
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
    maxConnections: config.DB_POOL_MAX,
  };
}

/**
 * The outbox relay's pool size: one connection for a cycle's claim-publish-mark transaction and
 * one for the backlog count read meanwhile. Its LISTEN connection is a client of its own.
 */
export const RELAY_POOL_MAX = 2;

/** A service's generated PrismaClient class (`import { PrismaClient } from './generated/prisma/client'`). */
export type PrismaClientClass<P> = new (options: { adapter: OfflinePrismaPg }) => P;

const prismaPools = new WeakMap<object, pg.Pool>();

/** A Prisma client through the chassis' driver adapter: the one way services and their tests make one. */
export function createPrismaClient<P>(PrismaClient: PrismaClientClass<P>, settings: DatabaseSettings): P {
  const adapter = createPrismaAdapter(settings);
  const prisma = new PrismaClient({ adapter });
  prismaPools.set(prisma as object, adapter.pool);
  return prisma;
}

/**
 * The pg pool under a Prisma client made by createPrismaClient: raw SQL on the same connections
 * and the same DB_POOL_MAX bound, without Prisma's per-query cost — for a hot path a profile
 * points at (ADR 31). Ended by the client's $disconnect.
 */
export function pgPoolOf(prisma: object): pg.Pool {
  const pool = prismaPools.get(prisma);
  if (!pool) throw new Error('pgPoolOf: this Prisma client was not made by createPrismaClient');
  return pool;
}

/**
 * A pg pool with the chassis' relabelling client (see poolConfig); `max` defaults to RELAY_POOL_MAX.
 * An idle connection that the server ends (PostgreSQL crashed, restarted, or an admin ended the
 * backend) makes pg emit 'error' on the pool, and an 'error' nobody listens to ends the process:
 * the pool drops that connection, `onIdleError` hears about it, and the next query connects anew
 * (its own failure, while the database is away, goes to its caller as usual).
 */
export function createPgPool(
  settings: DatabaseSettings,
  max = RELAY_POOL_MAX,
  onIdleError: (err: Error) => void = () => {},
): pg.Pool {
  const pool = new pg.Pool({ ...poolConfig(settings), max });
  pool.on('error', onIdleError);
  return pool;
}

export interface Database<P> {
  settings: DatabaseSettings;
  prisma: P;
  /** The outbox relay's own pool (createEventing's `relayPool`). */
  relayPool: pg.Pool;
  /** Prisma, then the relay pool: list them after the producer in startService's `pools`. */
  pools: Closeable[];
}

/**
 * A service's database from its config: `createDatabase(config, PrismaClient)`. Prisma's pool
 * is DB_POOL_MAX connections; the outbox relay gets a pool of its own (RELAY_POOL_MAX), so
 * publishing never waits behind a burst of requests.
 */
export function createDatabase<P extends { $disconnect(): Promise<void> }>(
  config: DatabaseConfig,
  PrismaClient: PrismaClientClass<P>,
): Database<P> {
  const settings = databaseSettings(config);
  const prisma = createPrismaClient(PrismaClient, settings);
  const relayPool = createPgPool(settings);
  return {
    settings,
    prisma,
    relayPool,
    pools: [
      { name: 'prisma', close: () => prisma.$disconnect() },
      { name: 'relay-pool', close: () => relayPool.end() },
    ],
  };
}

// Database failures as ShopErrors: database-errors.ts (the HTTP and gRPC error paths apply them).
export { databaseError, mapDatabaseError } from './database-errors';
