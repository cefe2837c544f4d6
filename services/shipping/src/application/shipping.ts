// The shipping use cases behind the strangler facade. Quotes and creations are routed by the
// facade's shares; a shipment is tracked and cancelled where it is held (routing cannot move
// a shipment the legacy system booked). In shadow mode a quote also asks the other
// implementation and compares: the caller always gets the routed answer, a difference is
// counted and logged, and a failing shadow call never fails the quote.
import { randomUUID } from 'node:crypto';
import { ShopError } from '@shoplab/chassis/errors';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import {
  type Backend,
  type QuoteInput,
  type QuoteView,
  type ShipmentView,
  sameQuote,
  validQuoteInput,
} from '../domain/shipment';
import type { ShipmentRecord, ShipmentStore, ShippingBackend } from './ports';
import type { Strangler } from './strangler';

export interface ShippingMetrics {
  /** Calls to an implementation: operation, backend, outcome (ok | error). */
  backendCalls: Counter<'operation' | 'backend' | 'outcome'>;
  /** Shadowed quotes compared: result (same | different | shadow_failed). */
  shadowComparisons: Counter<'operation' | 'result'>;
}

export interface ShippingDeps {
  store: ShipmentStore;
  legacy: ShippingBackend;
  native: ShippingBackend;
  strangler: Strangler;
  metrics: ShippingMetrics;
  logger: Logger;
}

export class Shipping {
  constructor(private readonly deps: ShippingDeps) {}

  private backend(name: Backend): ShippingBackend {
    return name === 'native' ? this.deps.native : this.deps.legacy;
  }

  private async call<T>(operation: string, backend: ShippingBackend, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      this.deps.metrics.backendCalls.inc({ operation, backend: backend.name, outcome: 'ok' });
      return result;
    } catch (err) {
      this.deps.metrics.backendCalls.inc({ operation, backend: backend.name, outcome: 'error' });
      throw err;
    }
  }

  async quote(request: {
    destinationCountry?: string;
    weightGrams?: number;
  }): Promise<QuoteView & { backend: Backend }> {
    const input = validQuoteInput(request);
    const routed = this.deps.strangler.route('quote');
    const primary = this.backend(routed);
    if (!this.deps.strangler.status().shadow) {
      return { ...(await this.call('quote', primary, () => primary.quote(input))), backend: routed };
    }
    const shadow = this.backend(routed === 'native' ? 'legacy' : 'native');
    const [main, other] = await Promise.allSettled([
      this.call('quote', primary, () => primary.quote(input)),
      this.call('quote', shadow, () => shadow.quote(input)),
    ]);
    this.compare(input, routed, main, other);
    if (main.status === 'rejected') throw main.reason;
    return { ...main.value, backend: routed };
  }

  private compare(
    input: QuoteInput,
    routed: Backend,
    main: PromiseSettledResult<QuoteView>,
    other: PromiseSettledResult<QuoteView>,
  ): void {
    const { shadowComparisons } = this.deps.metrics;
    if (other.status === 'rejected') {
      // Both refusing the same bad input (the same stable code) is agreement.
      const sameRefusal =
        main.status === 'rejected' &&
        main.reason instanceof ShopError &&
        other.reason instanceof ShopError &&
        main.reason.code === other.reason.code;
      shadowComparisons.inc({ operation: 'quote', result: sameRefusal ? 'same' : 'shadow_failed' });
      if (!sameRefusal) this.deps.logger.warn({ input, routed, err: other.reason }, 'shadow quote failed');
      return;
    }
    if (main.status === 'rejected') {
      shadowComparisons.inc({ operation: 'quote', result: 'different' });
      this.deps.logger.warn(
        { input, routed, err: main.reason, shadow: other.value },
        'shadow quote differs: only the shadow answered',
      );
      return;
    }
    if (sameQuote(main.value, other.value)) {
      shadowComparisons.inc({ operation: 'quote', result: 'same' });
      return;
    }
    shadowComparisons.inc({ operation: 'quote', result: 'different' });
    const [legacy, native] = routed === 'legacy' ? [main.value, other.value] : [other.value, main.value];
    this.deps.logger.warn({ input, routed, legacy, native }, 'shadow quote differs');
  }

  /** One shipment per order: an order that has one gets it back, whatever the routing says now. */
  async create(
    request: { orderId: string; destinationCountry?: string; weightGrams?: number },
    store: ShipmentStore = this.deps.store,
  ): Promise<ShipmentView> {
    if (!/^[0-9a-f-]{36}$/i.test(request.orderId)) {
      throw new ShopError('SHOP_VALIDATION_FAILED', 'The shipment request is not valid', {
        errors: [{ field: 'orderId', message: 'a UUID' }],
      });
    }
    const input = validQuoteInput(request);
    const existing = await store.findByOrder(request.orderId);
    if (existing) return view(existing);
    const backend = this.backend(this.deps.strangler.route('create'));
    const booking = await this.call('create', backend, () => backend.book(request.orderId, input));
    const stored = await store.insert({
      id: randomUUID(),
      orderId: request.orderId,
      backend: backend.name,
      trackingNumber: booking.trackingNumber,
      status: booking.status,
      destinationCountry: input.destinationCountry,
      weightGrams: input.weightGrams,
      price: booking.price,
    });
    return view(stored);
  }

  private async find(request: { shipmentId?: string; orderId?: string }): Promise<ShipmentRecord> {
    const id = request.shipmentId || undefined;
    const orderId = request.orderId || undefined;
    const uuid = /^[0-9a-f-]{36}$/i;
    if ((id && !uuid.test(id)) || (orderId && !uuid.test(orderId)) || (!id && !orderId)) {
      throw new ShopError('SHOP_VALIDATION_FAILED', 'A shipment id or an order id (a UUID) is needed', {
        errors: [{ field: id ? 'shipmentId' : 'orderId', message: 'a UUID' }],
      });
    }
    const found = id ? await this.deps.store.findById(id) : await this.deps.store.findByOrder(orderId as string);
    if (!found) throw new ShopError('SHOP_NOT_FOUND', 'No such shipment');
    return found;
  }

  /**
   * The shipment's status from where it is held. A shipment the legacy system no longer knows
   * (its book is in memory: a restart forgets, ADR 30) is answered as last stored, not as 404.
   */
  async track(request: { shipmentId?: string; orderId?: string }): Promise<ShipmentView> {
    const record = await this.find(request);
    const backend = this.backend(record.backend);
    let status: ShipmentView['status'];
    try {
      status = await this.call('track', backend, () => backend.track(record));
    } catch (err) {
      if (!(err instanceof ShopError && err.code === 'SHOP_NOT_FOUND')) throw err;
      this.deps.logger.warn(
        { shipmentId: record.id, trackingNumber: record.trackingNumber, backend: record.backend },
        'the implementation no longer knows the shipment; answering its last stored status',
      );
      return view(record);
    }
    if (status === record.status) return view(record);
    return view(await this.deps.store.setStatus(record.id, status));
  }

  async cancel(request: { shipmentId?: string }): Promise<ShipmentView> {
    const record = await this.find({ shipmentId: request.shipmentId ?? '' });
    const backend = this.backend(record.backend);
    const status = await this.call('cancel', backend, () => backend.cancel(record));
    if (status === record.status) return view(record);
    return view(await this.deps.store.setStatus(record.id, status));
  }
}

function view(record: ShipmentRecord): ShipmentView {
  const { createdAt: _c, cancelledAt: _x, ...rest } = record;
  return rest;
}
