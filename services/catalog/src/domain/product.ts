// Products as the catalog shows them, and the opaque page cursor. No I/O.
import { ShopError } from '@shoplab/chassis/errors';
import type { Money } from '@shoplab/contracts';

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  /** Units that can still be reserved. */
  available: number;
  imageUrl: string;
}

/** A product an admin adds (POST /v1/admin/products), with its first units of stock. */
export interface NewProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  imageUrl: string;
  /** Becomes both `initial` and `available`: initial = available + reserved + sold from the start. */
  initialStock: number;
}

export interface CategorySummary {
  name: string;
  count: number;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** A page of products ordered by id; `nextCursor` is null on the last page. */
export interface ProductPage {
  items: Product[];
  nextCursor: string | null;
}

/** The cursor names the last id of the previous page; base64url so clients treat it as opaque. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId }), 'utf8').toString('base64url');
}

/** The id a page starts after; a cursor that was not made by encodeCursor is a client mistake. */
export function decodeCursor(cursor: string): string {
  const invalid = () => new ShopError('SHOP_VALIDATION_FAILED', 'The cursor is not valid', { field: 'cursor' });
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const after = (parsed as { after?: unknown } | null)?.after;
  if (typeof after !== 'string' || after.length === 0 || after.length > 200) throw invalid();
  return after;
}

/** Where a page ordered by popularity (units sold, most first, then id) ended. */
export interface PopularPosition {
  unitsSold: number;
  id: string;
}

/** The cursor of a popularity-ordered page: the last product's units sold and id. */
export function encodePopularCursor(last: PopularPosition): string {
  return Buffer.from(JSON.stringify({ after: last.id, sold: last.unitsSold }), 'utf8').toString('base64url');
}

/** The position a popularity-ordered page starts after; an id-ordered cursor is not one. */
export function decodePopularCursor(cursor: string): PopularPosition {
  const id = decodeCursor(cursor);
  const sold = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { sold?: unknown }).sold;
  if (typeof sold !== 'number' || !Number.isSafeInteger(sold) || sold < 0) {
    throw new ShopError('SHOP_VALIDATION_FAILED', 'The cursor is not valid', { field: 'cursor' });
  }
  return { unitsSold: sold, id };
}
