// What the use cases need from storage; src/infrastructure implements these with Prisma.
import type { IdempotencyRecord } from '../domain/idempotency';
import type { CategorySummary, NewProduct, PopularPosition, Product } from '../domain/product';
import type { ProductUnits } from '../domain/sales';
import type { Reservation, ReservationStatus, StockBucket, StockLevel, StockLine } from '../domain/stock';

export interface ProductQuery {
  category?: string;
  /** Case-insensitive substring of the name or the description. */
  text?: string;
  /** Only ids after this one. */
  afterId?: string;
  limit: number;
}

/** A query ordered by units sold in confirmed orders (most first), then by id. */
export interface PopularProductQuery extends Omit<ProductQuery, 'afterId'> {
  /** Only products after this one in that order. */
  after?: PopularPosition;
}

/** Product reads (no locks). */
export interface ProductReader {
  /** Products matching the query, ordered by id. */
  list(query: ProductQuery): Promise<Product[]>;
  /** Products matching the query, by units sold (most first), then by id; each with its units sold. */
  listPopular(query: PopularProductQuery): Promise<(Product & { unitsSold: number })[]>;
  get(id: string): Promise<Product | undefined>;
  getMany(ids: readonly string[]): Promise<Product[]>;
  categories(): Promise<CategorySummary[]>;
}

/** Product writes (the admin API). */
export interface ProductWriter {
  /**
   * Inserts the product, its stock row and `shop.catalog.product_created.v1` in one transaction;
   * a SKU or id that exists already is SHOP_ALREADY_EXISTS and writes nothing.
   */
  create(product: NewProduct): Promise<Product>;
}

/** A domain event a stock transaction emits (written to the outbox in the same transaction). */
export interface StockEvent {
  type: 'stock_reserved' | 'stock_committed' | 'stock_released' | 'stock_restocked';
  reservationId: string;
  lines: StockLine[];
}

/** The statements of one stock transaction; every method runs inside it. */
export interface StockTransaction {
  /** Serialises every transaction using `key` until this one ends. */
  lockIdempotencyKey(key: string): Promise<void>;
  findIdempotencyRecord(key: string): Promise<IdempotencyRecord | undefined>;
  /** False when the key was recorded meanwhile (the caller must roll back). */
  saveIdempotencyRecord(record: IdempotencyRecord): Promise<boolean>;
  /** Creates the reservation (no lines); false when the id already exists. */
  createReservation(id: string, status: ReservationStatus): Promise<boolean>;
  /** The reservation and its lines, its row locked until the transaction ends. */
  lockReservation(id: string): Promise<Reservation | undefined>;
  addReservationLines(id: string, lines: readonly StockLine[]): Promise<void>;
  setReservationStatus(id: string, status: ReservationStatus): Promise<void>;
  /** Stock rows of these products, locked in product-id order. */
  lockStock(productIds: readonly string[]): Promise<Map<string, StockLevel>>;
  /** Moves `quantity` units of a product between buckets; throws if `from` holds fewer. */
  moveStock(productId: string, move: readonly [StockBucket, StockBucket], quantity: number): Promise<void>;
  emit(event: StockEvent): Promise<void>;
}

export interface StockStore {
  /** Runs `work` in one database transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(work: (tx: StockTransaction) => Promise<T>): Promise<T>;
}

export interface StockReport {
  /** Each product's counters and the units bought in confirmed orders (product_sales). */
  products: (StockLevel & { confirmedUnitsSold: number })[];
  reservationsByStatus: Record<ReservationStatus, number>;
}

/** Reads for the audit. */
export interface StockAuditReader {
  report(): Promise<StockReport>;
  reservation(id: string): Promise<(Reservation & { createdAt: Date; updatedAt: Date }) | undefined>;
  /** Every reservation's status by its id (the order id): the audit's one read instead of one per order. */
  reservationStatuses(): Promise<Record<string, ReservationStatus>>;
}

/**
 * The sold counters of one order event, inside the consumer's transaction (the one that also
 * records the event id in processed_events).
 */
export interface SalesLedger {
  /** Claims the order for counting; false when it was counted before (any event id). */
  claimOrder(orderId: string, eventId: string, units: number): Promise<boolean>;
  /** Adds each product's units and one order to its counters. */
  addSales(sales: readonly ProductUnits[]): Promise<void>;
}
