// Opaque cursors for "newest first" pages: the (created_at, id) of the last order shown.
import { ShopError } from '@shoplab/chassis/errors';

export interface OrderCursor {
  createdAt: Date;
  id: string;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function encodeCursor(cursor: OrderCursor): string {
  return Buffer.from(`${cursor.createdAt.getTime()}.${cursor.id}`, 'utf8').toString('base64url');
}

/** SHOP_VALIDATION_FAILED when the cursor was not made by encodeCursor. */
export function decodeCursor(value: string): OrderCursor {
  const m = /^(\d{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(
    Buffer.from(value, 'base64url').toString('utf8'),
  );
  if (!m) throw new ShopError('SHOP_VALIDATION_FAILED', 'The cursor is not valid', { field: 'cursor' });
  return { createdAt: new Date(Number(m[1])), id: m[2]! };
}

/** A page size: the default when unset (0), SHOP_VALIDATION_FAILED outside 1..MAX_PAGE_SIZE. */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined || limit === 0) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ShopError('SHOP_VALIDATION_FAILED', `limit must be between 1 and ${MAX_PAGE_SIZE}`, { field: 'limit' });
  }
  return limit;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Order ids are UUIDs; anything else names no order (NOT_FOUND, not a validation error). */
export function isOrderId(value: string): boolean {
  return UUID.test(value);
}
