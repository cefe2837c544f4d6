// The per-message logic of the idempotent consumer: decode the event, apply it in one
// transaction that also records its id (processed-events.ts), retry a failing handler with
// backoff, dead-letter what cannot be applied (dead-letter.ts), and only then commit the offset.
// An unreachable database is waited out, not held against the message (databaseUnavailable).
import { performance } from 'node:perf_hooks';
import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { EachMessagePayload } from 'kafkajs';
import { backoffDelayMs, sleep } from './backoff';
import type { FaultInjector } from './chaos';
import { processClock } from './clock';
import type { ConsumerMetrics } from './consumer-metrics';
import { databaseError } from './database-errors';
import { deadLetterWriter } from './dead-letter';
import { errorText, ShopError } from './errors';
import {
  type DomainEvent,
  decodeEvent,
  extractTraceContext,
  ForeignSourceError,
  headersToStrings,
  PoisonMessageError,
  sourceOf,
  topicOwner,
} from './events';
import type { Logger } from './logging';
import { recordProcessedEvent } from './processed-events';
import type { EventProducer } from './producer';
import type { SqlTransaction, TransactionRunner } from './sql';

const tracer = trace.getTracer('@shoplab/chassis/messaging');

/** What the handler learns about the message besides the event. */
export interface ConsumedEventContext {
  topic: string;
  partition: number;
  offset: string;
  groupId: string;
  /** 1 on the first try. */
  attempt: number;
  headers: Record<string, string>;
}

/** Applies one event inside the consumer's transaction (the same one that records the event id). */
export type EventHandler<Tx> = (event: DomainEvent, tx: Tx, meta: ConsumedEventContext) => Promise<void>;

/** Everything the per-message logic needs; createConsumer wires it to kafkajs. Exposed for tests. */
export interface MessageProcessorOptions<Tx extends SqlTransaction> {
  groupId: string;
  transaction: TransactionRunner<Tx>;
  handler: EventHandler<Tx>;
  logger: Logger;
  metrics: ConsumerMetrics;
  chaos?: Pick<FaultInjector, 'apply'>;
  maxAttempts: number;
  backoff: { initialMs?: number; maxMs?: number };
  dlqTopic: (topic: string) => string;
  producer: Pick<EventProducer, 'send'>;
  /** Aborted on stop: backoff waits end and no further attempt starts. */
  signal: AbortSignal;
  /**
   * The service whose events a topic carries (default: topicOwner, from the topic's name):
   * an event of another source is dead-lettered unapplied. Undefined for a topic: any source.
   */
  owner?: (topic: string) => string | undefined;
}

/**
 * True when an attempt failed because the consumer's own database is unreachable (PostgreSQL
 * down or restarting), raw or already mapped by a repository: the message is fine, the store is
 * away, and no number of attempts says anything about the message.
 */
export function databaseUnavailable(err: unknown): boolean {
  const mapped = err instanceof ShopError ? err : databaseError(err, 'consumer');
  if (mapped?.code !== 'SHOP_DEPENDENCY_UNAVAILABLE') return false;
  return mapped === err
    ? databaseError((err as Error).cause, 'consumer')?.code === 'SHOP_DEPENDENCY_UNAVAILABLE'
    : true;
}

/** One message to process, with the means to commit past it. */
export interface MessageToProcess extends Pick<EachMessagePayload, 'topic' | 'partition' | 'message' | 'heartbeat'> {
  /** Commits `offset` (the next offset to read) for the message's partition. */
  commit: (offset: string) => Promise<void>;
}

/**
 * The per-message logic: decode → (trace span) → attempts in a transaction → commit, or DLQ →
 * commit. Resolves true once the offset is committed past the message, false when it gave up
 * because the consumer is stopping (the message will be delivered again).
 */
export function createMessageProcessor<Tx extends SqlTransaction>(
  options: MessageProcessorOptions<Tx>,
): (payload: MessageToProcess) => Promise<boolean> {
  const { groupId, metrics, signal } = options;
  const log = options.logger.child({ component: 'kafka-consumer', group: groupId });

  const deadLetter = deadLetterWriter({
    groupId,
    dlqTopic: options.dlqTopic,
    producer: options.producer,
    metrics,
    log,
    backoff: options.backoff,
    signal,
  });
  const next = (offset: string) => (BigInt(offset) + 1n).toString();
  const ownerOf = options.owner ?? topicOwner;

  return async ({ topic, partition, message, heartbeat, commit }) => {
    const labels = { topic, group: groupId };
    metrics.consumed.inc(labels);
    const headers = headersToStrings(message.headers);
    const parent = extractTraceContext(headers);

    let event: DomainEvent;
    try {
      event = decodeEvent(message);
      // Only the topic's owner speaks on it: an event from another source (a forged or misrouted
      // one) is never applied, and never moves this process's clocks.
      const owner = ownerOf(topic);
      if (owner !== undefined && event.source !== sourceOf(owner)) {
        metrics.foreignSource.inc(labels);
        throw new ForeignSourceError(topic, event, sourceOf(owner));
      }
    } catch (err) {
      if (!(await deadLetter({ topic, partition, message, error: err, attempts: 0, reason: 'poison' }))) return false;
      await commit(next(message.offset));
      return true;
    }
    // A receive: the process's clocks move past the producer's (ce_lamport, ce_hlc; an event
    // without them, from an older producer, only advances the local clocks).
    processClock.receive(event);

    return tracer.startActiveSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic,
          'messaging.destination.partition.id': String(partition),
          'messaging.kafka.offset': Number(message.offset),
          'messaging.consumer.group.name': groupId,
          'messaging.message.id': event.id,
          'cloudevents.event_type': event.type,
          'cloudevents.event_subject': event.subject,
        },
      },
      parent,
      async (span: Span) => {
        try {
          let lastError: unknown;
          let outcome: 'processed' | 'duplicate' | undefined;
          let attempts = 0;
          let outage = 0;
          for (let attempt = 1; attempt <= options.maxAttempts && !outcome; attempt++) {
            attempts = attempt;
            const started = performance.now();
            try {
              await options.chaos?.apply('consumer', topic);
              outcome = await options.transaction(async (tx) => {
                // Recording first also serialises a concurrent redelivery on the primary key.
                if (!(await recordProcessedEvent(tx, groupId, event.id))) return 'duplicate' as const;
                await options.handler(event, tx, {
                  topic,
                  partition,
                  offset: message.offset,
                  groupId,
                  attempt,
                  headers,
                });
                return 'processed' as const;
              });
              metrics.handlerDuration.observe({ ...labels, outcome }, (performance.now() - started) / 1000);
              if (outcome === 'duplicate') {
                metrics.duplicates.inc(labels);
                log.info({ topic, eventId: event.id, type: event.type }, 'duplicate event skipped');
              } else {
                metrics.processed.inc(labels);
              }
            } catch (err) {
              lastError = err;
              metrics.handlerDuration.observe({ ...labels, outcome: 'error' }, (performance.now() - started) / 1000);
              metrics.failures.inc(labels);
              span.recordException(err instanceof Error ? err : new Error(String(err)));
              log.warn({ err, topic, eventId: event.id, type: event.type, attempt }, 'event handler failed');
              // Stopping: leave the offset where it is; the message is delivered again later.
              if (signal.aborted) return false;
              // A handler that finds the event's data broken says so: retrying cannot help.
              if (err instanceof PoisonMessageError) break;
              // The database is away: not the message's fault, so not one of its attempts. Wait
              // for the database (backing off to the cap) instead of dead-lettering a good event.
              if (databaseUnavailable(err)) {
                outage++;
                attempt--;
                await sleep(backoffDelayMs(outage, options.backoff), signal);
                if (signal.aborted) return false;
                await heartbeat();
                continue;
              }
              outage = 0;
              if (attempt < options.maxAttempts) {
                await sleep(backoffDelayMs(attempt, options.backoff), signal);
                if (signal.aborted) return false;
                await heartbeat();
              }
            }
          }
          if (!outcome) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(lastError) });
            const reason = lastError instanceof PoisonMessageError ? 'poison' : 'failed';
            if (!(await deadLetter({ topic, partition, message, error: lastError, attempts, reason }))) return false;
          }
          // Only now, with the side effect committed (or the message dead-lettered), may the offset
          // move on. A failed commit propagates: kafkajs redelivers and the ledger skips the duplicate.
          await commit(next(message.offset));
          return true;
        } finally {
          span.end();
        }
      },
    );
  };
}
