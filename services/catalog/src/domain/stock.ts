// Stock reservations: the lines of a reservation, its states and which units each command
// moves. Per product: initial = available + reserved + sold, none negative. No I/O.
import { ShopError } from '@shoplab/chassis/errors';

export const RESERVATION_STATUSES = ['RESERVED', 'COMMITTED', 'RELEASED', 'RESTOCKED'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

export interface StockLine {
  productId: string;
  quantity: number;
}

export interface Reservation {
  /** Chosen by the caller: the order id. */
  id: string;
  status: ReservationStatus;
  lines: StockLine[];
}

/** A product's stock counters. */
export interface StockLevel {
  productId: string;
  initial: number;
  available: number;
  reserved: number;
  sold: number;
}

export type StockBucket = 'available' | 'reserved' | 'sold';

/** The commands that move a reservation on from RESERVED or COMMITTED. */
export type ReservationCommand = 'commit' | 'release' | 'restock';

interface Transition {
  from: ReservationStatus;
  to: ReservationStatus;
  /** Every line's quantity moves from the first bucket to the second. */
  move: readonly [StockBucket, StockBucket];
}

export const TRANSITIONS: Readonly<Record<ReservationCommand, Transition>> = {
  commit: { from: 'RESERVED', to: 'COMMITTED', move: ['reserved', 'sold'] },
  release: { from: 'RESERVED', to: 'RELEASED', move: ['reserved', 'available'] },
  restock: { from: 'COMMITTED', to: 'RESTOCKED', move: ['sold', 'available'] },
};

export const MAX_LINES = 100;
export const MAX_QUANTITY = 10_000;

/**
 * One line per product, in product-id order (the order stock rows are locked in, so two
 * transactions never wait on each other in a cycle). Repeated products are summed.
 */
export function normalizeLines(lines: readonly StockLine[]): StockLine[] {
  if (lines.length === 0) throw new ShopError('SHOP_VALIDATION_FAILED', 'A reservation needs at least one line');
  const byProduct = new Map<string, number>();
  for (const line of lines) {
    if (!line.productId) throw new ShopError('SHOP_VALIDATION_FAILED', 'Every line needs a productId');
    if (!Number.isInteger(line.quantity) || line.quantity < 1) {
      throw new ShopError('SHOP_VALIDATION_FAILED', `The quantity of ${line.productId} must be a positive integer`, {
        productId: line.productId,
        quantity: line.quantity,
      });
    }
    byProduct.set(line.productId, (byProduct.get(line.productId) ?? 0) + line.quantity);
  }
  if (byProduct.size > MAX_LINES) {
    throw new ShopError('SHOP_VALIDATION_FAILED', `A reservation holds at most ${MAX_LINES} products`);
  }
  const normalized = [...byProduct]
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => compareIds(a.productId, b.productId));
  for (const line of normalized) {
    if (line.quantity > MAX_QUANTITY) {
      throw new ShopError('SHOP_VALIDATION_FAILED', `At most ${MAX_QUANTITY} units of one product per reservation`, {
        productId: line.productId,
        quantity: line.quantity,
      });
    }
  }
  return normalized;
}

/** Code-point order, the same as PostgreSQL's `COLLATE "C"` used when locking rows. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sameLines(a: readonly StockLine[], b: readonly StockLine[]): boolean {
  const x = [...a].sort((p, q) => compareIds(p.productId, q.productId));
  const y = [...b].sort((p, q) => compareIds(p.productId, q.productId));
  return (
    x.length === y.length &&
    x.every((line, i) => line.productId === y[i]?.productId && line.quantity === y[i]?.quantity)
  );
}

/**
 * Checks that every line can be reserved from the locked stock rows: all lines or none.
 * Throws NOT_FOUND for an unknown product and OUT_OF_STOCK for the first short line.
 */
export function assertReservable(lines: readonly StockLine[], stock: ReadonlyMap<string, StockLevel>): void {
  const missing = lines.filter((line) => !stock.has(line.productId)).map((line) => line.productId);
  if (missing.length > 0) {
    throw new ShopError('SHOP_NOT_FOUND', `No product ${missing.join(', ')}`, { productIds: missing });
  }
  for (const line of lines) {
    const level = stock.get(line.productId) as StockLevel;
    if (level.available < line.quantity) {
      throw new ShopError('SHOP_OUT_OF_STOCK', `Only ${level.available} of ${line.productId} available`, {
        productId: line.productId,
        requested: line.quantity,
        available: level.available,
      });
    }
  }
}

/**
 * What a command does to a reservation in `status`: `move` the units, or nothing when the
 * reservation is already where the command leads. Any other state is refused.
 */
export function decideTransition(command: ReservationCommand, reservation: Reservation): 'move' | 'already-done' {
  const { from, to } = TRANSITIONS[command];
  if (reservation.status === from) return 'move';
  if (reservation.status === to) return 'already-done';
  // The reservation id is the order id: this is the order's stock in the wrong state.
  throw new ShopError(
    'SHOP_RESERVATION_INVALID_STATE',
    `Cannot ${command} reservation ${reservation.id}: it is ${reservation.status}, not ${from}`,
    { reservationId: reservation.id, status: reservation.status, expected: from },
  );
}

/** The stock counters after moving `quantity` between buckets; throws if a bucket would go negative. */
export function moveUnits(
  level: StockLevel,
  [from, to]: readonly [StockBucket, StockBucket],
  quantity: number,
): StockLevel {
  if (level[from] < quantity) {
    throw new Error(`stock of ${level.productId}: cannot move ${quantity} out of ${from} (${level[from]})`);
  }
  return { ...level, [from]: level[from] - quantity, [to]: level[to] + quantity };
}

/** Per product: initial = available + reserved + sold, none negative. */
export function stockBalances(level: StockLevel): boolean {
  return (
    level.available >= 0 &&
    level.reserved >= 0 &&
    level.sold >= 0 &&
    level.initial === level.available + level.reserved + level.sold
  );
}
