// The order service's part in a choreographed checkout (docs/patterns/choreography.md): what it
// does when another service's event about one of its orders arrives. No one drives the checkout;
// each service reacts to the events of the others:
//
//   order.created ─▶ catalog reserves ─▶ stock_reserved ─▶ order hands the card to payment
//   ─▶ payment.authorized ─▶ catalog commits ─▶ stock_committed ─▶ payment captures
//   ─▶ payment.captured ─▶ order CONFIRMED (once it has heard stock_committed too: the two come
//   on two topics, in either order, and the order ends only when its timeline has both)
//   failures: stock_refused ─▶ order CANCELLED; payment.declined ─▶ catalog releases
//   ─▶ stock_released ─▶ order CANCELLED; order.cancelled ─▶ catalog releases (if still held)
//
// Plain TypeScript: no I/O. The consumer (infrastructure/choreography.consumer.ts) applies the
// reaction in the transaction that records the event as processed.
import { StockRefusedV1 } from '@shoplab/contracts';
import type { CheckoutMode } from './checkout-mode';
import type { OrderStatus } from './order';

export const STOCK_RESERVED = 'shop.catalog.stock_reserved.v1';
export const STOCK_REFUSED = StockRefusedV1.type;
export const STOCK_RELEASED = 'shop.catalog.stock_released.v1';
export const STOCK_COMMITTED = 'shop.catalog.stock_committed.v1';
export const PAYMENT_CAPTURED = 'shop.payment.captured.v1';

/**
 * The idempotency key of a choreographed order's command to a participant:
 * `<orderId>:choreography:<step>`. Distinct from the saga's `<orderId>:<step>`, so each
 * participant can tell from its own records which reservations and payments a choreography
 * holds (the catalog commits, and payment captures, only those).
 */
export function choreographyKey(orderId: string, step: string): string {
  return `${orderId}:choreography:${step}`;
}

/** The cancel reason when the stock was released: in this choreography only a refused payment releases it. */
export const RELEASED_REASON = 'payment_declined';

/** What the order knows of itself when an event about it arrives. */
export interface OrderFacts {
  checkoutMode: CheckoutMode;
  status: OrderStatus;
  /** stock_committed is on the order's timeline. */
  stockCommitted?: boolean;
  /** payment.captured was heard before stock_committed (CAPTURE_HEARD on the timeline): the order's payment id. */
  capturedPaymentId?: string;
}

/** The timeline's row for a capture heard before the commit: the order waits for stock_committed to confirm. */
export const CAPTURE_HEARD = 'choreography:capture_heard';

export type OrderReaction =
  /** The stock is held: hand the card to payment (the card never leaves order's vault otherwise). */
  | { kind: 'authorize' }
  | { kind: 'confirm'; paymentId: string }
  | { kind: 'cancel'; reason: string }
  /** payment.captured before stock_committed (two topics): remembered, the commit confirms. */
  | { kind: 'await_commit' }
  /** Not this order's business (another mode, already ended, unknown): recorded nowhere. */
  | { kind: 'ignore'; why: string };

export interface ChoreographyEvent {
  type: string;
  data: unknown;
}

/** The reaction to one event about an order (`undefined`: the order does not exist here). */
export function orderReaction(event: ChoreographyEvent, order: OrderFacts | undefined): OrderReaction {
  if (!order) return { kind: 'ignore', why: 'unknown order' };
  if (order.checkoutMode !== 'choreographed') return { kind: 'ignore', why: `${order.checkoutMode} order` };
  if (order.status !== 'PENDING') return { kind: 'ignore', why: `already ${order.status}` };
  const data = (event.data ?? {}) as { reason?: unknown; paymentId?: unknown };
  switch (event.type) {
    case STOCK_RESERVED:
      return { kind: 'authorize' };
    case STOCK_REFUSED:
      return { kind: 'cancel', reason: typeof data.reason === 'string' ? data.reason : 'reservation_refused' };
    case STOCK_RELEASED:
      return { kind: 'cancel', reason: RELEASED_REASON };
    case PAYMENT_CAPTURED:
      if (typeof data.paymentId !== 'string') return { kind: 'ignore', why: 'captured without a payment id' };
      return order.stockCommitted ? { kind: 'confirm', paymentId: data.paymentId } : { kind: 'await_commit' };
    case STOCK_COMMITTED:
      return order.capturedPaymentId
        ? { kind: 'confirm', paymentId: order.capturedPaymentId }
        : { kind: 'ignore', why: 'committed; the capture confirms' };
    default:
      return { kind: 'ignore', why: `${event.type} needs no reaction` };
  }
}

/** The order id an event is about: the reservation id of a stock event, `orderId` of a payment event. */
export function orderIdOf(event: ChoreographyEvent): string | undefined {
  const data = (event.data ?? {}) as { reservationId?: unknown; orderId?: unknown };
  if (typeof data.orderId === 'string') return data.orderId;
  if (typeof data.reservationId === 'string') return data.reservationId;
  return undefined;
}
