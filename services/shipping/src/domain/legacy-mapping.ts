// The anti-corruption layer's dictionary: legacy shipping terms → the shop's, and back.
// Pure functions, so that every translation is unit-tested (test/unit/legacy-mapping.test.ts).
import { type ErrorCode, ShopError } from '@shoplab/chassis/errors';
import type { Money, QuoteInput, ShipmentStatus } from './shipment';

/** The legacy two-digit status codes. */
const STATUS: Readonly<Record<string, ShipmentStatus>> = {
  '10': 'BOOKED',
  '20': 'IN_TRANSIT',
  '30': 'DELIVERED',
  '90': 'CANCELLED',
};

export function statusFromLegacy(code: string): ShipmentStatus {
  const status = STATUS[code];
  if (status === undefined) {
    throw new ShopError(
      'SHOP_DEPENDENCY_UNAVAILABLE',
      `the legacy shipping system answered an unknown status code "${code}"`,
    );
  }
  return status;
}

/** Grams → the legacy system's kilograms, a decimal string with three places. */
export function gramsToLegacyKg(grams: number): string {
  return `${Math.floor(grams / 1000)}.${String(grams % 1000).padStart(3, '0')}`;
}

/** A legacy decimal rate ("18.99", "7.5", "12") → cents, exactly (no floating point). */
export function centsFromLegacyRate(rate: string, currency: string): Money {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(rate.trim());
  if (m === null)
    throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `the legacy shipping system answered a rate "${rate}"`);
  const cents = Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
  return { amount: cents, currency: currency || 'USD' };
}

/** A legacy timestamp YYYYMMDDHHMMSS (UTC) → ISO 8601. */
export function isoFromLegacyTimestamp(ts: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(ts);
  if (m === null) return new Date().toISOString();
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`).toISOString();
}

export function legacyQuoteArgs(input: QuoteInput): { DestCountry: string; WeightKg: string } {
  return { DestCountry: input.destinationCountry, WeightKg: gramsToLegacyKg(input.weightGrams) };
}

/** The legacy error codes (a ShippingFault's ErrorCode) → the shop's stable codes. */
const FAULTS: Readonly<Record<string, ErrorCode>> = {
  E100: 'SHOP_VALIDATION_FAILED',
  E101: 'SHOP_SHIPPING_DESTINATION_UNSUPPORTED',
  E102: 'SHOP_VALIDATION_FAILED',
  E200: 'SHOP_NOT_FOUND',
  E300: 'SHOP_SHIPMENT_NOT_CANCELLABLE',
};

/**
 * A SOAP fault (or whatever the SOAP call threw) → a ShopError. A fault with a known legacy
 * code is the caller's mistake and keeps its meaning; anything else (a soap:Server fault, an
 * unknown code, no answer at all) is the legacy system failing: SHOP_DEPENDENCY_UNAVAILABLE.
 */
export function errorFromLegacy(err: unknown): ShopError {
  if (err instanceof ShopError) return err;
  const fault = (err as { root?: { Envelope?: { Body?: { Fault?: LegacyFaultBody } } } })?.root?.Envelope?.Body?.Fault;
  const code = fault?.detail?.ShippingFault?.ErrorCode;
  const mapped = code !== undefined ? FAULTS[code] : undefined;
  if (fault !== undefined && mapped !== undefined) {
    return new ShopError(mapped, undefined, { legacyCode: code }, { cause: err });
  }
  const message = fault?.faultstring ?? (err instanceof Error ? err.message : String(err));
  return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `the legacy shipping system failed: ${message}`, undefined, {
    cause: err,
  });
}

interface LegacyFaultBody {
  faultcode?: string;
  faultstring?: string;
  detail?: { ShippingFault?: { ErrorCode?: string; ErrorText?: string } };
}
