// The order-events consumer: the chassis' idempotent Prisma consumer (each event in ONE
// transaction with its processed_events row; retries, then order.events.dlq) around
// applyOrderEvent. The booking call to the legacy system runs inside that transaction: a
// redelivery after a booked-but-uncommitted event books again, and the legacy system returns
// the same consignment for the same order (its CustomerRef).
import { createPrismaConsumer, type EventConsumer, type PrismaConsumerWiring } from '@shoplab/chassis';
import { applyOrderEvent } from '../application/order-events';
import type { Shipping } from '../application/shipping';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaShipmentStore } from './shipment.store';

export const ORDER_EVENTS_GROUP = 'shipping-order-events';
/**
 * The topic's partitions (infra: 3) consumed at once: a shipment depends on one event of its
 * order only (the confirmation), so the order across partitions does not matter, and the slow
 * legacy booking is not paid one event at a time.
 */
const PARTITIONS_AT_ONCE = 3;
/**
 * A new group (the service's first start on a shop) begins with the orders confirmed from then
 * on: the orders confirmed before shipping existed were not its to ship, and a shop that has
 * thousands of them would book each through the slow legacy system at start. Once the group has
 * committed offsets, a restart resumes where it stopped, whatever was confirmed meanwhile.
 */
const FROM_BEGINNING = false;

export interface OrderEventsConsumerOptions extends PrismaConsumerWiring<PrismaClient> {
  shipping: Shipping;
  parcel: { country: string; gramsPerUnit: number };
}

export function createOrderEventsConsumer(options: OrderEventsConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'order-events' });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...options,
    groupId: options.groupId ?? ORDER_EVENTS_GROUP,
    partitionsConsumedConcurrently: PARTITIONS_AT_ONCE,
    fromBeginning: FROM_BEGINNING,
    handler: async (event, tx) => {
      const outcome = await applyOrderEvent(event, options.shipping, new PrismaShipmentStore(tx), options.parcel);
      log[outcome.kind === 'shipment' ? 'info' : 'debug']({ eventId: event.id, ...outcome }, 'order event applied');
    },
  });
}
