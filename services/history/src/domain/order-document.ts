// The order-history projection (docs/patterns/cqrs.md), pure: (facts so far, one event) → the
// facts after it, and facts → the document a reader gets. No I/O.
//
// Why facts and not "apply the event to the document": events reach the read side from two
// topics (order.events, payment.events) whose relative order is not guaranteed — a payment can
// be authorized before this service has seen its order.created, and a rebuild interleaves the
// topics differently from the live run. Each event is kept as one fact (keyed by its id, so a
// redelivered event changes nothing), and the document is derived from the whole set of facts
// by rules that do not look at arrival order: the same events always give the same document,
// whatever order they came in, and a late event never takes a document back (an ended order
// stays ended, a captured payment is not "authorized" again).
import { type DomainEvent, PoisonMessageError, parseEventData } from '@shoplab/chassis';
import {
  defineEvent,
  type EventData,
  OrderCancelledV1,
  OrderConfirmedV1,
  OrderCreatedV1,
  PAYMENT_EVENT_V1,
  PaymentDeclinedV1,
  paymentEventV1Core,
} from '@shoplab/contracts';

export type Money = { amount: number; currency: string };

/** Any `shop.payment.<kind>.v1`, read by the core every kind shares (docs/reference.md#event-schemas). */
const AnyPaymentEventV1 = defineEvent('shop.payment.*.v1', paymentEventV1Core);
type PaymentData = EventData<typeof AnyPaymentEventV1> & { reason?: string };

/** One event as the read side keeps it: its data as the contract parsed it. */
export type OrderFact =
  | { kind: 'created'; eventId: string; time: string; data: EventData<typeof OrderCreatedV1> }
  | { kind: 'confirmed'; eventId: string; time: string; data: EventData<typeof OrderConfirmedV1> }
  | { kind: 'cancelled'; eventId: string; time: string; data: EventData<typeof OrderCancelledV1> }
  | { kind: 'payment'; eventId: string; time: string; type: string; data: PaymentData };

/** Everything known about one order, event id → fact. */
export interface OrderFacts {
  orderId: string;
  facts: Record<string, OrderFact>;
}

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export interface OrderItem {
  productId: string;
  name: string | null;
  quantity: number;
  unitPrice: Money | null;
  lineTotal: Money | null;
}

export interface PaymentState {
  paymentId: string;
  /** The payment's status after its most advanced event: AUTHORIZED, DECLINED, CAPTURED, VOIDED, REFUNDED. */
  status: string;
  amount: Money;
  captured: Money;
  refunded: Money;
  declineReason: string | null;
  updatedAt: string;
}

/** The read model's document: one order, denormalised for reading. */
export interface OrderDocument {
  orderId: string;
  /** Null while only payment facts are known (the order's own events have not arrived yet). */
  userId: string | null;
  status: OrderStatus | null;
  items: OrderItem[];
  total: Money | null;
  payment: PaymentState | null;
  /** How the saga ended; null while the order is pending (or unknown). */
  outcome: { result: 'confirmed' | 'cancelled'; reason: string | null } | null;
  timings: { createdAt: string | null; endedAt: string | null; durationMs: number | null };
  /** Events applied (distinct ids): the document's version, for the client's read-your-writes check. */
  version: number;
  /** The newest applied event's own time. */
  lastEventAt: string;
}

/** The order id an event is about, or null when the read side does not use that event type. */
export function orderIdOf(event: DomainEvent): string | null {
  if (
    event.type === OrderCreatedV1.type ||
    event.type === OrderConfirmedV1.type ||
    event.type === OrderCancelledV1.type
  ) {
    return event.subject;
  }
  if (PAYMENT_EVENT_V1.test(event.type)) {
    const orderId = (event.data as { orderId?: unknown } | null)?.orderId;
    if (typeof orderId !== 'string' || orderId.length === 0) {
      throw new PoisonMessageError(`${event.type} ${event.id} has no orderId`);
    }
    return orderId;
  }
  return null;
}

/** The fact an event contributes (null: not an event the read side uses). Throws PoisonMessageError on bad data. */
export function factOf(event: DomainEvent): OrderFact | null {
  const base = { eventId: event.id, time: new Date(event.time).toISOString() };
  switch (event.type) {
    case OrderCreatedV1.type:
      return { kind: 'created', ...base, data: parseEventData(OrderCreatedV1, event) };
    case OrderConfirmedV1.type:
      return { kind: 'confirmed', ...base, data: parseEventData(OrderConfirmedV1, event) };
    case OrderCancelledV1.type:
      return { kind: 'cancelled', ...base, data: parseEventData(OrderCancelledV1, event) };
    case PaymentDeclinedV1.type:
      return { kind: 'payment', ...base, type: event.type, data: parseEventData(PaymentDeclinedV1, event) };
    default:
      if (PAYMENT_EVENT_V1.test(event.type)) {
        return { kind: 'payment', ...base, type: event.type, data: parseEventData(AnyPaymentEventV1, event) };
      }
      return null;
  }
}

/**
 * The facts after `event`: unchanged (the same object) when the event was applied before or is
 * not one the read side uses. `facts` is null for an order not seen yet.
 */
export function applyEvent(
  facts: OrderFacts | null,
  event: DomainEvent,
): { facts: OrderFacts; changed: boolean } | null {
  const orderId = orderIdOf(event);
  if (orderId === null) return null;
  const fact = factOf(event);
  if (fact === null) return null;
  const current = facts ?? { orderId, facts: {} };
  if (current.orderId !== orderId) throw new Error(`event ${event.id} is about ${orderId}, not ${current.orderId}`);
  if (current.facts[event.id]) return { facts: current, changed: false };
  return { facts: { orderId, facts: { ...current.facts, [event.id]: fact } }, changed: true };
}

/** The latest of ISO-8601 UTC times (they sort as strings). */
function latest(times: string[]): string {
  return [...times].sort().at(-1) ?? '';
}

/** How far a payment status is along its life: a later event never shows an earlier status. */
const PAYMENT_RANK: Record<string, number> = { AUTHORIZED: 1, DECLINED: 2, CAPTURED: 2, VOIDED: 3, REFUNDED: 3 };

function byTimeThenId(a: OrderFact, b: OrderFact): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

/** The most advanced payment fact: rank, then refunded so far, then time, then event id. */
function moreAdvanced(
  a: Extract<OrderFact, { kind: 'payment' }>,
  b: Extract<OrderFact, { kind: 'payment' }>,
): Extract<OrderFact, { kind: 'payment' }> {
  const ra = PAYMENT_RANK[a.data.status] ?? 0;
  const rb = PAYMENT_RANK[b.data.status] ?? 0;
  if (ra !== rb) return ra > rb ? a : b;
  if (a.data.refunded.amount !== b.data.refunded.amount) return a.data.refunded.amount > b.data.refunded.amount ? a : b;
  return byTimeThenId(a, b) >= 0 ? a : b;
}

function paymentState(all: OrderFact[], paymentId: string | null): PaymentState | null {
  const payments = all.filter((f): f is Extract<OrderFact, { kind: 'payment' }> => f.kind === 'payment');
  if (payments.length === 0) return null;
  // The confirmed order names its payment; otherwise the most advanced of what is known.
  const candidates = paymentId ? payments.filter((p) => p.data.paymentId === paymentId) : payments;
  const pool = candidates.length > 0 ? candidates : payments;
  const best = pool.reduce(moreAdvanced);
  const own = payments.filter((p) => p.data.paymentId === best.data.paymentId);
  const authorized = own.find((p) => p.data.status === 'AUTHORIZED' || p.data.status === 'DECLINED');
  const declined = own.find((p) => p.data.status === 'DECLINED');
  return {
    paymentId: best.data.paymentId,
    status: best.data.status,
    // The authorized (or declined) amount is the payment's; a refund event's amount is the refund's.
    amount: (authorized ?? best).data.amount,
    captured: best.data.captured,
    refunded: best.data.refunded,
    declineReason: declined?.data.reason ?? null,
    updatedAt: latest(own.map((p) => p.time)),
  };
}

/** The document the facts add up to: the same set of facts always gives the same document. */
export function toDocument(facts: OrderFacts): OrderDocument {
  const all = Object.values(facts.facts).sort(byTimeThenId);
  if (all.length === 0) throw new Error(`order ${facts.orderId} has no facts`);
  const created = all.find((f) => f.kind === 'created');
  const confirmed = all.find((f) => f.kind === 'confirmed');
  const cancelled = all.find((f) => f.kind === 'cancelled');
  // An order ends once; should both ever be seen, the earlier ending is the one that happened.
  const ended = [confirmed, cancelled].filter((f) => f !== undefined).sort(byTimeThenId)[0];

  const status: OrderStatus | null =
    ended?.kind === 'confirmed' ? 'CONFIRMED' : ended?.kind === 'cancelled' ? 'CANCELLED' : created ? 'PENDING' : null;
  // order.created has the lines as priced at checkout; a confirmed event alone (its order.created
  // not in yet) gives products and quantities, and names and prices when its producer sent them
  // (optional within v1, ADR 21).
  const items: OrderItem[] = created
    ? created.data.lines.map((l) => ({
        productId: l.productId,
        name: l.name,
        quantity: l.quantity,
        unitPrice: l.unitPrice,
        lineTotal: l.lineTotal,
      }))
    : (confirmed?.data.lines ?? []).map((l) => ({
        productId: l.productId,
        name: l.name ?? null,
        quantity: l.quantity,
        unitPrice: l.unitPrice ?? null,
        lineTotal: l.lineTotal ?? null,
      }));
  const orderFact = created ?? confirmed ?? cancelled;
  const createdAt = created ? new Date(created.data.createdAt).toISOString() : null;
  const endedAt =
    ended?.kind === 'confirmed'
      ? new Date(ended.data.confirmedAt).toISOString()
      : ended?.kind === 'cancelled'
        ? new Date(ended.data.cancelledAt).toISOString()
        : null;
  return {
    orderId: facts.orderId,
    userId: orderFact?.data.userId ?? null,
    status,
    items,
    total: orderFact?.data.total ?? null,
    payment: paymentState(all, confirmed?.data.paymentId ?? null),
    outcome:
      ended?.kind === 'confirmed'
        ? { result: 'confirmed', reason: null }
        : ended?.kind === 'cancelled'
          ? { result: 'cancelled', reason: ended.data.reason }
          : null,
    timings: {
      createdAt,
      endedAt,
      durationMs: createdAt && endedAt ? Date.parse(endedAt) - Date.parse(createdAt) : null,
    },
    version: all.length,
    lastEventAt: latest(all.map((f) => f.time)),
  };
}

/** The text the search indexes: the items' product names. */
export function searchText(doc: OrderDocument): string {
  return doc.items
    .map((i) => i.name ?? '')
    .filter((n) => n.length > 0)
    .join(' ');
}
