// The native implementation the strangler grows: the same operations on this service's own
// table, no SOAP. A shipment moves BOOKED → IN_TRANSIT → DELIVERED with time, as the legacy
// system's do (the same configured durations), and only a booked one can be cancelled.
import { randomBytes } from 'node:crypto';
import { ShopError } from '@shoplab/chassis/errors';
import type { ShipmentRecord, ShippingBackend } from '../application/ports';
import { nativeQuote } from '../domain/native-rates';
import type { Booking, QuoteInput, QuoteView, ShipmentStatus } from '../domain/shipment';

export interface NativeShippingOptions {
  transitAfterMs: number;
  deliverAfterMs: number;
  /** The seeded difference (strangler state): cents added to every native quote. */
  quoteSkewCents: () => number;
  now?: () => number;
}

export class NativeShipping implements ShippingBackend {
  readonly name = 'native' as const;
  private readonly now: () => number;

  constructor(private readonly options: NativeShippingOptions) {
    this.now = options.now ?? Date.now;
  }

  async quote(input: QuoteInput): Promise<QuoteView> {
    return nativeQuote(input, this.options.quoteSkewCents());
  }

  async book(_orderId: string, input: QuoteInput): Promise<Booking> {
    const { price } = nativeQuote(input);
    return { trackingNumber: `SL${randomBytes(6).toString('hex').toUpperCase()}`, status: 'BOOKED', price };
  }

  async track(record: ShipmentRecord): Promise<ShipmentStatus> {
    if (record.status === 'CANCELLED' || record.cancelledAt) return 'CANCELLED';
    const age = this.now() - record.createdAt.getTime();
    if (age >= this.options.deliverAfterMs) return 'DELIVERED';
    if (age >= this.options.transitAfterMs) return 'IN_TRANSIT';
    return 'BOOKED';
  }

  async cancel(record: ShipmentRecord): Promise<ShipmentStatus> {
    const status = await this.track(record);
    if (status === 'CANCELLED') return status;
    if (status !== 'BOOKED') throw new ShopError('SHOP_SHIPMENT_NOT_CANCELLABLE', undefined, { status });
    return 'CANCELLED';
  }
}
