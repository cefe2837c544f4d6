// The legacy system's rules and its in-memory consignment book (ADR 30: why in memory).
// Quirks kept on purpose, because the adapter exists to hide them: kilograms as decimal
// strings, money as decimal strings, two-digit status codes, "SHP-000123" numbers, a booking
// that returns the existing consignment when the CustomerRef was booked before, and faults
// with the legacy error codes below.

/** Legacy status codes (StatusCode) and their texts (StatusText). */
export const LEGACY_STATUS = {
  '10': 'BOOKED',
  '20': 'IN TRANSIT',
  '30': 'DELIVERED',
  '90': 'CANCELLED',
} as const;
export type LegacyStatusCode = keyof typeof LEGACY_STATUS;

/** Legacy error codes carried in the ShippingFault detail. */
export const LEGACY_ERRORS = {
  E100: 'MANDATORY FIELD MISSING OR MALFORMED',
  E101: 'DESTINATION NOT SERVED',
  E102: 'WEIGHT OUT OF RANGE',
  E200: 'CONSIGNMENT NOT FOUND',
  E300: 'CONSIGNMENT CANNOT BE CANCELLED',
} as const;
export type LegacyErrorCode = keyof typeof LEGACY_ERRORS;

export class LegacyFault extends Error {
  constructor(
    readonly errorCode: LegacyErrorCode,
    /** soap:Client (the request is wrong) — the legacy system never says soap:Server for these. */
    readonly faultCode = 'soap:Client',
  ) {
    super(`${errorCode} ${LEGACY_ERRORS[errorCode]}`);
  }
}

/** Rate zones: the destination's zone decides the base rate and the rate per started kilogram. */
const ZONES: Record<string, 1 | 2 | 3 | 4> = {
  US: 1,
  CA: 2,
  MX: 2,
  GB: 3,
  DE: 3,
  FR: 3,
  NL: 3,
  IT: 3,
  ES: 3,
  JP: 4,
  AU: 4,
  BR: 4,
};
/** Rates in cents: [base, per started kilogram, transit days] per zone. */
const RATES: Record<1 | 2 | 3 | 4, [number, number, number]> = {
  1: [499, 150, 3],
  2: [999, 300, 5],
  3: [1499, 450, 7],
  4: [2499, 600, 10],
};
export const MAX_WEIGHT_KG = 30;

export interface LegacyQuote {
  Rate: string;
  CurrencyCode: 'USD';
  TransitDays: number;
}

export interface LegacyConsignment {
  ConsignmentNo: string;
  CustomerRef: string;
  DestCountry: string;
  WeightKg: string;
  Rate: string;
  StatusCode: LegacyStatusCode;
  StatusText: string;
  /** Legacy timestamp: YYYYMMDDHHMMSS, UTC. */
  LastEventAt: string;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

function parseWeight(value: unknown): number {
  const raw = text(value);
  if (!/^\d{1,3}(\.\d{1,3})?$/.test(raw)) throw new LegacyFault('E100');
  const kg = Number(raw);
  if (kg <= 0 || kg > MAX_WEIGHT_KG) throw new LegacyFault('E102');
  return kg;
}

function zoneOf(value: unknown): 1 | 2 | 3 | 4 {
  const country = text(value).toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw new LegacyFault('E100');
  const zone = ZONES[country];
  if (zone === undefined) throw new LegacyFault('E101');
  return zone;
}

function decimal(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function legacyTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function quote(input: { DestCountry?: unknown; WeightKg?: unknown }): LegacyQuote {
  const zone = zoneOf(input.DestCountry);
  const kg = parseWeight(input.WeightKg);
  const [base, perKg, days] = RATES[zone];
  return { Rate: decimal(base + perKg * Math.ceil(kg)), CurrencyCode: 'USD', TransitDays: days };
}

interface Entry {
  no: string;
  customerRef: string;
  country: string;
  weightKg: string;
  rate: string;
  bookedAt: number;
  cancelledAt?: number;
}

export interface BookOptions {
  /** A booked consignment is IN TRANSIT after this long, and DELIVERED after deliverAfterMs. */
  transitAfterMs: number;
  deliverAfterMs: number;
  /** Consignments kept (oldest forgotten first): the book is in memory. */
  capacity: number;
  now?: () => number;
}

export class ConsignmentBook {
  private readonly byNo = new Map<string, Entry>();
  private readonly byRef = new Map<string, string>();
  private next: number;
  private readonly now: () => number;

  constructor(private readonly options: BookOptions) {
    this.now = options.now ?? Date.now;
    // Numbers go on from a start-dependent value so that a restarted system does not hand
    // out a number it gave before (the adapter keeps the numbers it was given).
    this.next = (Math.floor(this.now() / 1000) % 900_000) * 10 + 100_000;
  }

  book(input: { CustomerRef?: unknown; DestCountry?: unknown; WeightKg?: unknown }): LegacyConsignment {
    const ref = text(input.CustomerRef);
    if (ref === '' || ref.length > 64) throw new LegacyFault('E100');
    const q = quote(input);
    const existing = this.byRef.get(ref);
    if (existing !== undefined) return this.view(this.byNo.get(existing) as Entry);
    const entry: Entry = {
      no: `SHP-${String(this.next++).padStart(6, '0')}`,
      customerRef: ref,
      country: text(input.DestCountry).toUpperCase(),
      weightKg: Number(text(input.WeightKg)).toFixed(3),
      rate: q.Rate,
      bookedAt: this.now(),
    };
    this.byNo.set(entry.no, entry);
    this.byRef.set(ref, entry.no);
    this.evict();
    return this.view(entry);
  }

  track(input: { ConsignmentNo?: unknown }): LegacyConsignment {
    return this.view(this.find(input.ConsignmentNo));
  }

  cancel(input: { ConsignmentNo?: unknown }): LegacyConsignment {
    const entry = this.find(input.ConsignmentNo);
    const status = this.status(entry);
    if (status === '90') return this.view(entry);
    if (status !== '10') throw new LegacyFault('E300');
    entry.cancelledAt = this.now();
    return this.view(entry);
  }

  private find(no: unknown): Entry {
    const key = text(no).toUpperCase();
    if (!/^SHP-\d{6,}$/.test(key)) throw new LegacyFault('E100');
    const entry = this.byNo.get(key);
    if (entry === undefined) throw new LegacyFault('E200');
    return entry;
  }

  private status(entry: Entry): LegacyStatusCode {
    if (entry.cancelledAt !== undefined) return '90';
    const age = this.now() - entry.bookedAt;
    if (age >= this.options.deliverAfterMs) return '30';
    if (age >= this.options.transitAfterMs) return '20';
    return '10';
  }

  private view(entry: Entry): LegacyConsignment {
    const status = this.status(entry);
    const at =
      status === '90'
        ? (entry.cancelledAt as number)
        : status === '30'
          ? entry.bookedAt + this.options.deliverAfterMs
          : status === '20'
            ? entry.bookedAt + this.options.transitAfterMs
            : entry.bookedAt;
    return {
      ConsignmentNo: entry.no,
      CustomerRef: entry.customerRef,
      DestCountry: entry.country,
      WeightKg: entry.weightKg,
      Rate: entry.rate,
      StatusCode: status,
      StatusText: LEGACY_STATUS[status],
      LastEventAt: legacyTimestamp(at),
    };
  }

  private evict(): void {
    while (this.byNo.size > this.options.capacity) {
      const oldest = this.byNo.keys().next().value as string;
      const entry = this.byNo.get(oldest) as Entry;
      this.byNo.delete(oldest);
      this.byRef.delete(entry.customerRef);
    }
  }
}
