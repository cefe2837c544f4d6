// The order-events consumer: the chassis' idempotent consumer (each event applied in ONE Prisma
// transaction with its processed_events row; retries, then `<topic>.dlq`) around applyOrderEvent,
// run by main.ts through the chassis' consumerIntake.
import { createConsumer, type EventConsumer, type ServiceKit } from '@shoplab/chassis';
import type { Kafka } from 'kafkajs';
import { applyOrderEvent } from '../application/order-events';
import type { CartConfig } from '../config';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaOrderClearances } from './cart.store';

export interface OrderEventsConsumerOptions {
  kafka: Kafka;
  prisma: PrismaClient;
  kit: Pick<ServiceKit<CartConfig>, 'logger' | 'metrics' | 'chaos'>;
  /** The order service's topic (ORDER_EVENTS_TOPIC). */
  topic: string;
  /** Default `cart-order-events`. */
  groupId?: string;
  /** Topic of the cart's own events written to the outbox (default `cart.events`). */
  eventsTopic?: string;
  maxAttempts?: number;
  backoff?: { initialMs?: number; maxMs?: number };
}

export const ORDER_EVENTS_GROUP = 'cart-order-events';

export function createOrderEventsConsumer(options: OrderEventsConsumerOptions): EventConsumer {
  const { prisma, kit } = options;
  const log = kit.logger.child({ component: 'order-events' });
  return createConsumer<Prisma.TransactionClient>({
    kafka: options.kafka,
    groupId: options.groupId ?? ORDER_EVENTS_GROUP,
    topics: [options.topic],
    logger: kit.logger,
    metrics: { registry: kit.metrics.registry },
    chaos: kit.chaos,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    transaction: (work) => prisma.$transaction(work, { maxWait: 5_000, timeout: 10_000 }),
    handler: async (event, tx) => {
      const outcome = await applyOrderEvent(event, new PrismaOrderClearances(tx, options.eventsTopic));
      log[outcome.kind === 'ignored' ? 'debug' : 'info']({ eventId: event.id, ...outcome }, 'order event applied');
    },
  });
}
