// A consumer of one source topic (order.events or payment.events): the chassis' Prisma-
// transactional consumer (each event applied in ONE transaction with its processed_events row;
// retries, then `<topic>.dlq`) around projectEvent.
import { createPrismaConsumer, type EventConsumer, type PrismaConsumerWiring } from '@shoplab/chassis';
import { projectEvent } from '../application/projection';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaHistoryWrites } from './history.store';

export type HistoryConsumerOptions = PrismaConsumerWiring<PrismaClient>;

/** The groups of the first generation; a rebuild's are `<group>-g<generation>` (HistoryProjector). */
export const ORDER_EVENTS_GROUP = 'history-order-events';
export const PAYMENT_EVENTS_GROUP = 'history-payment-events';

export function createHistoryConsumer(options: HistoryConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'history-projection', topic: options.topic });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...options,
    groupId: options.groupId ?? `history-${options.topic.replace(/\./g, '-')}`,
    handler: async (event, tx) => {
      const outcome = await projectEvent(event, options.topic, new PrismaHistoryWrites(tx));
      log[outcome.kind === 'applied' ? 'info' : 'debug']({ eventId: event.id, ...outcome }, 'event projected');
    },
  });
}
