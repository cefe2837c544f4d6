import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';

/** Discrete connection settings for one service database (never a URL: see createPrismaAdapter). */
export interface DatabaseSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Upper bound of the pool; Prisma and the outbox relay share it. */
  maxConnections?: number;
}

// PostgreSQL catalog types that the Wasm schema engine reads during introspection but
// @prisma/adapter-pg refuses to deserialize (prisma/orm#27403): name, "char", regproc,
// regclass and their arrays. Their text form is all the engine needs.
const TEXT = 25;
const TEXT_ARRAY = 1009;
const RELABEL: ReadonlyMap<number, number> = new Map([
  [19, TEXT], // name
  [18, TEXT], // "char"
  [24, TEXT], // regproc
  [2205, TEXT], // regclass
  [1003, TEXT_ARRAY], // name[]
  [1002, TEXT_ARRAY], // "char"[]
]);
// pg's TypeId enum lists no array types; 1009 (text[]) has a built-in parser all the same.
const parseTextArray = pg.types.getTypeParser(TEXT_ARRAY as Parameters<typeof pg.types.getTypeParser>[0]) as (
  value: string,
) => string[];

function relabelResult(result: unknown): unknown {
  if (Array.isArray(result)) return result.map(relabelResult);
  const res = result as pg.QueryResult<unknown[]> | undefined;
  if (!res || !Array.isArray(res.fields)) return result;
  res.fields.forEach((field, column) => {
    const target = RELABEL.get(field.dataTypeID);
    if (target === undefined) return;
    field.dataTypeID = target;
    if (target !== TEXT_ARRAY) return;
    for (const row of res.rows) {
      if (Array.isArray(row) && typeof row[column] === 'string') row[column] = parseTextArray(row[column] as string);
    }
  });
  return result;
}

/**
 * A pg.Client that reports catalog-only column types as text, so the Wasm schema engine's
 * introspection works through adapter-pg. Application tables never use these types.
 */
export class CatalogTypesAsTextClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // The server ending a connection (PostgreSQL crashed) that a caller holds between two
    // queries — inside a transaction, say — makes pg emit 'error' on the client, and then no pool
    // listens: an 'error' nobody hears is an uncaught exception that ends the service. The query
    // in flight, or the next one, still fails with the error, and the pool destroys the client
    // when it is released (exercise 11 kills PostgreSQL under checkouts).
    this.on('error', () => {});
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's query() has a dozen overloads; this wraps them all.
  override query(...args: any[]): any {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err: Error | null, res: unknown) => last(err, err ? res : relabelResult(res));
      // biome-ignore lint/suspicious/noExplicitAny: forwarding the caller's overload unchanged.
      return (super.query as any)(...args);
    }
    // biome-ignore lint/suspicious/noExplicitAny: forwarding the caller's overload unchanged.
    const out = (super.query as any)(...args);
    return out && typeof out.then === 'function' ? out.then(relabelResult) : out;
  }
}

/** The pg pool settings for a database, with the relabelling client. */
export function poolConfig(db: DatabaseSettings): pg.PoolConfig {
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
    max: db.maxConnections ?? 10,
    Client: CatalogTypesAsTextClient,
  };
}

/**
 * A pool of the adapter's. Its idle connections' errors (PostgreSQL killed or restarted) are
 * heard here — an 'error' nobody hears is an uncaught exception that ends the service — and the
 * pool drops the connection; the next query connects anew, or fails to its caller.
 */
function listeningPool(settings: DatabaseSettings): pg.Pool {
  const pool = new pg.Pool(poolConfig(settings));
  pool.on('error', () => {});
  return pool;
}

/**
 * adapter-pg with a shadow database that is dropped only after its pool is closed, and
 * `WITH (FORCE)`: upstream drops it while its own pool still holds connections.
 */
export class OfflinePrismaPg implements SqlMigrationAwareDriverAdapterFactory {
  private readonly inner: PrismaPg;
  readonly provider = 'postgres' as const;
  readonly adapterName: string;
  /**
   * The pool of the first connection (a PrismaClient's), for a hot path that sends its own SQL
   * on the same connections (pgPoolOf, ADR 31). Ended when that connection is disposed of
   * ($disconnect).
   */
  readonly pool: pg.Pool;
  private poolTaken = false;

  constructor(private readonly settings: DatabaseSettings) {
    this.pool = listeningPool(settings);
    this.inner = new PrismaPg(this.pool, { disposeExternalPool: true });
    this.adapterName = this.inner.adapterName;
  }

  connect(): Promise<SqlDriverAdapter> {
    // Every later connection (the CLI's admin and shadow connections, a client connecting
    // again) has a pool of its own, as upstream does: disposing of one must not end another's.
    if (this.poolTaken) return new PrismaPg(listeningPool(this.settings), { disposeExternalPool: true }).connect();
    this.poolTaken = true;
    return this.inner.connect();
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const admin = await this.connect();
    const database = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new OfflinePrismaPg({ ...this.settings, database, maxConnections: 2 }).connect();
    const closeShadowPool = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await closeShadowPool();
      try {
        await admin.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await admin.dispose();
      }
    };
    return shadow;
  }
}

/** The Prisma driver adapter for a service database, used by the client and by the CLI alike. */
export function createPrismaAdapter(db: DatabaseSettings): OfflinePrismaPg {
  return new OfflinePrismaPg(db);
}
