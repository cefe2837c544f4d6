// The search's query and its opaque cursor (the position after the last order shown).
import { ShopError } from '@shoplab/chassis/errors';
import { z } from 'zod';
import type { OrderDocument, OrderStatus } from '../domain/order-document';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface SearchPosition {
  createdAt: Date;
  orderId: string;
}

export interface SearchQuery {
  userId?: string | undefined;
  q?: string | undefined;
  status?: OrderStatus | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  minAmount?: number | undefined;
  maxAmount?: number | undefined;
  limit: number;
  after?: SearchPosition | undefined;
}

export interface SearchPage {
  orders: OrderDocument[];
  next: SearchPosition | null;
}

const positionSchema = z.object({ t: z.iso.datetime(), o: z.string().min(1).max(200) });

export function encodePosition(position: SearchPosition): string {
  return Buffer.from(JSON.stringify({ t: position.createdAt.toISOString(), o: position.orderId })).toString(
    'base64url',
  );
}

/** SHOP_VALIDATION_FAILED for anything encodePosition did not make. */
export function decodePosition(cursor: string): SearchPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = positionSchema.safeParse(value);
  if (!parsed.success) throw new ShopError('SHOP_VALIDATION_FAILED', 'The cursor is not valid', { field: 'cursor' });
  return { createdAt: new Date(parsed.data.t), orderId: parsed.data.o };
}

/** Refuses contradictory bounds (a clear 400 rather than an always-empty page). */
export function checkBounds(query: SearchQuery): void {
  if (query.from && query.to && query.from > query.to) {
    throw new ShopError('SHOP_VALIDATION_FAILED', 'from must not be after to', { field: 'from' });
  }
  if (query.minAmount !== undefined && query.maxAmount !== undefined && query.minAmount > query.maxAmount) {
    throw new ShopError('SHOP_VALIDATION_FAILED', 'minAmount must not exceed maxAmount', { field: 'minAmount' });
  }
}
