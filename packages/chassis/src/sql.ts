// SQL seams: a transaction the chassis writes to is a pg client or a Prisma
// interactive-transaction client; both are adapted to one raw-SQL interface.
import type pg from 'pg';

/** The part of pg's Client/PoolClient the chassis uses. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
/** The part of a Prisma (interactive transaction) client the chassis uses. */
export interface PrismaRawQueryable {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}
/** A database transaction the chassis can write to: `pg.PoolClient` inside BEGIN, or Prisma's `tx`. */
export type SqlTransaction = PgQueryable | PrismaRawQueryable;

/** Raw SQL with $1… placeholders on either kind of transaction. */
export interface SqlExecutor {
  rows<R>(sql: string, values?: unknown[]): Promise<R[]>;
  execute(sql: string, values?: unknown[]): Promise<number>;
}

/** Adapts a pg client or a Prisma transaction client to one raw-SQL interface. */
export function sqlExecutor(tx: SqlTransaction): SqlExecutor {
  if ('$executeRawUnsafe' in tx) {
    return {
      rows: async <R>(sql: string, values: unknown[] = []) => (await tx.$queryRawUnsafe<R[]>(sql, ...values)) as R[],
      execute: async (sql, values = []) => Number(await tx.$executeRawUnsafe(sql, ...values)),
    };
  }
  return {
    rows: async <R>(sql: string, values?: unknown[]) => (await tx.query(sql, values)).rows as R[],
    execute: async (sql, values) => (await tx.query(sql, values)).rowCount ?? 0,
  };
}

/** Runs `work` in one database transaction: commits when it resolves, rolls back when it throws. */
export type TransactionRunner<Tx> = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/** A TransactionRunner on a pg pool (BEGIN … COMMIT on one pooled client). */
export function pgTransactionRunner(pool: pg.Pool): TransactionRunner<pg.PoolClient> {
  return async (work) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    // Checked out, the connection is no longer the pool's to watch: when the server ends it
    // (PostgreSQL crashed or restarted) while `work` awaits something else (the relay's Kafka
    // send), pg emits 'error' on the client, and an 'error' nobody hears ends the process. Heard
    // here, the next query fails as usual and the connection is destroyed on release.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw err;
    } finally {
      // A client whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
      client.removeListener('error', onError);
      client.release(broken);
    }
  };
}
