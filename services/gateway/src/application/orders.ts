import { backoffDelay, type Logger, ShopError, sleep, userTokenMetadata } from '@shoplab/chassis';
import { type OrderEvent, OrderEventTracker } from '../domain/order-events';
import {
  type DegradedPart,
  type OrderLineView,
  type OrderView,
  orderView,
  type PaymentView,
  paymentView,
  type ShipmentView,
  shipmentView,
  withDegraded,
} from '../domain/views';
import { essentialFailure, isRefusal, settle } from './degrade';
import type { Caller, Downstreams } from './ports';
import type { ProductQueries } from './products';

export interface OrderPage {
  items: OrderView[];
  nextCursor: string | null;
}

export interface ComposedOrder extends Omit<OrderView, 'lines'> {
  lines: (OrderLineView & { product: { name: string; imageUrl: string | null; category: string } | null })[];
  payment: PaymentView | null;
  shipment: ShipmentView | null;
  degraded?: DegradedPart[];
}

/** How the order events learn of changes: a WatchOrder stream, or reading the order every pollMs. */
export type OrderEventsMode = 'streaming' | 'polling';

export interface CheckoutAnswer {
  status: number;
  orderId: string;
  body: Record<string, unknown>;
  location: string;
}

/** The public URL of an order. */
export const orderPath = (id: string) => `/api/v1/orders/${encodeURIComponent(id)}`;

/** The caller's orders: reads over gRPC (always with the caller's user id), checkout over the order REST API. */
export class OrderViews {
  constructor(
    private readonly downstreams: Pick<
      Downstreams,
      'order' | 'payment' | 'shipping' | 'rest' | 'orderWatch' | 'bulkheads'
    >,
    private readonly products: ProductQueries,
    private readonly logger: Logger,
    private readonly events: { mode: OrderEventsMode; watchDeadlineMs: number } = {
      mode: 'polling',
      watchDeadlineMs: 60_000,
    },
  ) {}

  /** How the order events follow an order from now on (streams already open keep theirs). */
  get eventsMode(): OrderEventsMode {
    return this.events.mode;
  }

  set eventsMode(mode: OrderEventsMode) {
    this.events.mode = mode;
  }

  async list(caller: Caller, page: { limit: number; cursor?: string | undefined }): Promise<OrderPage> {
    try {
      const res = await this.downstreams.order.call(
        'listOrders',
        { userId: caller.userId, limit: page.limit, cursor: page.cursor ?? '' },
        { metadata: userTokenMetadata(caller.authorization) },
      );
      return { items: res.orders.map(orderView), nextCursor: res.nextCursor || null };
    } catch (err) {
      throw essentialFailure(err, 'order');
    }
  }

  /** One order of the caller's; another user's order is NOT_FOUND, as the order service answers. */
  async fetch(caller: Caller, id: string): Promise<OrderView> {
    try {
      const res = await this.downstreams.order.call(
        'getOrder',
        { id, userId: caller.userId },
        { metadata: userTokenMetadata(caller.authorization) },
      );
      if (!res.order) throw new ShopError('SHOP_NOT_FOUND', `No order ${id}`, { orderId: id });
      return orderView(res.order);
    } catch (err) {
      throw essentialFailure(err, 'order');
    }
  }

  /**
   * The order with its lines' product details and its payment. The payment is asked for at
   * the same time as the order; the products as soon as the order names them. Either failing
   * leaves that part out and marks it degraded; the order failing fails the whole answer.
   */
  async get(caller: Caller, id: string): Promise<ComposedOrder> {
    // A composition read: in the read bulkhead, so a slow payment cannot take checkout's slots.
    const paymentCall = settle(
      this.downstreams.bulkheads.run('reads', () =>
        this.downstreams.payment.call('getPayment', { orderId: id, paymentId: '' }),
      ),
    );
    const order = await this.fetch(caller, id);
    // Only a confirmed order is shipped: its shipment is asked for with the products (outside the
    // read bulkhead, like them; the shipping client has its deadline and breaker), tracked where
    // it is held (the legacy SOAP system or the native one).
    const [products, payment, shipment] = await Promise.all([
      settle(this.products.byIds(order.lines.map((l) => l.productId))),
      paymentCall,
      order.status === 'CONFIRMED'
        ? settle(this.downstreams.shipping.call('trackShipment', { orderId: id, shipmentId: '' }))
        : Promise.resolve({ ok: true as const, value: { shipment: undefined } }),
    ]);
    const degraded: DegradedPart[] = [];
    if (!products.ok) {
      degraded.push('products');
      this.logger.warn({ orderId: id, code: codeOf(products.error) }, 'catalog failed; order shown without products');
    }
    let paymentOut: PaymentView | null = null;
    if (payment.ok) {
      paymentOut = payment.value.payment ? paymentView(payment.value.payment) : null;
    } else if (!(payment.error instanceof ShopError && payment.error.code === 'SHOP_NOT_FOUND')) {
      degraded.push('payment');
      this.logger.warn({ orderId: id, code: codeOf(payment.error) }, 'payment failed; order shown without payment');
    }
    let shipmentOut: ShipmentView | null = null;
    if (shipment.ok) {
      shipmentOut = shipment.value.shipment ? shipmentView(shipment.value.shipment) : null;
    } else if (!(shipment.error instanceof ShopError && shipment.error.code === 'SHOP_NOT_FOUND')) {
      degraded.push('shipment');
      this.logger.warn({ orderId: id, code: codeOf(shipment.error) }, 'shipping failed; order shown without shipment');
    }
    const lines = order.lines.map((line) => {
      const p = products.ok ? products.value.get(line.productId) : undefined;
      return { ...line, product: p ? { name: p.name, imageUrl: p.imageUrl, category: p.category } : null };
    });
    return withDegraded({ ...order, lines, payment: paymentOut, shipment: shipmentOut }, degraded);
  }

  /** Checks out the caller's cart through the order service; answers its 202 with gateway URLs. */
  async checkout(caller: Caller, idempotencyKey: string, body: unknown): Promise<CheckoutAnswer> {
    const res = await this.downstreams.bulkheads.run('checkout', () =>
      this.downstreams.rest.request<Record<string, unknown>>('order', {
        method: 'POST',
        path: '/v1/checkout',
        headers: { authorization: caller.authorization, 'idempotency-key': idempotencyKey },
        body,
      }),
    );
    const orderId = res.body?.orderId;
    if (typeof orderId !== 'string' || orderId === '') {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'order answered without an order id', { target: 'order' });
    }
    const self = orderPath(orderId);
    return {
      status: res.status,
      orderId,
      location: self,
      body: { ...res.body, links: { self, events: `${self}/events` } },
    };
  }

  /**
   * The progress events of an order, starting from `first` (already fetched, so an unknown
   * order is a 404 before any event is sent), until the order is CONFIRMED or CANCELLED, or
   * `signal` aborts. In `streaming` mode the order service pushes each change (WatchOrder);
   * in `polling` mode the order is read every `pollMs`. A failed read is logged and retried.
   */
  async *follow(
    caller: Caller,
    first: OrderView,
    options: { pollMs: number; maxBackoffMs?: number; signal: AbortSignal },
  ): AsyncGenerator<OrderEvent> {
    const tracker = new OrderEventTracker();
    yield* tracker.next(first);
    if (this.events.mode === 'streaming') {
      yield* this.watch(caller, first.id, tracker, options);
      return;
    }
    let failures = 0;
    while (!tracker.finished && !options.signal.aborted) {
      await sleep(pauseAfter(failures, options), options.signal);
      if (options.signal.aborted) return;
      try {
        yield* tracker.next(await this.fetch(caller, first.id));
        failures = 0;
      } catch (err) {
        if (isRefusal(err)) return;
        failures++;
        this.logger.warn({ orderId: first.id, code: codeOf(err), failures }, 'order poll failed; trying again');
      }
    }
  }

  /**
   * Streaming: watches the order until it ends. A stream that ends before the order does (its
   * order instance stopped, its deadline passed, a network failure) is followed by one read of
   * the order after `pollMs` and a new watch — the same pace as polling, only while broken.
   */
  private async *watch(
    caller: Caller,
    id: string,
    tracker: OrderEventTracker,
    options: { pollMs: number; maxBackoffMs?: number; signal: AbortSignal },
  ): AsyncGenerator<OrderEvent> {
    let failures = 0;
    while (!tracker.finished && !options.signal.aborted) {
      try {
        for await (const order of this.downstreams.orderWatch.watch(
          { id, userId: caller.userId },
          { deadlineMs: this.events.watchDeadlineMs, signal: options.signal, authorization: caller.authorization },
        )) {
          yield* tracker.next(orderView(order));
        }
      } catch (err) {
        if (isRefusal(err)) return;
        this.logger.warn(
          { orderId: id, code: codeOf(err) },
          'order watch failed; reading the order, then watching again',
        );
      }
      if (tracker.finished || options.signal.aborted) return;
      await sleep(pauseAfter(failures, options), options.signal);
      if (options.signal.aborted) return;
      try {
        yield* tracker.next(await this.fetch(caller, id));
        failures = 0;
      } catch (err) {
        if (isRefusal(err)) return;
        failures++;
        this.logger.warn({ orderId: id, code: codeOf(err), failures }, 'order read failed; trying again');
      }
    }
  }
}

/**
 * The wait before the next read: `pollMs` while the order service answers, then doubling with
 * each failure in a row (with jitter) up to `maxBackoffMs`, so many open streams do not hammer
 * an order service that is down.
 */
export function pauseAfter(failures: number, options: { pollMs: number; maxBackoffMs?: number }): number {
  if (failures === 0) return options.pollMs;
  const max = Math.max(options.pollMs, options.maxBackoffMs ?? options.pollMs);
  return Math.max(options.pollMs, backoffDelay(failures, options.pollMs * 2, max));
}

function codeOf(err: unknown): string {
  return err instanceof ShopError ? err.code : String(err);
}
