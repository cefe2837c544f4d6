// The Adapter: the legacy SOAP shipping system behind the shop's ShippingBackend port. It
// loads the legacy WSDL with a generic SOAP client (the soap package), speaks the legacy
// terms (legacy-mapping.ts translates them) and turns every SOAP fault or failure into a
// ShopError with a stable code. Nothing legacy leaves this file and the mapping.
import * as soap from 'soap';
import type { ShipmentRecord, ShippingBackend } from '../application/ports';
import { centsFromLegacyRate, errorFromLegacy, legacyQuoteArgs, statusFromLegacy } from '../domain/legacy-mapping';
import type { Booking, QuoteInput, QuoteView, ShipmentStatus } from '../domain/shipment';

interface LegacyConsignment {
  ConsignmentNo: string;
  Rate: string;
  StatusCode: string;
}

export interface LegacyShippingOptions {
  /** The SOAP endpoint; its WSDL is at `<url>?wsdl`. */
  url: string;
  /** Per-call timeout of a SOAP request. */
  timeoutMs: number;
  /**
   * Runs each SOAP call (the circuit breaker in app.ts). A mapped fault is the caller's mistake
   * (4xx) and never counts against the legacy system; no answer, or a 5xx, does.
   */
  guard?: <T>(call: () => Promise<T>) => Promise<T>;
}

export class LegacyShippingAdapter implements ShippingBackend {
  readonly name = 'legacy' as const;
  private client: Promise<soap.Client> | undefined;

  constructor(private readonly options: LegacyShippingOptions) {}

  /** The SOAP client, made from the WSDL once (again after a failed load). */
  private soapClient(): Promise<soap.Client> {
    if (!this.client) {
      const url = this.options.url;
      this.client = soap
        .createClientAsync(`${url}?wsdl`, { wsdl_options: { timeout: this.options.timeoutMs } }, url)
        .catch((err: unknown) => {
          this.client = undefined;
          throw err;
        });
    }
    return this.client;
  }

  private invoke<T>(operation: string, args: Record<string, string>): Promise<T> {
    const call = () => this.call<T>(operation, args);
    return this.options.guard ? this.options.guard(call) : call();
  }

  private async call<T>(operation: string, args: Record<string, string>): Promise<T> {
    try {
      const client = await this.soapClient();
      const method = client[`${operation}Async`] as (a: unknown, o: unknown) => Promise<[T]>;
      const [result] = await method.call(client, args, { timeout: this.options.timeoutMs });
      return result;
    } catch (err) {
      throw errorFromLegacy(err);
    }
  }

  async quote(input: QuoteInput): Promise<QuoteView> {
    const r = await this.invoke<{ Rate: string; CurrencyCode: string; TransitDays: number | string }>(
      'GetQuote',
      legacyQuoteArgs(input),
    );
    return { price: centsFromLegacyRate(r.Rate, r.CurrencyCode), transitDays: Number(r.TransitDays) };
  }

  async book(orderId: string, input: QuoteInput): Promise<Booking> {
    const r = await this.invoke<{ Consignment: LegacyConsignment }>('BookConsignment', {
      CustomerRef: orderId,
      ...legacyQuoteArgs(input),
    });
    return {
      trackingNumber: r.Consignment.ConsignmentNo,
      status: statusFromLegacy(r.Consignment.StatusCode),
      price: centsFromLegacyRate(r.Consignment.Rate, 'USD'),
    };
  }

  async track(record: ShipmentRecord): Promise<ShipmentStatus> {
    const r = await this.invoke<{ Consignment: LegacyConsignment }>('TrackConsignment', {
      ConsignmentNo: record.trackingNumber,
    });
    return statusFromLegacy(r.Consignment.StatusCode);
  }

  async cancel(record: ShipmentRecord): Promise<ShipmentStatus> {
    const r = await this.invoke<{ Consignment: LegacyConsignment }>('CancelConsignment', {
      ConsignmentNo: record.trackingNumber,
    });
    return statusFromLegacy(r.Consignment.StatusCode);
  }
}
