// The shop's own language for shipping: shop ids, grams, money in cents, four statuses.
// No legacy term crosses into this file (legacy-mapping.ts translates).
import { ShopError } from '@shoplab/chassis/errors';

export const SHIPMENT_STATUSES = ['BOOKED', 'IN_TRANSIT', 'DELIVERED', 'CANCELLED'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

export const BACKENDS = ['legacy', 'native'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface Money {
  amount: number;
  currency: string;
}

export interface QuoteInput {
  destinationCountry: string;
  weightGrams: number;
}

export interface QuoteView {
  price: Money;
  transitDays: number;
}

export interface ShipmentView {
  id: string;
  orderId: string;
  status: ShipmentStatus;
  destinationCountry: string;
  weightGrams: number;
  price: Money;
  trackingNumber: string;
  backend: Backend;
  updatedAt: string;
}

/** What an implementation answers when it books a shipment. */
export interface Booking {
  trackingNumber: string;
  status: ShipmentStatus;
  price: Money;
}

export const MAX_WEIGHT_GRAMS = 30_000;

/** The shop's rule for a quote's input, before any implementation sees it. */
export function validQuoteInput(input: { destinationCountry?: string; weightGrams?: number }): QuoteInput {
  const country = (input.destinationCountry ?? '').trim().toUpperCase();
  const errors: { field: string; message: string }[] = [];
  if (!/^[A-Z]{2}$/.test(country)) errors.push({ field: 'destinationCountry', message: 'an ISO 3166-1 alpha-2 code' });
  const grams = input.weightGrams ?? 0;
  if (!Number.isInteger(grams) || grams < 1 || grams > MAX_WEIGHT_GRAMS)
    errors.push({ field: 'weightGrams', message: `an integer from 1 to ${MAX_WEIGHT_GRAMS}` });
  if (errors.length > 0) throw new ShopError('SHOP_VALIDATION_FAILED', 'The shipment request is not valid', { errors });
  return { destinationCountry: country, weightGrams: grams };
}

/** A shipment's status, compared with what an answer said: both quotes equal? */
export function sameQuote(a: QuoteView, b: QuoteView): boolean {
  return a.price.amount === b.price.amount && a.price.currency === b.price.currency && a.transitDays === b.transitDays;
}
