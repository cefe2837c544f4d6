// The stock transaction on PostgreSQL: plain SQL on the pg pool under the service's Prisma client
// (pgPoolOf, ADR 31 and ADR 48), with row locks (`SELECT … FOR UPDATE` in product-id order) and
// conditional updates, and the events written to the outbox in the same transaction.
import {
  createContractEvent,
  prepareTransaction,
  type SqlExecutor,
  type SqlTransaction,
  sqlExecutor,
  writeOutbox,
} from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import { stockEventsV1 } from '@shoplab/contracts';
import type pg from 'pg';
import type { StockEvent, StockStore, StockTransaction } from '../application/ports';
import type { IdempotencyRecord, StockOperation } from '../domain/idempotency';
import type { Reservation, ReservationStatus, StockBucket, StockLevel, StockLine } from '../domain/stock';

export const SERVICE = 'catalog';

export interface StockStoreOptions {
  /** How long a command may wait for a pooled connection (default 10 s: bursts queue rather than fail). */
  maxWaitMs?: number;
  /** Upper bound of each statement of a transaction, lock waits included (default 15 s). */
  timeoutMs?: number;
  /** End every transaction in PREPARE TRANSACTION with this global id (preparedAs). */
  prepareAs?: string;
  /** How long a prepared transaction waits for a row lock (default 1 s: less than order's 1.5 s catalog deadline). */
  lockTimeoutMs?: number;
}

const BUCKETS: ReadonlySet<StockBucket> = new Set(['available', 'reserved', 'sold']);

/** SQLSTATE of a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

class SqlStockTransaction implements StockTransaction {
  private readonly sql: SqlExecutor;

  constructor(
    private readonly tx: SqlTransaction,
    /** false in a transaction that ends in PREPARE TRANSACTION (no NOTIFY allowed there). */
    private readonly notify = true,
  ) {
    this.sql = sqlExecutor(tx);
  }

  async lockIdempotencyKey(key: string): Promise<void> {
    await this.sql.rows(
      `SELECT pg_advisory_xact_lock(hashtextextended('catalog.idempotency:' || $1, 0))::text AS locked`,
      [key],
    );
  }

  async findIdempotencyRecord(key: string): Promise<IdempotencyRecord | undefined> {
    const rows = await this.sql.rows<{
      key: string;
      operation: StockOperation;
      fingerprint: string;
      response: unknown;
    }>('SELECT key, operation, fingerprint, response FROM idempotency_records WHERE key = $1', [key]);
    return rows[0];
  }

  async saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean> {
    const inserted = await this.sql.execute(
      `INSERT INTO idempotency_records (key, operation, fingerprint, response)
       VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (key) DO NOTHING`,
      [record.key, record.operation, record.fingerprint, JSON.stringify(record.response)],
    );
    return inserted === 1;
  }

  async createReservation(id: string, status: ReservationStatus): Promise<boolean> {
    const inserted = await this.sql.execute(
      'INSERT INTO reservations (id, status) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
      [id, status],
    );
    return inserted === 1;
  }

  async lockReservation(id: string): Promise<Reservation | undefined> {
    // One statement: the reservation's row locked, its lines (none: an empty array) beside it.
    const rows = await this.sql.rows<{ id: string; status: ReservationStatus; lines: StockLine[] }>(
      `SELECT r.id, r.status,
              coalesce((SELECT json_agg(json_build_object('productId', l.product_id, 'quantity', l.quantity)
                                        ORDER BY l.product_id COLLATE "C")
                          FROM reservation_lines l WHERE l.reservation_id = r.id), '[]') AS lines
         FROM reservations r WHERE r.id = $1 FOR UPDATE OF r`,
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      id: row.id,
      status: row.status,
      lines: row.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    };
  }

  async addReservationLines(id: string, lines: readonly StockLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.sql.execute(
      `INSERT INTO reservation_lines (reservation_id, product_id, quantity)
       SELECT $1, product_id, quantity FROM unnest($2::text[], $3::int[]) AS l(product_id, quantity)`,
      [id, lines.map((l) => l.productId), lines.map((l) => l.quantity)],
    );
  }

  async setReservationStatus(id: string, status: ReservationStatus): Promise<void> {
    await this.sql.execute('UPDATE reservations SET status = $2, updated_at = now() WHERE id = $1', [id, status]);
  }

  async lockStock(productIds: readonly string[]): Promise<Map<string, StockLevel>> {
    const rows = await this.sql.rows<StockLevel>(
      `SELECT product_id AS "productId", initial, available, reserved, sold FROM stock
        WHERE product_id = ANY($1::text[]) ORDER BY product_id COLLATE "C" FOR UPDATE`,
      [[...productIds]],
    );
    return new Map(rows.map((r) => [r.productId, r]));
  }

  async moveStock(productId: string, [from, to]: readonly [StockBucket, StockBucket], quantity: number): Promise<void> {
    if (!BUCKETS.has(from) || !BUCKETS.has(to) || from === to) throw new Error(`invalid stock move ${from}→${to}`);
    // Conditional: even a caller that skipped lockStock cannot take more than the bucket holds.
    const updated = await this.sql.execute(
      `UPDATE stock SET ${from} = ${from} - $2, ${to} = ${to} + $2, updated_at = now()
        WHERE product_id = $1 AND ${from} >= $2`,
      [productId, quantity],
    );
    if (updated !== 1) {
      throw new Error(`stock of ${productId}: cannot move ${quantity} units from ${from} to ${to}`);
    }
  }

  async emit(event: StockEvent): Promise<void> {
    await writeOutbox(
      this.tx,
      createContractEvent(stockEventsV1[event.type], {
        service: SERVICE,
        subject: event.reservationId,
        data: { reservationId: event.reservationId, lines: event.lines },
      }),
      { notify: this.notify },
    );
  }
}

/**
 * The stock store on a pg pool: each transaction is BEGIN … COMMIT on one pooled connection (the
 * pool under the service's Prisma client, pgPoolOf: one pool, one DB_POOL_MAX). Prisma keeps the
 * schema and the migrations; these statements are checked by the integration tests.
 */
export class SqlStockStore implements StockStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: StockStoreOptions = {},
  ) {}

  async transaction<T>(work: (tx: StockTransaction) => Promise<T>): Promise<T> {
    // A database failure reaches the HTTP and gRPC error paths as it is: the chassis maps it.
    const client = await this.connect();
    let broken: Error | undefined;
    // A connection the server ends while it is checked out emits 'error' on the client: heard
    // here, the next statement fails as usual and the connection is destroyed on release.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const prepareAs = this.options.prepareAs;
    try {
      // One round trip opens the transaction with its bounds. A prepared transaction's locks
      // last until the coordinator decides: waiting behind another one is given up after
      // lockTimeoutMs (55P03) instead of holding a connection.
      const timeout = Math.trunc(this.options.timeoutMs ?? 15_000);
      const lockTimeout = prepareAs
        ? `; SET LOCAL lock_timeout = ${Math.trunc(this.options.lockTimeoutMs ?? 1_000)}`
        : '';
      await client.query(`BEGIN; SET LOCAL statement_timeout = ${timeout}${lockTimeout}`);
      const result = await work(new SqlStockTransaction(client, !prepareAs));
      // After PREPARE TRANSACTION the session has no transaction: COMMIT only warns.
      if (prepareAs) await prepareTransaction(client, prepareAs);
      else await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw timedOut(err) ?? err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /**
   * The same store, whose transactions end in PREPARE TRANSACTION `gid` instead of COMMIT: the
   * two-phase checkout's participant (two-phase.participant.ts). The prepared transaction keeps
   * its row locks until it is finished, on whichever connection.
   */
  preparedAs(gid: string): SqlStockStore {
    return new SqlStockStore(this.pool, { ...this.options, prepareAs: gid });
  }

  /** A pooled connection, or pg's "timeout exceeded" (503 / UNAVAILABLE) after maxWaitMs. */
  private async connect(): Promise<pg.PoolClient> {
    const pending = this.pool.connect();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('timeout exceeded when trying to connect')),
        this.options.maxWaitMs ?? 10_000,
      );
    });
    try {
      return await Promise.race([pending, gaveUp]);
    } catch (err) {
      // The connection that comes after all goes straight back.
      pending.then(
        (client) => client.release(),
        () => undefined,
      );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A statement cancelled by statement_timeout: the database is too busy now, retry later. */
function timedOut(err: unknown): ShopError | undefined {
  if ((err as { code?: unknown } | null)?.code !== QUERY_CANCELED) return undefined;
  return new ShopError(
    'SHOP_DEPENDENCY_UNAVAILABLE',
    'The catalog database did not finish the stock command in time',
    { retryAfterSeconds: 1 },
    { cause: err },
  );
}
