// A consumer of one source topic (order.events or payment.events): the chassis' Prisma-
// transactional consumer (each event applied in ONE transaction with its processed_events row;
// retries, then `<topic>.dlq`) around projectEvent. The partitions of a topic are consumed at
// the same time (each in its own order): the projection does not depend on the order events
// arrive in, and a rebuild replays faster.
import { createPrismaConsumer, type EventConsumer, type PrismaConsumerWiring } from '@shoplab/chassis';
import { projectEvent } from '../application/projection';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaHistoryWrites } from './history.store';

/** The source topics' partition count (infra: 3): every partition at once. */
const PARTITIONS_AT_ONCE = 3;

/** The wiring; main.ts gives the group (config: ORDER_EVENTS_GROUP, PAYMENT_EVENTS_GROUP, `-g<n>` after a rebuild). */
export type HistoryConsumerOptions = PrismaConsumerWiring<PrismaClient>;

export function createHistoryConsumer(options: HistoryConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'history-projection', topic: options.topic });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...options,
    groupId: options.groupId ?? `history-${options.topic.replace(/\./g, '-')}`,
    partitionsConsumedConcurrently: PARTITIONS_AT_ONCE,
    handler: async (event, tx) => {
      const outcome = await projectEvent(event, options.topic, new PrismaHistoryWrites(tx));
      log[outcome.kind === 'applied' ? 'info' : 'debug']({ eventId: event.id, ...outcome }, 'event projected');
    },
  });
}
