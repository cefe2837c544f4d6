// What the user service does with the order service's events (topic order.events): a confirmed
// or cancelled order is logged as the notification its buyer would have been e-mailed. Runs
// inside the consumer's transaction, which also records the event id.
import { type DomainEvent, eventType, PoisonMessageError } from '@shoplab/chassis';
import { z } from 'zod';
import { orderCancelledNotification, orderConfirmedNotification } from '../domain/notification';
import type { NotificationWriter } from './ports';

export const ORDER_CONFIRMED = eventType('order', 'confirmed');
export const ORDER_CANCELLED = eventType('order', 'cancelled');

const money = z.object({ amount: z.number().int(), currency: z.string().min(1).max(10) });
const orderRef = z.object({ orderId: z.string().min(1).max(200), userId: z.string().min(1).max(200), total: money });

/** The parts of shop.order.confirmed.v1's data a notification needs (other fields are ignored). */
export const orderConfirmedData = orderRef.extend({
  lines: z
    .array(
      z.object({
        productId: z.string().min(1),
        name: z.string().optional(),
        quantity: z.number().int().positive(),
        lineTotal: money.optional(),
      }),
    )
    .min(1),
});

/** The parts of shop.order.cancelled.v1's data a notification needs. */
export const orderCancelledData = orderRef.extend({ reason: z.string().max(2000).default('not given') });

export type OrderEventOutcome =
  | { kind: 'notified'; notification: 'order_confirmed' | 'order_cancelled'; orderId: string; userId: string }
  /** The order already had this notification (the same order under another event id). */
  | { kind: 'already-notified'; orderId: string }
  /** No such user (a checkout for an unknown user is cancelled for exactly that): nobody to tell. */
  | { kind: 'no-recipient'; orderId: string; userId: string }
  /** Not an event that notifies anyone (created, anything newer): recorded and skipped. */
  | { kind: 'ignored'; type: string };

function parse<T>(schema: z.ZodType<T>, event: DomainEvent): T {
  const parsed = schema.safeParse(event.data);
  if (!parsed.success) {
    throw new PoisonMessageError(`${event.type} ${event.id} has invalid data: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Applies one order event; throws (→ retries, then the DLQ) when its data breaks the contract. */
export async function applyOrderEvent(event: DomainEvent, log: NotificationWriter): Promise<OrderEventOutcome> {
  const order =
    event.type === ORDER_CONFIRMED
      ? { confirmed: parse(orderConfirmedData, event) }
      : event.type === ORDER_CANCELLED
        ? { cancelled: parse(orderCancelledData, event) }
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
