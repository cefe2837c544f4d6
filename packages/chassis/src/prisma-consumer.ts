// An idempotent event consumer whose handler writes through Prisma: each event is applied in ONE
// Prisma transaction with its processed_events row (retries, then `<topic>.dlq`: createConsumer).
// A service's consumer states only its group, its handler and what it logs.
import type { Kafka } from 'kafkajs';
import type { BaseConfig } from './config';
import {
  consumerIntake,
  createConsumer,
  type EventConsumer,
  type EventHandler,
  type SqlTransaction,
} from './messaging';
import type { Intake, ServiceKit } from './service';

/** The part of a Prisma client the consumer needs: interactive transactions. */
export interface PrismaTransactional<Tx> {
  $transaction<R>(work: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** How long an event's transaction may wait for a connection, and run. */
export const CONSUMER_TRANSACTION = { maxWait: 5_000, timeout: 10_000 } as const;

/** What main.ts (or a test) hands a service's consumer factory. */
export interface PrismaConsumerWiring<P> {
  kafka: Kafka;
  prisma: P;
  kit: Pick<ServiceKit<BaseConfig>, 'logger' | 'metrics' | 'chaos'>;
  /** The topic consumed (e.g. ORDER_EVENTS_TOPIC). */
  topic: string;
  /** The consumer group (each service documents its default). */
  groupId?: string;
  /** Handler attempts before the message goes to the DLQ (the chassis' default when absent). */
  maxAttempts?: number;
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface PrismaConsumerOptions<Tx extends SqlTransaction>
  extends PrismaConsumerWiring<PrismaTransactional<Tx>> {
  groupId: string;
  /** Applies one event with `tx`, the transaction its processed_events row commits in. */
  handler: EventHandler<Tx>;
  /**
   * Partitions whose events are handled at the same time (default 1). Each partition keeps its
   * order; more than 1 suits a handler whose result does not depend on the order of events
   * across partitions (the history's projection).
   */
  partitionsConsumedConcurrently?: number;
  /** Where a new group starts: the earliest offset (default) or only the messages after it joins. */
  fromBeginning?: boolean;
  /** The service that alone publishes to the topic (default: its name says it; createConsumer's `owner`). */
  owner?: string;
}

/** createConsumer with a Prisma transaction per event (CONSUMER_TRANSACTION's limits). */
export function createPrismaConsumer<Tx extends SqlTransaction>(options: PrismaConsumerOptions<Tx>): EventConsumer {
  const { prisma, kit } = options;
  return createConsumer<Tx>({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.topic],
    logger: kit.logger,
    metrics: { registry: kit.metrics.registry },
    chaos: kit.chaos,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.partitionsConsumedConcurrently
      ? { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently }
      : {}),
    ...(options.fromBeginning !== undefined ? { fromBeginning: options.fromBeginning } : {}),
    ...(options.owner !== undefined ? { owner: options.owner } : {}),
    transaction: (work) => prisma.$transaction(work, CONSUMER_TRANSACTION),
    handler: options.handler,
  });
}

/**
 * A service's consumer as startService intake (consumerIntake: started in the background,
 * retried while Kafka is away, the topic and its DLQ ensured), made by `create(wiring)`.
 */
export function prismaConsumerIntake<P>(
  name: string,
  create: (wiring: PrismaConsumerWiring<P>) => EventConsumer,
  wiring: PrismaConsumerWiring<P>,
): Intake {
  return consumerIntake(name, {
    kafka: wiring.kafka,
    topics: [wiring.topic],
    logger: wiring.kit.logger,
    create: () => create(wiring),
  });
}
