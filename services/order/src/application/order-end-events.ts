// The events that end an order (docs/reference.md#saga): the saga runner writes one with the
// saga's last attempt; the end-event repair (infrastructure/end-events.repository.ts) writes one
// for an ended order whose event the outbox never held.
import { createContractEvent } from '@shoplab/chassis';
import { OrderCancelledV1, OrderConfirmedV1 } from '@shoplab/contracts';
import type { SagaSnapshot } from './ports';

export const ORDER_CONFIRMED = OrderConfirmedV1.type;
export const ORDER_CANCELLED = OrderCancelledV1.type;

/** What the end events say about an order (a saga, or an ended order being republished). */
export type EndedOrderFacts = Pick<
  SagaSnapshot,
  'orderId' | 'userId' | 'lines' | 'total' | 'paymentId' | 'cartVersion'
>;

/** shop.order.confirmed.v1: cart takes the purchase out, catalog counts the sale, user logs a notification. */
export function orderConfirmedEvent(order: EndedOrderFacts, confirmedAt: Date) {
  return createContractEvent(OrderConfirmedV1, {
    service: 'order',
    subject: order.orderId,
    time: confirmedAt,
    data: {
      orderId: order.orderId,
      userId: order.userId,
      status: 'CONFIRMED',
      lines: order.lines,
      total: order.total,
      paymentId: order.paymentId ?? null,
      cartVersion: order.cartVersion,
      confirmedAt: confirmedAt.toISOString(),
    },
  });
}

/** shop.order.cancelled.v1, with the reason. */
export function orderCancelledEvent(order: EndedOrderFacts, reason: string, cancelledAt: Date) {
  return createContractEvent(OrderCancelledV1, {
    service: 'order',
    subject: order.orderId,
    time: cancelledAt,
    data: {
      orderId: order.orderId,
      userId: order.userId,
      status: 'CANCELLED',
      reason,
      total: order.total,
      cartVersion: order.cartVersion,
      cancelledAt: cancelledAt.toISOString(),
    },
  });
}
