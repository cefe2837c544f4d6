// The order-events consumer: the chassis' Prisma-transactional consumer (each event applied in
// ONE transaction with its processed_events row; retries, then `<topic>.dlq`) around
// applyOrderEvent (sold counters), run by main.ts through the chassis' consumerIntake.
import { createPrismaConsumer, type EventConsumer, type PrismaConsumerWiring } from '@shoplab/chassis';
import { applyOrderEvent } from '../application/order-events';
import type { CatalogPrisma, CatalogTransaction } from './database';
import { PrismaSalesLedger } from './sales.store';

/** The wiring; `groupId` defaults to ORDER_EVENTS_GROUP. */
export type OrderEventsConsumerOptions = PrismaConsumerWiring<CatalogPrisma>;

export const ORDER_EVENTS_GROUP = 'catalog-order-events';

export function createOrderEventsConsumer(options: OrderEventsConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'order-events' });
  return createPrismaConsumer<CatalogTransaction>({
    ...options,
    groupId: options.groupId ?? ORDER_EVENTS_GROUP,
    handler: async (event, tx) => {
      const outcome = await applyOrderEvent(event, new PrismaSalesLedger(tx));
      log[outcome.kind === 'ignored' ? 'debug' : 'info']({ eventId: event.id, ...outcome }, 'order event applied');
    },
  });
}
