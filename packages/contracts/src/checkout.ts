// The checkout request's card: one rule for the gateway (which refuses early) and the order
// service (which must refuse anyway), so both refuse the same cards with the same answer.
// The schema says what a JSON schema can (the OpenAPI of both services is generated from it);
// cardProblem adds what none can (the Luhn check, an expiry month in the past). Both refuse
// with SHOP_INVALID_CARD (400), naming the field, never repeating the number.
import { z } from 'zod';

/**
 * 12 to 19 digits, with spaces and dashes anywhere (as people type them). ASCII digits only,
 * spelled out, so that the pattern means the same in every regex dialect that reads the OpenAPI.
 */
export const CARD_NUMBER_PATTERN = /^[ -]*(?:[0-9][ -]*){12,19}$/;

export const checkoutCardSchema = z.object({
  number: z
    .string()
    .max(64)
    .regex(CARD_NUMBER_PATTERN, '12 to 19 digits (spaces and dashes allowed)')
    .describe('must pass the Luhn check; test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined'),
  expMonth: z.number().int().min(1).max(12),
  expYear: z.number().int().min(2000).max(2100).describe('with expMonth, not in the past'),
  cvc: z.string().regex(/^[0-9]{3,4}$/, '3 or 4 digits'),
});

export type CheckoutCard = z.infer<typeof checkoutCardSchema>;

/** The card number without the spaces and dashes people type. */
export function normalizeCardNumber(number: string): string {
  return number.replace(/[ -]/g, '');
}

/** The Luhn (mod 10) checksum of a string of ASCII digits. */
export function passesLuhn(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Why a card is refused: the field (as the request names it) and a message without the number. */
export interface CardProblem {
  field: 'card.number' | 'card.cvc' | 'card.expMonth' | 'card.expYear';
  message: string;
}

/**
 * What is wrong with a card, or undefined when nothing is: the schema's rules again (for callers
 * that did not parse with it) plus the Luhn check and the expiry (valid through the last day of
 * its month, UTC). The caller turns a problem into SHOP_INVALID_CARD.
 */
export function cardProblem(card: CheckoutCard, now: Date): CardProblem | undefined {
  const number = normalizeCardNumber(card.number);
  if (!CARD_NUMBER_PATTERN.test(card.number) || !passesLuhn(number)) {
    return { field: 'card.number', message: 'The card number is not valid' };
  }
  if (!/^[0-9]{3,4}$/.test(card.cvc)) return { field: 'card.cvc', message: 'The card security code is not valid' };
  if (!Number.isInteger(card.expMonth) || card.expMonth < 1 || card.expMonth > 12) {
    return { field: 'card.expMonth', message: 'The card expiry month is not valid' };
  }
  const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
  if (card.expYear * 12 + (card.expMonth - 1) < thisMonth)
    return { field: 'card.expYear', message: 'The card has expired' };
  return undefined;
}
