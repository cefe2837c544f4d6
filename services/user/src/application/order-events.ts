// What the user service does with the order service's events (topic order.events): a confirmed
// or cancelled order is logged as the notification its buyer would have been e-mailed. Runs
// inside the consumer's transaction, which also records the event id.
import { type DomainEvent, parseEventData } from '@shoplab/chassis';
import { OrderCancelledV1, OrderConfirmedV1 } from '@shoplab/contracts';
import { orderCancelledNotification, orderConfirmedNotification } from '../domain/notification';
import type { NotificationWriter } from './ports';

export type OrderEventOutcome =
  | { kind: 'notified'; notification: 'order_confirmed' | 'order_cancelled'; orderId: string; userId: string }
  /** The order already had this notification (the same order under another event id). */
  | { kind: 'already-notified'; orderId: string }
  /** No such user (a checkout for an unknown user is cancelled for exactly that): nobody to tell. */
  | { kind: 'no-recipient'; orderId: string; userId: string }
  /** Not an event that notifies anyone (created, anything newer): recorded and skipped. */
  | { kind: 'ignored'; type: string };

/** Applies one order event; throws PoisonMessageError (→ the DLQ) when its data breaks its schema in @shoplab/contracts. */
export async function applyOrderEvent(event: DomainEvent, log: NotificationWriter): Promise<OrderEventOutcome> {
  const order =
    event.type === OrderConfirmedV1.type
      ? { confirmed: parseEventData(OrderConfirmedV1, event) }
      : event.type === OrderCancelledV1.type
        ? { cancelled: parseEventData(OrderCancelledV1, event) }
        : undefined;
  if (!order) return { kind: 'ignored', type: event.type };
  const { orderId, userId } = order.confirmed ?? order.cancelled;
  const user = await log.recipient(userId);
  if (!user) return { kind: 'no-recipient', orderId, userId };
  const notification = order.confirmed
    ? orderConfirmedNotification(user, order.confirmed)
    : orderCancelledNotification(user, order.cancelled);
  if (!(await log.add(notification))) return { kind: 'already-notified', orderId };
  return {
    kind: 'notified',
    notification: notification.kind as 'order_confirmed' | 'order_cancelled',
    orderId,
    userId,
  };
}
