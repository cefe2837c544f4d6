// A service's database, wired once: the discrete settings from its DB_* config, its Prisma
// client (through the chassis' driver adapter), the outbox relay's own small pg pool, and the
// two as `pools` for startService. Also the one mapping of database failures to ShopErrors.
import pg from 'pg';
import type { databaseConfigSchema } from './config';
import { ShopError } from './errors';
import { refusedValueError } from './input';
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

/** A Prisma client through the chassis' driver adapter: the one way services and their tests make one. */
export function createPrismaClient<P>(PrismaClient: PrismaClientClass<P>, settings: DatabaseSettings): P {
  return new PrismaClient({ adapter: createPrismaAdapter(settings) });
}

/** A pg pool with the chassis' relabelling client (see poolConfig); `max` defaults to RELAY_POOL_MAX. */
export function createPgPool(settings: DatabaseSettings, max = RELAY_POOL_MAX): pg.Pool {
  return new pg.Pool({ ...poolConfig(settings), max });
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

// ---------------------------------------------------------------------------------------
// Database failures as ShopErrors

/** Prisma codes that mean "try again": the database is unreachable or busy. */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']);
/** A write conflict or deadlock: the transaction was rolled back and may be retried as it is. */
const CONFLICT_CODES = new Set(['P2034']);
/** Prisma's error class for a client that could not connect (matched by name: each service generates its own). */
const INITIALIZATION_ERROR = 'PrismaClientInitializationError';
const KNOWN_REQUEST_ERROR = 'PrismaClientKnownRequestError';

function prismaErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== KNOWN_REQUEST_ERROR) return undefined;
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The ShopError a caller can act on for a database failure, or `err` unchanged:
 * SHOP_DEPENDENCY_UNAVAILABLE (503) when the database is unreachable or busy, SHOP_CONFLICT
 * (409) for a write conflict or deadlock (retry as it is), SHOP_VALIDATION_FAILED (400) for a
 * value the database refused (refusedValueError). `database` names it in the message ("catalog").
 */
export function mapDatabaseError(err: unknown, database: string): unknown {
  if (err instanceof ShopError) return err;
  const code = prismaErrorCode(err);
  const unavailable = `The ${database} database is unavailable`;
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
    return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', unavailable, undefined, { cause: err });
  }
  if (code !== undefined && CONFLICT_CODES.has(code)) {
    return new ShopError('SHOP_CONFLICT', 'A concurrent change conflicted; retry', undefined, { cause: err });
  }
  if (err instanceof Error && err.name === INITIALIZATION_ERROR) {
    return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', unavailable, undefined, { cause: err });
  }
  return refusedValueError(err) ?? err;
}
