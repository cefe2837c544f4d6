// The public shapes of the gateway's API (docs/reference.md#public-api) and the pure
// mappings from the gRPC contracts to them. No I/O here.
import type { catalogV1, commonV1, Money, orderV1, paymentV1, shippingV1, userV1 } from '@shoplab/contracts';

export const DEFAULT_CURRENCY = 'USD';

/** Parts of a composed response that could not be filled in because a downstream failed. */
export type DegradedPart = 'stock' | 'catalog' | 'products' | 'payment' | 'orders' | 'cart' | 'shipment';

export interface ProductView {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  /** Units that can still be bought; null when the live stock could not be read. */
  available: number | null;
  imageUrl: string | null;
}

export type OrderStatusName = 'PENDING' | 'CONFIRMED' | 'CANCELLED' | 'UNKNOWN';
export const TERMINAL_ORDER_STATUSES: ReadonlySet<OrderStatusName> = new Set(['CONFIRMED', 'CANCELLED']);

export interface OrderLineView {
  productId: string;
  name: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
}

/** `step`: an attempt of a saga step or compensation; `event`: a payment event the order service received. */
export type TimelineKind = 'step' | 'event';

export interface SagaStepView {
  kind: TimelineKind;
  step: string;
  attempt: number;
  outcome: string;
  error: string | null;
  traceId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Logical clocks (null on entries recorded before them): a step's from the order service, an event's from its producer. */
  lamport: number | null;
  hlc: string | null;
}

export interface OrderView {
  id: string;
  userId: string;
  status: OrderStatusName;
  lines: OrderLineView[];
  total: Money;
  cancelReason: string | null;
  paymentId: string | null;
  timeline: SagaStepView[];
  createdAt: string;
  updatedAt: string;
}

export type PaymentStatusName = 'AUTHORIZED' | 'CAPTURED' | 'VOIDED' | 'REFUNDED' | 'DECLINED' | 'UNKNOWN';

export interface PaymentView {
  id: string;
  status: PaymentStatusName;
  amount: Money;
  captured: Money;
  refunded: Money;
  cardLast4: string | null;
}

export type ShipmentStatusName = 'BOOKED' | 'IN_TRANSIT' | 'DELIVERED' | 'CANCELLED' | 'UNKNOWN';

/** An order's shipment: shop ids and statuses (the shipping service translates the legacy system's). */
export interface ShipmentView {
  id: string;
  status: ShipmentStatusName;
  trackingNumber: string;
  price: Money;
  updatedAt: string;
}

export interface AddressView {
  id: string;
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string;
  country: string;
  isDefault: boolean;
}

export interface UserView {
  id: string;
  email: string;
  name: string;
  addresses: AddressView[];
  createdAt: string;
}

export interface OrderSummaryView {
  id: string;
  status: OrderStatusName;
  total: Money;
  itemCount: number;
  createdAt: string;
}

const orNull = (s: string): string | null => (s === '' ? null : s);

export function money(m: commonV1.Money | undefined, fallbackCurrency = DEFAULT_CURRENCY): Money {
  return { amount: m?.amount ?? 0, currency: m?.currency || fallbackCurrency };
}

export function productView(p: catalogV1.Product): ProductView {
  return {
    id: p.id,
    sku: p.sku,
    name: p.name,
    description: p.description,
    category: p.category,
    price: money(p.price),
    available: p.available,
    imageUrl: orNull(p.imageUrl),
  };
}

const ORDER_STATUS: Record<number, OrderStatusName> = { 1: 'PENDING', 2: 'CONFIRMED', 3: 'CANCELLED' };

export function orderStatusName(status: orderV1.OrderStatus): OrderStatusName {
  return ORDER_STATUS[status] ?? 'UNKNOWN';
}

export function sagaStepView(s: orderV1.SagaStep): SagaStepView {
  return {
    // An order service older than the field sends '': it only had steps.
    kind: s.kind === 'event' ? 'event' : 'step',
    step: s.step,
    attempt: s.attempt,
    outcome: s.outcome,
    error: orNull(s.error),
    traceId: orNull(s.traceId),
    startedAt: orNull(s.startedAt),
    finishedAt: orNull(s.finishedAt),
    // 0 and '' are the proto's unset values: an entry from before the clocks.
    lamport: s.lamport > 0 ? s.lamport : null,
    hlc: orNull(s.hlc),
  };
}

export function orderView(o: orderV1.Order): OrderView {
  const total = money(o.total);
  return {
    id: o.id,
    userId: o.userId,
    status: orderStatusName(o.status),
    lines: o.lines.map((l) => ({
      productId: l.productId,
      name: l.name,
      quantity: l.quantity,
      unitPrice: money(l.unitPrice, total.currency),
      lineTotal: money(l.lineTotal, total.currency),
    })),
    total,
    cancelReason: orNull(o.cancelReason),
    paymentId: orNull(o.paymentId),
    timeline: o.timeline.map(sagaStepView),
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
}

export function orderSummaryView(o: orderV1.Order): OrderSummaryView {
  return {
    id: o.id,
    status: orderStatusName(o.status),
    total: money(o.total),
    itemCount: o.lines.reduce((n, l) => n + l.quantity, 0),
    createdAt: o.createdAt,
  };
}

const PAYMENT_STATUS: Record<number, PaymentStatusName> = {
  1: 'AUTHORIZED',
  2: 'CAPTURED',
  3: 'VOIDED',
  4: 'REFUNDED',
  5: 'DECLINED',
};

export function paymentView(p: paymentV1.Payment): PaymentView {
  const amount = money(p.amount);
  return {
    id: p.id,
    status: PAYMENT_STATUS[p.status] ?? 'UNKNOWN',
    amount,
    captured: money(p.captured, amount.currency),
    refunded: money(p.refunded, amount.currency),
    cardLast4: orNull(p.cardLast4),
  };
}

const SHIPMENT_STATUS: Record<number, ShipmentStatusName> = {
  1: 'BOOKED',
  2: 'IN_TRANSIT',
  3: 'DELIVERED',
  4: 'CANCELLED',
};

export function shipmentView(s: shippingV1.Shipment): ShipmentView {
  return {
    id: s.id,
    status: SHIPMENT_STATUS[s.status] ?? 'UNKNOWN',
    trackingNumber: s.trackingNumber,
    price: money(s.price),
    updatedAt: s.updatedAt,
  };
}

export function userView(u: userV1.User): UserView {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    addresses: u.addresses.map((a) => ({
      id: a.id,
      line1: a.line1,
      line2: orNull(a.line2),
      city: a.city,
      postalCode: a.postalCode,
      country: a.country,
      isDefault: a.isDefault,
    })),
    createdAt: u.createdAt,
  };
}

/** `{ …, degraded: [...] }` when something is missing, the value unchanged otherwise. */
export function withDegraded<T extends object>(value: T, degraded: DegradedPart[]): T & { degraded?: DegradedPart[] } {
  return degraded.length > 0 ? { ...value, degraded } : value;
}
