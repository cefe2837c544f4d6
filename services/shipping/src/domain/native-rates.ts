// The native implementation's rate card, written for the shop in cents and grams: the same
// tariff the legacy system applies (the strangler's shadow mode checks that it really is).
import { ShopError } from '@shoplab/chassis/errors';
import type { QuoteInput, QuoteView } from './shipment';

interface Zone {
  baseCents: number;
  perStartedKgCents: number;
  transitDays: number;
}

const DOMESTIC: Zone = { baseCents: 499, perStartedKgCents: 150, transitDays: 3 };
const NEIGHBOURS: Zone = { baseCents: 999, perStartedKgCents: 300, transitDays: 5 };
const EUROPE: Zone = { baseCents: 1499, perStartedKgCents: 450, transitDays: 7 };
const OVERSEAS: Zone = { baseCents: 2499, perStartedKgCents: 600, transitDays: 10 };

const ZONE_OF: ReadonlyMap<string, Zone> = new Map([
  ['US', DOMESTIC],
  ...['CA', 'MX'].map((c) => [c, NEIGHBOURS] as const),
  ...['GB', 'DE', 'FR', 'NL', 'IT', 'ES'].map((c) => [c, EUROPE] as const),
  ...['JP', 'AU', 'BR'].map((c) => [c, OVERSEAS] as const),
]);

/** `skewCents`: the chaos seed that makes the native answer differ (shadow mode must catch it). */
export function nativeQuote(input: QuoteInput, skewCents = 0): QuoteView {
  const zone = ZONE_OF.get(input.destinationCountry);
  if (zone === undefined)
    throw new ShopError('SHOP_SHIPPING_DESTINATION_UNSUPPORTED', undefined, {
      destinationCountry: input.destinationCountry,
    });
  const startedKg = Math.ceil(input.weightGrams / 1000);
  return {
    price: { amount: zone.baseCents + zone.perStartedKgCents * startedKg + skewCents, currency: 'USD' },
    transitDays: zone.transitDays,
  };
}
