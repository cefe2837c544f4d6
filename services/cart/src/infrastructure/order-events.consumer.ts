// The order-events consumer: the chassis' idempotent consumer (each event applied in ONE Prisma
// transaction with its processed_events row; retries, then `<topic>.dlq`) around applyOrderEvent,
// and the Intake main.ts starts and stops.
import {
  backoffDelayMs,
  createConsumer,
  type EventConsumer,
  ensureTopics,
  type Intake,
  interruptibleSleep,
  type Logger,
  type ServiceKit,
} from '@shoplab/chassis';
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

/**
 * Runs a consumer as an Intake. start() returns at once and connects in the background,
 * retrying with backoff (topics ensured first, with their DLQ): the cart serves reads and
 * writes while Kafka is away, and order events wait in Kafka until the consumer is up.
 */
export function consumerIntake(
  name: string,
  options: { kafka: Kafka; topics: readonly string[]; logger: Logger; create: () => EventConsumer },
): Intake {
  const log = options.logger.child({ component: name });
  let abort = new AbortController();
  let running: EventConsumer | undefined;
  let starting: Promise<void> | undefined;

  const startLoop = async (signal: AbortSignal): Promise<void> => {
    for (let attempt = 1; !signal.aborted; attempt++) {
      const consumer = options.create();
      try {
        await ensureTopics(options.kafka, options.topics, { withDlq: true });
        await consumer.start();
        running = consumer;
        if (attempt > 1) log.info({ attempt }, 'consumer started after retries');
        return;
      } catch (err) {
        await consumer.stop().catch(() => undefined);
        const retryInMs = backoffDelayMs(attempt, { initialMs: 500, maxMs: 15_000 });
        log.warn({ err, attempt, retryInMs }, 'cannot start the consumer yet; retrying');
        await interruptibleSleep(retryInMs, signal);
      }
    }
  };

  return {
    name,
    start() {
      abort = new AbortController();
      starting = startLoop(abort.signal);
    },
    async stop() {
      abort.abort();
      await starting;
      const consumer = running;
      running = undefined;
      await consumer?.stop();
    },
  };
}
