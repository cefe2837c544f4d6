// The payment-events consumer: the chassis' Prisma-transactional consumer (each event applied in
// ONE transaction with its processed_events row; retries, then `<topic>.dlq`) around
// applyPaymentEvent, run by main.ts through the chassis' consumerIntake.
import { createPrismaConsumer, type EventConsumer, type PrismaConsumerWiring } from '@shoplab/chassis';
import { applyPaymentEvent } from '../application/payment-events';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { PrismaPaymentEventLog } from './payment-events.repository';

/** The wiring; `groupId` defaults to PAYMENT_EVENTS_GROUP. */
export type PaymentEventsConsumerOptions = PrismaConsumerWiring<PrismaClient>;

export const PAYMENT_EVENTS_GROUP = 'order-payment-events';

export function createPaymentEventsConsumer(options: PaymentEventsConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'payment-events' });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...options,
    groupId: options.groupId ?? PAYMENT_EVENTS_GROUP,
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
