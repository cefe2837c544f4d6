// The order-events consumer: the chassis' Prisma-transactional consumer (each event applied in
// ONE transaction with its processed_events row; retries, then `<topic>.dlq`) around
// applyOrderEvent, run by main.ts through the chassis' consumerIntake.
import { createPrismaConsumer, type EventConsumer, type PrismaConsumerWiring } from '@shoplab/chassis';
import { applyOrderEvent } from '../application/order-events';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaOrderClearances } from './cart.store';

/** The wiring; `groupId` defaults to ORDER_EVENTS_GROUP. */
export interface OrderEventsConsumerOptions extends PrismaConsumerWiring<PrismaClient> {
  /** Topic of the cart's own events written to the outbox (default `cart.events`). */
  eventsTopic?: string;
}

export const ORDER_EVENTS_GROUP = 'cart-order-events';

export function createOrderEventsConsumer(options: OrderEventsConsumerOptions): EventConsumer {
  const { eventsTopic, ...wiring } = options;
  const log = options.kit.logger.child({ component: 'order-events' });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...wiring,
    groupId: options.groupId ?? ORDER_EVENTS_GROUP,
    handler: async (event, tx) => {
      const outcome = await applyOrderEvent(event, new PrismaOrderClearances(tx, eventsTopic));
      log[outcome.kind === 'ignored' ? 'debug' : 'info']({ eventId: event.id, ...outcome }, 'order event applied');
    },
  });
}
