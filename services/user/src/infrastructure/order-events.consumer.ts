// The order-events consumer: the chassis' Prisma-transactional consumer (each event applied in
// ONE transaction with its processed_events row; retries, then `<topic>.dlq`) around
// applyOrderEvent (the notification log), run by main.ts through the chassis' consumerIntake.
import { createPrismaConsumer, type EventConsumer, type PrismaConsumerWiring } from '@shoplab/chassis';
import { applyOrderEvent } from '../application/order-events';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaNotificationWriter } from './notification.repository';

/** The wiring; `groupId` defaults to ORDER_EVENTS_GROUP. */
export type OrderEventsConsumerOptions = PrismaConsumerWiring<PrismaClient>;

export const ORDER_EVENTS_GROUP = 'user-order-events';

export function createOrderEventsConsumer(options: OrderEventsConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'order-events' });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...options,
    groupId: options.groupId ?? ORDER_EVENTS_GROUP,
    handler: async (event, tx) => {
      const outcome = await applyOrderEvent(event, new PrismaNotificationWriter(tx));
      const level = outcome.kind === 'ignored' ? 'debug' : outcome.kind === 'no-recipient' ? 'warn' : 'info';
      log[level]({ eventId: event.id, ...outcome }, 'order event applied');
    },
  });
}
