// The payment-events consumer: the chassis' idempotent consumer (each event applied in ONE Prisma
// transaction with its processed_events row; retries, then `<topic>.dlq`) around
// applyPaymentEvent, run by main.ts through the chassis' consumerIntake.
import { createConsumer, type EventConsumer, type ServiceKit } from '@shoplab/chassis';
import type { Kafka } from 'kafkajs';
import { applyPaymentEvent } from '../application/payment-events';
import type { OrderConfig } from '../config';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaPaymentEventLog } from './payment-events.repository';

export interface PaymentEventsConsumerOptions {
  kafka: Kafka;
  prisma: PrismaClient;
  kit: Pick<ServiceKit<OrderConfig>, 'logger' | 'metrics' | 'chaos'>;
  /** The payment service's topic (PAYMENT_EVENTS_TOPIC). */
  topic: string;
  /** Default `order-payment-events`. */
  groupId?: string;
  maxAttempts?: number;
  backoff?: { initialMs?: number; maxMs?: number };
}

export const PAYMENT_EVENTS_GROUP = 'order-payment-events';

export function createPaymentEventsConsumer(options: PaymentEventsConsumerOptions): EventConsumer {
  const { prisma, kit } = options;
  const log = kit.logger.child({ component: 'payment-events' });
  return createConsumer<Prisma.TransactionClient>({
    kafka: options.kafka,
    groupId: options.groupId ?? PAYMENT_EVENTS_GROUP,
    topics: [options.topic],
    logger: kit.logger,
    metrics: { registry: kit.metrics.registry },
    chaos: kit.chaos,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    transaction: (work) => prisma.$transaction(work, { maxWait: 5_000, timeout: 10_000 }),
    handler: async (event, tx, meta) => {
      const outcome = await applyPaymentEvent(event, new PrismaPaymentEventLog(tx), {
        traceparent: meta.headers.traceparent,
      });
      if (outcome.kind === 'unknown-order') {
        log.warn({ eventId: event.id, ...outcome }, 'payment event for an order this service does not have; skipped');
      } else {
        log[outcome.kind === 'recorded' ? 'info' : 'debug']({ eventId: event.id, ...outcome }, 'payment event applied');
      }
    },
  });
}
