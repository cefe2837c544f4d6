// The idempotent consumer on kafkajs (createConsumer) and its life as a service Intake
// (consumerIntake): the per-message logic is message-processor.ts.
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { backoffDelayMs, sleep } from './backoff';
import type { FaultInjector } from './chaos';
import { consumerMetrics } from './consumer-metrics';
import { topicOwner } from './events';
import { ensureTopics } from './kafka';
import type { Logger } from './logging';
import { createMessageProcessor, type EventHandler } from './message-processor';
import { createProducer, type EventProducer } from './producer';
import type { Intake } from './service';
import { pgTransactionRunner, type SqlTransaction, type TransactionRunner } from './sql';

interface ConsumerCommonOptions<Tx> {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  handler: EventHandler<Tx>;
  logger: Logger;
  metrics?: { registry: Registry };
  chaos?: Pick<FaultInjector, 'apply'>;
  /** Handler attempts before the message goes to the DLQ (default 5). */
  maxAttempts?: number;
  /** Backoff between attempts (default 100 ms doubling up to 5 s, with jitter). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** DLQ topic for a source topic (default `<topic>.dlq`). */
  dlqTopic?: string | ((topic: string) => string);
  /** Where a new group starts: the earliest offset (default true) or only new messages. */
  fromBeginning?: boolean;
  partitionsConsumedConcurrently?: number;
  consumerConfig?: Omit<ConsumerConfig, 'groupId'>;
  /** Producer for DLQ writes (default: one of its own). */
  producer?: EventProducer;
  /**
   * The service that alone publishes to the topics consumed, e.g. `order`: an event whose source
   * is not `/shoplab/<owner>` is dead-lettered unapplied. Default: each topic's name says it
   * (topicOwner: `order.events` → order); a topic whose name says nothing accepts any source.
   */
  owner?: string;
}

/** `db`: a pg pool; the handler gets the `pg.PoolClient` inside BEGIN. */
export interface PgConsumerOptions extends ConsumerCommonOptions<pg.PoolClient> {
  db: pg.Pool;
}
/** `transaction`: any runner, e.g. `(work) => prisma.$transaction(work)`; the handler gets its `tx`. */
export interface RunnerConsumerOptions<Tx extends SqlTransaction> extends ConsumerCommonOptions<Tx> {
  transaction: TransactionRunner<Tx>;
}

export interface EventConsumer {
  readonly groupId: string;
  /** Connects, subscribes and starts consuming. */
  start(): Promise<void>;
  /** Stops fetching, lets the in-flight handler finish (no further retries), and disconnects. */
  stop(): Promise<void>;
  /**
   * Calls `listener` once if kafkajs gives this consumer up: it crashed with an error kafkajs
   * does not restart after (e.g. "Failed to find group coordinator" while a restarted broker
   * is still loading its groups). The consumer then fetches nothing more; consumerIntake
   * replaces it. A listener added after that (the crash may come while start() is still
   * joining the group) is called at once.
   */
  onGiveUp(listener: (err: unknown) => void): void;
}

/**
 * An idempotent consumer: each event is applied in ONE transaction that also records its id
 * in `processed_events` (a redelivered id is skipped), failing handlers are retried with
 * backoff and then dead-lettered to `<topic>.dlq`, and an offset is committed only after the
 * transaction committed or the DLQ write succeeded.
 */
export function createConsumer(options: PgConsumerOptions): EventConsumer;
export function createConsumer<Tx extends SqlTransaction>(options: RunnerConsumerOptions<Tx>): EventConsumer;
export function createConsumer(options: PgConsumerOptions | RunnerConsumerOptions<SqlTransaction>): EventConsumer {
  const { kafka, groupId, logger } = options;
  const log = logger.child({ component: 'kafka-consumer', group: groupId });
  const transaction = (
    'db' in options ? pgTransactionRunner(options.db) : options.transaction
  ) as TransactionRunner<SqlTransaction>;
  const ownProducer = options.producer ? undefined : createProducer(kafka, { logger });
  const producer = options.producer ?? (ownProducer as EventProducer);
  const metrics = consumerMetrics(options.metrics?.registry ?? new Registry());
  const dlq = options.dlqTopic;
  const dlqTopic = typeof dlq === 'function' ? dlq : dlq ? () => dlq : (topic: string) => `${topic}.dlq`;
  const ownerOf = options.owner === undefined ? topicOwner : () => options.owner;
  const unowned = options.topics.filter((topic) => ownerOf(topic) === undefined);
  if (unowned.length > 0) {
    log.warn({ topics: unowned }, 'no owner known for these topics: events from any source are applied');
  }

  let consumer: Consumer | undefined;
  let abort = new AbortController();
  const giveUpListeners: ((err: unknown) => void)[] = [];
  // Set once kafkajs gave this consumer up: a listener added later (the crash may come while
  // start() is still joining the group) is told at once.
  let givenUp: { err: unknown } | undefined;

  return {
    groupId,
    async start() {
      if (consumer) return;
      abort = new AbortController();
      givenUp = undefined;
      // kafkajs' stop() waits for the fetch long-poll in flight: 1 s instead of 5 s keeps shutdown quick.
      const c = kafka.consumer({ maxWaitTimeInMs: 1000, ...options.consumerConfig, groupId });
      consumer = c;
      const processor = createMessageProcessor<SqlTransaction>({
        groupId,
        transaction,
        handler: options.handler as EventHandler<SqlTransaction>,
        logger,
        metrics,
        ...(options.chaos ? { chaos: options.chaos } : {}),
        maxAttempts: Math.max(1, options.maxAttempts ?? 5),
        backoff: options.backoff ?? {},
        dlqTopic,
        producer,
        signal: abort.signal,
        owner: ownerOf,
      });
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
        metrics.lag.set(
          { topic: payload.topic, group: groupId, partition: String(payload.partition) },
          Number(payload.offsetLag),
        );
      });
      c.on(c.events.CRASH, ({ payload }) => {
        log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
        if (!payload.restart && consumer === c && !givenUp) {
          givenUp = { err: payload.error };
          for (const listener of giveUpListeners) listener(payload.error);
        }
      });
      await c.connect();
      await c.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
      // eachBatch with manual resolve and commit: consumer.commitOffsets() silently does nothing
      // once stop() has begun, which would lose the commit of the message stop() waits for.
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          const { topic, partition } = batch;
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break;
            const done = await processor({
              topic,
              partition,
              message,
              heartbeat,
              commit: (offset) =>
                commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset }] }] }),
            });
            if (!done) break;
            resolveOffset(message.offset);
            await heartbeat();
          }
        },
      });
      log.info({ topics: options.topics }, 'consumer started');
    },
    async stop() {
      const c = consumer;
      if (!c) return;
      consumer = undefined;
      abort.abort();
      // kafkajs' stop waits for the in-flight eachMessage; the abort only cuts retries short.
      await c.stop();
      await c.disconnect();
      await ownProducer?.disconnect();
      log.info('consumer stopped');
    },
    onGiveUp(listener) {
      giveUpListeners.push(listener);
      if (givenUp) listener(givenUp.err);
    },
  };
}

/**
 * Runs a consumer as an Intake. start() returns at once and connects in the background,
 * retrying with backoff (topics ensured first, with their DLQ): the service keeps serving
 * while Kafka is away, and events wait in Kafka until the consumer is up. It also supervises:
 * a consumer kafkajs gives up on (onGiveUp) is stopped and replaced by a new one, through the
 * same retrying start, so no outage leaves a service that has quietly stopped consuming.
 */
export function consumerIntake(
  name: string,
  options: {
    kafka: Kafka;
    topics: readonly string[];
    logger: Logger;
    create: () => EventConsumer;
    /** Backoff between start attempts (default 500 ms doubling to 15 s, with jitter). */
    backoff?: { initialMs?: number; maxMs?: number };
  },
): Intake {
  const log = options.logger.child({ component: name });
  const backoff = { initialMs: options.backoff?.initialMs ?? 500, maxMs: options.backoff?.maxMs ?? 15_000 };
  let abort = new AbortController();
  let running: EventConsumer | undefined;
  let starting: Promise<void> | undefined;

  const startLoop = async (signal: AbortSignal): Promise<void> => {
    for (let attempt = 1; !signal.aborted; attempt++) {
      const consumer = options.create();
      try {
        await ensureTopics(options.kafka, options.topics, { withDlq: true });
        await consumer.start();
        if (signal.aborted) {
          await consumer.stop();
          return;
        }
        running = consumer;
        consumer.onGiveUp((err) => replace(consumer, err, signal));
        if (attempt > 1) log.info({ attempt }, 'consumer started after retries');
        return;
      } catch (err) {
        await consumer.stop().catch(() => undefined);
        const retryInMs = backoffDelayMs(attempt, backoff);
        log.warn({ err, attempt, retryInMs }, 'cannot start the consumer yet; retrying');
        await sleep(retryInMs, signal);
      }
    }
  };

  const replace = (dead: EventConsumer, err: unknown, signal: AbortSignal): void => {
    if (signal.aborted || running !== dead) return;
    running = undefined;
    log.warn({ err }, 'kafkajs gave the consumer up; replacing it');
    starting = (async () => {
      await dead
        .stop()
        .catch((stopErr: unknown) => log.warn({ err: stopErr }, 'stopping the given-up consumer failed'));
      await sleep(backoff.initialMs, signal);
      await startLoop(signal);
    })();
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
