// The checkout request's rules: the Idempotency-Key, the card, and the request's canonical
// form (what "the same request" means for a replayed key). No I/O.
import { ShopError } from '@shoplab/chassis/errors';
import type { ShippingAddress } from './order';

/** 8..128 characters of [A-Za-z0-9_-:.]. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_\-:.]{8,128}$/;

export interface Card {
  /** Digits only (spaces and dashes removed). */
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

export interface CheckoutRequest {
  card: Card;
  shippingAddress?: ShippingAddress;
}

/** The card number without the spaces and dashes people type. */
export function normalizeCardNumber(number: string): string {
  return number.replace(/[\s-]/g, '');
}

export function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Checks what can be checked without the card processor: 12–19 digits passing Luhn, a
 * 3–4 digit CVC, and an expiry month not in the past. Messages never repeat the number.
 */
export function validateCard(card: Card, now: Date): Card {
  const number = normalizeCardNumber(card.number);
  if (!/^\d{12,19}$/.test(number) || !passesLuhn(number)) {
    throw new ShopError('SHOP_INVALID_CARD', 'The card number is not valid', { field: 'card.number' });
  }
  if (!/^\d{3,4}$/.test(card.cvc)) {
    throw new ShopError('SHOP_INVALID_CARD', 'The card security code is not valid', { field: 'card.cvc' });
  }
  const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
  if (card.expYear * 12 + (card.expMonth - 1) < thisMonth) {
    throw new ShopError('SHOP_INVALID_CARD', 'The card has expired', { field: 'card.expYear' });
  }
  return { ...card, number };
}

/** JSON with object keys sorted at every level: equal requests give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
