// The stock transaction on PostgreSQL: raw SQL inside a Prisma interactive transaction, with
// row locks (`SELECT … FOR UPDATE` in product-id order) and conditional updates, and the
// events written to the outbox in the same transaction.
import { createContractEvent, prepareTransaction, writeOutbox } from '@shoplab/chassis';
import { stockEventsV1 } from '@shoplab/contracts';
import type { StockEvent, StockStore, StockTransaction } from '../application/ports';
import type { IdempotencyRecord, StockOperation } from '../domain/idempotency';
import type { Reservation, ReservationStatus, StockBucket, StockLevel, StockLine } from '../domain/stock';
import type { CatalogPrisma, CatalogTransaction } from './database';

export const SERVICE = 'catalog';

export interface StockStoreOptions {
  /** How long a command may wait for a pooled connection (default 10 s: bursts queue rather than fail). */
  maxWaitMs?: number;
  /** Upper bound of one transaction (default 15 s). */
  timeoutMs?: number;
  /** End every transaction in PREPARE TRANSACTION with this global id (preparedAs). */
  prepareAs?: string;
  /** How long a prepared transaction waits for a row lock (default 1 s: less than order's 1.5 s catalog deadline). */
  lockTimeoutMs?: number;
}

const BUCKETS: ReadonlySet<StockBucket> = new Set(['available', 'reserved', 'sold']);

class PrismaStockTransaction implements StockTransaction {
  constructor(
    private readonly tx: CatalogTransaction,
    /** false in a transaction that ends in PREPARE TRANSACTION (no NOTIFY allowed there). */
    private readonly notify = true,
  ) {}

  async lockIdempotencyKey(key: string): Promise<void> {
    await this.tx.$queryRawUnsafe(
      `SELECT pg_advisory_xact_lock(hashtextextended('catalog.idempotency:' || $1, 0))::text AS locked`,
      key,
    );
  }

  async findIdempotencyRecord(key: string): Promise<IdempotencyRecord | undefined> {
    const rows = await this.tx.$queryRawUnsafe<
      { key: string; operation: StockOperation; fingerprint: string; response: unknown }[]
    >('SELECT key, operation, fingerprint, response FROM idempotency_records WHERE key = $1', key);
    return rows[0];
  }

  async saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean> {
    const inserted = await this.tx.$executeRawUnsafe(
      `INSERT INTO idempotency_records (key, operation, fingerprint, response)
       VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (key) DO NOTHING`,
      record.key,
      record.operation,
      record.fingerprint,
      JSON.stringify(record.response),
    );
    return inserted === 1;
  }

  async createReservation(id: string, status: ReservationStatus): Promise<boolean> {
    const inserted = await this.tx.$executeRawUnsafe(
      'INSERT INTO reservations (id, status) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
      id,
      status,
    );
    return inserted === 1;
  }

  async lockReservation(id: string): Promise<Reservation | undefined> {
    const rows = await this.tx.$queryRawUnsafe<{ id: string; status: ReservationStatus }[]>(
      'SELECT id, status FROM reservations WHERE id = $1 FOR UPDATE',
      id,
    );
    const row = rows[0];
    if (!row) return undefined;
    const lines = await this.tx.$queryRawUnsafe<StockLine[]>(
      `SELECT product_id AS "productId", quantity FROM reservation_lines
        WHERE reservation_id = $1 ORDER BY product_id COLLATE "C"`,
      id,
    );
    return {
      id: row.id,
      status: row.status,
      lines: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    };
  }

  async addReservationLines(id: string, lines: readonly StockLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.tx.$executeRawUnsafe(
      `INSERT INTO reservation_lines (reservation_id, product_id, quantity)
       SELECT $1, product_id, quantity FROM unnest($2::text[], $3::int[]) AS l(product_id, quantity)`,
      id,
      lines.map((l) => l.productId),
      lines.map((l) => l.quantity),
    );
  }

  async setReservationStatus(id: string, status: ReservationStatus): Promise<void> {
    await this.tx.$executeRawUnsafe(
      'UPDATE reservations SET status = $2, updated_at = now() WHERE id = $1',
      id,
      status,
    );
  }

  async lockStock(productIds: readonly string[]): Promise<Map<string, StockLevel>> {
    const rows = await this.tx.$queryRawUnsafe<StockLevel[]>(
      `SELECT product_id AS "productId", initial, available, reserved, sold FROM stock
        WHERE product_id = ANY($1::text[]) ORDER BY product_id COLLATE "C" FOR UPDATE`,
      [...productIds],
    );
    return new Map(rows.map((r) => [r.productId, r]));
  }

  async moveStock(productId: string, [from, to]: readonly [StockBucket, StockBucket], quantity: number): Promise<void> {
    if (!BUCKETS.has(from) || !BUCKETS.has(to) || from === to) throw new Error(`invalid stock move ${from}→${to}`);
    // Conditional: even a caller that skipped lockStock cannot take more than the bucket holds.
    const updated = await this.tx.$executeRawUnsafe(
      `UPDATE stock SET ${from} = ${from} - $2, ${to} = ${to} + $2, updated_at = now()
        WHERE product_id = $1 AND ${from} >= $2`,
      productId,
      quantity,
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

export class PrismaStockStore implements StockStore {
  constructor(
    private readonly prisma: CatalogPrisma,
    private readonly options: StockStoreOptions = {},
  ) {}

  async transaction<T>(work: (tx: StockTransaction) => Promise<T>): Promise<T> {
    // A database failure reaches the HTTP and gRPC error paths as it is: the chassis maps it.
    return await this.prisma.$transaction(
      async (tx) => {
        if (!this.options.prepareAs) return await work(new PrismaStockTransaction(tx));
        // A prepared transaction's locks last until the coordinator decides: waiting behind
        // another one is given up after lockTimeoutMs (55P03) instead of holding a connection.
        await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = ${Math.trunc(this.options.lockTimeoutMs ?? 1_000)}`);
        const result = await work(new PrismaStockTransaction(tx, false));
        await prepareTransaction(tx, this.options.prepareAs);
        return result;
      },
      { maxWait: this.options.maxWaitMs ?? 10_000, timeout: this.options.timeoutMs ?? 15_000 },
    );
  }

  /**
   * The same store, whose transactions end in PREPARE TRANSACTION `gid` instead of COMMIT: the
   * two-phase checkout's participant (two-phase.participant.ts). Prisma's COMMIT after it finds
   * no transaction and does nothing; the prepared one keeps its row locks until it is finished.
   */
  preparedAs(gid: string): PrismaStockStore {
    return new PrismaStockStore(this.prisma, { ...this.options, prepareAs: gid });
  }
}
