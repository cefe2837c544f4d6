// The checkout request's rules: the Idempotency-Key, the card, and the request's canonical
// form (what "the same request" means for a replayed key). No I/O.
import { ShopError } from '@shoplab/chassis/errors';
import { type CheckoutCard, cardProblem, normalizeCardNumber, passesLuhn } from '@shoplab/contracts';
import type { ShippingAddress } from './order';

/** 8..128 characters of [A-Za-z0-9_-:.]. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_\-:.]{8,128}$/;

/** The card as the checkout request carries it (its rule: @shoplab/contracts' checkoutCardSchema). */
export type Card = CheckoutCard;

export interface CheckoutRequest {
  card: Card;
  shippingAddress?: ShippingAddress;
}

export { passesLuhn };

/**
 * The card rule of @shoplab/contracts (cardProblem), the gateway's too: 12–19 digits passing
 * Luhn, a 3–4 digit CVC, and an expiry month not in the past. Throws SHOP_INVALID_CARD naming
 * the field; messages never repeat the number. Returns the card with the number's digits only.
 */
export function validateCard(card: Card, now: Date): Card {
  const problem = cardProblem(card, now);
  if (problem) throw new ShopError('SHOP_INVALID_CARD', problem.message, { field: problem.field });
  return { ...card, number: normalizeCardNumber(card.number) };
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
