// The simulated card processor's rules. Pure functions: no I/O, no clock (the caller passes `now`).
import { ShopError } from '@shoplab/chassis/errors';
import { passesLuhn } from '@shoplab/contracts';

export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** What the processor says about a well-formed card. */
export type CardDecision =
  | { outcome: 'approved' }
  | { outcome: 'declined'; code: 'SHOP_PAYMENT_DECLINED' | 'SHOP_INSUFFICIENT_FUNDS'; reason: string };

/** A card that passed validation; the full number never leaves this module's callers' stack. */
export interface CheckedCard {
  last4: string;
  expMonth: number;
  expYear: number;
  decision: CardDecision;
}

/** Test cards with a fixed outcome (Stripe's numbers). */
const DECLINED_CARDS: ReadonlyMap<string, CardDecision> = new Map([
  ['4000000000000002', { outcome: 'declined', code: 'SHOP_PAYMENT_DECLINED', reason: 'card_declined' }],
  ['4000000000009995', { outcome: 'declined', code: 'SHOP_INSUFFICIENT_FUNDS', reason: 'insufficient_funds' }],
]);

/** The Luhn (mod 10) checksum of a string of digits: the checkout's own (@shoplab/contracts). */
export const luhnValid: (digits: string) => boolean = passesLuhn;

/** The digits of a card number written with spaces or dashes; undefined when anything else is in it. */
export function normalizeCardNumber(number: string): string | undefined {
  const trimmed = number.trim();
  if (!/^[\d -]+$/.test(trimmed)) return undefined;
  return trimmed.replace(/[ -]/g, '');
}

function invalid(message: string, field: string): ShopError {
  // Never echo the number back: it would end up in logs and problem documents.
  return new ShopError('SHOP_INVALID_CARD', message, { field });
}

/**
 * Validates a card and decides its fate. Throws SHOP_INVALID_CARD for a malformed, non-Luhn or
 * expired card or a bad cvc. A card is valid through the last day of its expiry month; a
 * two-digit year means 20xx.
 */
export function checkCard(card: CardInput, now: Date): CheckedCard {
  const digits = normalizeCardNumber(card.number);
  if (digits === undefined || digits.length < 12 || digits.length > 19) {
    throw invalid('The card number must be 12 to 19 digits (spaces and dashes allowed)', 'number');
  }
  if (!luhnValid(digits)) throw invalid('The card number fails its checksum', 'number');
  if (!Number.isInteger(card.expMonth) || card.expMonth < 1 || card.expMonth > 12) {
    throw invalid('The expiry month must be 1 to 12', 'expMonth');
  }
  const expYear = card.expYear >= 0 && card.expYear < 100 ? 2000 + card.expYear : card.expYear;
  if (!Number.isInteger(expYear) || expYear < 2000 || expYear > 2200) {
    throw invalid('The expiry year is not valid', 'expYear');
  }
  const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
  if (expYear * 12 + (card.expMonth - 1) < thisMonth) throw invalid('The card has expired', 'expYear');
  if (!/^\d{3,4}$/.test(card.cvc)) throw invalid('The cvc must be 3 or 4 digits', 'cvc');
  return {
    last4: digits.slice(-4),
    expMonth: card.expMonth,
    expYear,
    decision: DECLINED_CARDS.get(digits) ?? { outcome: 'approved' },
  };
}
