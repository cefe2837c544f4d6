// Domain events on Kafka: the CloudEvents envelope, an idempotent producer and an idempotent
// consumer with retries and a dead-letter topic (docs/reference.md#calls-and-events).
//
// Wire format: CloudEvents 1.0 in the Kafka binding's *binary* content mode. The message value
// is the event's JSON `data` alone; the attributes travel as `ce_*` headers next to the W3C
// `traceparent`/`tracestate`; the key is the aggregate id (`subject`), so one aggregate's events
// share a partition and keep their order. Binary rather than structured because the value is
// then the plain business payload (console tools, connectors and schema checks read it as is),
// a consumer can read the id and type without parsing a body that may be corrupt (the DLQ
// keeps the original bytes), and it maps one-to-one onto an outbox row (payload + headers).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Context,
  context,
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { CloudEvent, Kafka as CloudEventsKafka } from 'cloudevents';
import {
  type Consumer,
  type ConsumerConfig,
  type EachMessagePayload,
  type IHeaders,
  type Kafka,
  type Message,
  Partitioners,
  type Producer,
  type ProducerConfig,
  type RetryOptions,
} from 'kafkajs';
import type pg from 'pg';
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { z } from 'zod';
import type { FaultInjector } from './chaos';
import type { Logger } from './logging';
import type { Intake } from './service';

// ---------------------------------------------------------------------------------------------
// The envelope

/**
 * Event type naming rule: `shop.<aggregate>.<event>.v<major>`, all lower case, the event in the
 * past tense (`shop.order.confirmed.v1`, `shop.stock.reserved.v1`, `shop.payment.captured.v1`).
 * The aggregate segment is the outbox's `aggregate_type`; `v<major>` changes only when the
 * data's shape changes incompatibly (a new type, published side by side while consumers move).
 */
export const EVENT_TYPE_PATTERN = /^shop\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$/;
/** Event source: `/shoplab/<service>`. */
export const EVENT_SOURCE_PATTERN = /^\/shoplab\/[a-z][a-z0-9-]*$/;

/** A domain event: CloudEvents 1.0 attributes; `subject` is the aggregate id (also the Kafka key). */
export interface DomainEvent<T = unknown> {
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
}

export const domainEventSchema = z.object({
  id: z.uuid(),
  source: z.string().regex(EVENT_SOURCE_PATTERN, 'source must be /shoplab/<service>'),
  type: z.string().regex(EVENT_TYPE_PATTERN, 'type must be shop.<aggregate>.<event>.v<major>'),
  subject: z.string().min(1).max(200),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  data: z.unknown().refine((value) => value !== undefined, 'data is required'),
});

/** `shop.<aggregate>.<event>.v<version>`: eventType('order', 'confirmed') is `shop.order.confirmed.v1`. */
export function eventType(aggregate: string, event: string, version = 1): string {
  const type = `shop.${aggregate}.${event}.v${version}`;
  if (!EVENT_TYPE_PATTERN.test(type)) throw new Error(`invalid event type ${type}`);
  return type;
}

/** The aggregate segment of an event type: `order` for `shop.order.confirmed.v1`. */
export function aggregateTypeOf(type: string): string {
  if (!EVENT_TYPE_PATTERN.test(type)) throw new Error(`invalid event type ${type}`);
  return type.split('.')[1] as string;
}

/** The service's events topic, from the source: `/shoplab/order` publishes to `order.events`. */
export function topicForSource(source: string): string {
  if (!EVENT_SOURCE_PATTERN.test(source)) throw new Error(`invalid event source ${source}`);
  return `${source.slice('/shoplab/'.length)}.events`;
}

export interface NewEvent<T> {
  /** The producing service, e.g. `order` (becomes source `/shoplab/order`). */
  service: string;
  type: string;
  /** The aggregate id. */
  subject: string;
  data: T;
  id?: string;
  time?: Date;
}

/** Builds a validated domain event with a fresh uuid and the current time. */
export function createEvent<T>(input: NewEvent<T>): DomainEvent<T> {
  const event = {
    id: input.id ?? randomUUID(),
    source: `/shoplab/${input.service}`,
    type: input.type,
    subject: input.subject,
    time: (input.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json' as const,
    data: input.data,
  };
  domainEventSchema.parse(event);
  return event;
}

/** The W3C trace context of `ctx` (the active one by default) as headers; empty without a propagator. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The remote parent context carried by message headers (ROOT_CONTEXT when there is none). */
export function extractTraceContext(headers: Record<string, string | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** A Kafka message as the chassis produces it: every value is a string. */
export interface EncodedMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: string;
}

/**
 * Encodes an event in binary mode through the cloudevents SDK's Kafka binding. `extraHeaders`
 * default to the active trace context; pass the headers captured earlier (outbox) instead.
 */
export function encodeEvent(event: DomainEvent, extraHeaders: Record<string, string> = traceHeaders()): EncodedMessage {
  const valid = domainEventSchema.parse(event);
  const binary = CloudEventsKafka.binary(
    new CloudEvent({
      specversion: '1.0',
      id: valid.id,
      source: valid.source,
      type: valid.type,
      subject: valid.subject,
      time: valid.time,
      datacontenttype: valid.datacontenttype,
      data: valid.data,
    }),
  );
  const headers: Record<string, string> = { ...extraHeaders };
  for (const [name, value] of Object.entries(binary.headers)) {
    // The SDK also emits unset attributes (undefined) and ce_datacontenttype; the binding maps
    // datacontenttype to content-type only (kafka-protocol-binding §3.2.1).
    if (typeof value === 'string' && name !== 'ce_datacontenttype') headers[name] = value;
  }
  return { key: valid.subject, value: JSON.stringify(valid.data), headers, timestamp: String(Date.parse(valid.time)) };
}

/**
 * A message that can never be handled (not a CloudEvent, bad JSON, invalid attributes, or — thrown
 * by a handler — data that breaks the event's contract): it goes to the DLQ at once, no retries.
 */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** Kafka headers as strings (kafkajs delivers Buffers; a repeated header keeps its first value). */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) out[name] = value.toString();
  }
  return out;
}

/** Decodes a binary-mode message; throws PoisonMessageError when it is not a valid domain event. */
export function decodeEvent(message: Pick<Message, 'key' | 'value' | 'headers'>): DomainEvent {
  const headers = headersToStrings(message.headers);
  if (message.value === null || message.value === undefined) throw new PoisonMessageError('the message has no value');
  if (!headers.ce_id) throw new PoisonMessageError('not a binary-mode CloudEvent: no ce_id header');
  let decoded: unknown;
  try {
    decoded = CloudEventsKafka.toEvent({
      headers,
      key: message.key?.toString() ?? '',
      value: message.value.toString(),
      body: undefined,
    } as Parameters<typeof CloudEventsKafka.toEvent>[0]);
  } catch (err) {
    throw new PoisonMessageError(`cannot decode the CloudEvent: ${errorMessage(err)}`, { cause: err });
  }
  if (Array.isArray(decoded)) throw new PoisonMessageError('batched CloudEvents are not supported');
  const parsed = domainEventSchema.safeParse(decoded);
  if (!parsed.success) throw new PoisonMessageError(`invalid domain event: ${z.prettifyError(parsed.error)}`);
  return parsed.data as DomainEvent;
}

// ---------------------------------------------------------------------------------------------
// SQL seams: a transaction is a pg client or a Prisma interactive-transaction client

/** The part of pg's Client/PoolClient the chassis uses. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
/** The part of a Prisma (interactive transaction) client the chassis uses. */
export interface PrismaRawQueryable {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}
/** A database transaction the chassis can write to: `pg.PoolClient` inside BEGIN, or Prisma's `tx`. */
export type SqlTransaction = PgQueryable | PrismaRawQueryable;

/** Raw SQL with $1… placeholders on either kind of transaction. */
export interface SqlExecutor {
  rows<R>(sql: string, values?: unknown[]): Promise<R[]>;
  execute(sql: string, values?: unknown[]): Promise<number>;
}

/** Adapts a pg client or a Prisma transaction client to one raw-SQL interface. */
export function sqlExecutor(tx: SqlTransaction): SqlExecutor {
  if ('$executeRawUnsafe' in tx) {
    return {
      rows: async <R>(sql: string, values: unknown[] = []) => (await tx.$queryRawUnsafe<R[]>(sql, ...values)) as R[],
      execute: async (sql, values = []) => Number(await tx.$executeRawUnsafe(sql, ...values)),
    };
  }
  return {
    rows: async <R>(sql: string, values?: unknown[]) => (await tx.query(sql, values)).rows as R[],
    execute: async (sql, values) => (await tx.query(sql, values)).rowCount ?? 0,
  };
}

/** Runs `work` in one database transaction: commits when it resolves, rolls back when it throws. */
export type TransactionRunner<Tx> = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/** A TransactionRunner on a pg pool (BEGIN … COMMIT on one pooled client). */
export function pgTransactionRunner(pool: pg.Pool): TransactionRunner<pg.PoolClient> {
  return async (work) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw err;
    } finally {
      // A client whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
      client.release(broken);
    }
  };
}

/** The idempotent consumer's ledger: one row per (consumer group, event id) applied. */
export const PROCESSED_EVENTS_DDL = `
CREATE TABLE IF NOT EXISTS processed_events (
  consumer_group text        NOT NULL,
  event_id       uuid        NOT NULL,
  processed_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT processed_events_pkey PRIMARY KEY (consumer_group, event_id)
);`;

// ---------------------------------------------------------------------------------------------
// Small shared helpers

/** Exponential backoff with full jitter: a random delay in [0, min(maxMs, initialMs·2^(attempt-1))]. */
export function backoffDelayMs(
  attempt: number,
  { initialMs = 100, maxMs = 5000 }: { initialMs?: number; maxMs?: number } = {},
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  // Never less than a tenth of the ceiling, so a tight retry loop cannot spin.
  return Math.round(ceiling * (0.1 + 0.9 * random()));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export async function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function getOrCreate<M extends Metric>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

/** Routes kafkajs' own log lines into a pino logger (pass as `logCreator` to `new Kafka`). */
export function kafkaLogCreator(logger: Logger) {
  const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = { 1: 'error', 2: 'warn', 4: 'info', 5: 'debug' };
  return () =>
    ({
      namespace,
      level,
      log,
    }: {
      namespace: string;
      level: number;
      log: { message: string; [key: string]: unknown };
    }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      logger[levels[level] ?? 'info']({ kafka: namespace, ...extra }, message);
    };
}

const tracer = trace.getTracer('@shoplab/chassis/messaging');

// ---------------------------------------------------------------------------------------------
// Producer

/** A topic and the messages to append to it, in order. */
export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export interface EventProducer {
  connect(): Promise<void>;
  /** Publishes events in order (key = subject, binary mode, the active trace context in headers). */
  publish(topic: string, events: readonly DomainEvent[]): Promise<void>;
  /** Sends prepared messages (e.g. outbox rows, DLQ copies) in one request; per-partition order is kept. */
  send(batch: readonly TopicMessages[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface EventProducerOptions {
  logger: Logger;
  /**
   * kafkajs send retries. Bounded by default (≈3 s when the broker is gone) because callers
   * retry on their own terms: the outbox relay must release its claim transaction and back off
   * rather than sit in kafkajs' default endless idempotent retry.
   */
  retry?: RetryOptions;
  producerConfig?: Omit<ProducerConfig, 'idempotent' | 'maxInFlightRequests' | 'retry'>;
}

export const DEFAULT_PRODUCER_RETRY: RetryOptions = { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 };

/** An idempotent kafkajs producer (`acks=all`, one request in flight) that connects on first use. */
export function createProducer(kafka: Kafka, options: EventProducerOptions): EventProducer {
  const log = options.logger.child({ component: 'kafka-producer' });
  const producer: Producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    ...options.producerConfig,
    idempotent: true,
    maxInFlightRequests: 1,
    retry: options.retry ?? DEFAULT_PRODUCER_RETRY,
  });
  let connecting: Promise<void> | undefined;
  const connect = (): Promise<void> => {
    connecting ??= producer.connect().catch((err: unknown) => {
      connecting = undefined; // the next call tries again
      throw err;
    });
    return connecting;
  };
  const send = async (batch: readonly TopicMessages[]): Promise<void> => {
    if (batch.length === 0) return;
    await connect();
    await producer.sendBatch({ topicMessages: batch.map((b) => ({ topic: b.topic, messages: b.messages })), acks: -1 });
  };
  return {
    connect,
    send,
    async publish(topic, events) {
      if (events.length === 0) return;
      await send([{ topic, messages: events.map((event) => encodeEvent(event)) }]);
      log.debug({ topic, count: events.length }, 'published events');
    },
    async disconnect() {
      connecting = undefined;
      await producer.disconnect();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Consumer

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
}

/** The consumer's metrics, registered once per registry. */
export interface ConsumerMetrics {
  consumed: Counter<'topic' | 'group'>;
  processed: Counter<'topic' | 'group'>;
  duplicates: Counter<'topic' | 'group'>;
  failures: Counter<'topic' | 'group'>;
  deadLettered: Counter<'topic' | 'group' | 'reason'>;
  handlerDuration: Histogram<'topic' | 'group' | 'outcome'>;
  lag: Gauge<'topic' | 'group' | 'partition'>;
}

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const registers = [registry];
  const labelNames = ['topic', 'group'] as const;
  return {
    consumed: getOrCreate(
      registry,
      'shop_consumer_consumed_total',
      () => new Counter({ name: 'shop_consumer_consumed_total', help: 'Messages received', labelNames, registers }),
    ),
    processed: getOrCreate(
      registry,
      'shop_consumer_processed_total',
      () =>
        new Counter({
          name: 'shop_consumer_processed_total',
          help: 'Events applied (handler transaction committed)',
          labelNames,
          registers,
        }),
    ),
    duplicates: getOrCreate(
      registry,
      'shop_consumer_duplicates_total',
      () =>
        new Counter({
          name: 'shop_consumer_duplicates_total',
          help: 'Events skipped because this group had already applied their id',
          labelNames,
          registers,
        }),
    ),
    failures: getOrCreate(
      registry,
      'shop_consumer_handler_failures_total',
      () =>
        new Counter({
          name: 'shop_consumer_handler_failures_total',
          help: 'Failed handler attempts (each retry counts)',
          labelNames,
          registers,
        }),
    ),
    deadLettered: getOrCreate(
      registry,
      'shop_consumer_dlq_total',
      () =>
        new Counter({
          name: 'shop_consumer_dlq_total',
          help: 'Messages sent to the dead-letter topic, by reason (poison, failed)',
          labelNames: ['topic', 'group', 'reason'],
          registers,
        }),
    ),
    handlerDuration: getOrCreate(
      registry,
      'shop_consumer_handler_duration_seconds',
      () =>
        new Histogram({
          name: 'shop_consumer_handler_duration_seconds',
          help: 'Handler attempts including their transaction, by outcome (processed, duplicate, error)',
          labelNames: ['topic', 'group', 'outcome'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    lag: getOrCreate(
      registry,
      'shop_consumer_lag_messages',
      () =>
        new Gauge({
          name: 'shop_consumer_lag_messages',
          help: 'Messages behind the partition high watermark after the last processed batch',
          labelNames: ['topic', 'group', 'partition'],
          registers,
        }),
    ),
  };
}

/** Dead-letter header names. */
export const DLQ_HEADERS = {
  error: 'x-error',
  attempts: 'x-error-attempts',
  topic: 'x-original-topic',
  partition: 'x-original-partition',
  offset: 'x-original-offset',
  group: 'x-consumer-group',
} as const;

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

  const deadLetter = async (
    topic: string,
    partition: number,
    message: EachMessagePayload['message'],
    error: unknown,
    attempts: number,
    reason: 'poison' | 'failed',
  ): Promise<boolean> => {
    const dlq = options.dlqTopic(topic);
    const headers: IHeaders = {
      ...message.headers,
      [DLQ_HEADERS.error]: errorMessage(error).slice(0, 2000),
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: String(partition),
      [DLQ_HEADERS.offset]: message.offset,
      [DLQ_HEADERS.group]: groupId,
    };
    // The DLQ write must succeed before the offset moves past the message: retry until it does.
    for (let attempt = 1; ; attempt++) {
      try {
        await options.producer.send([
          { topic: dlq, messages: [{ key: message.key, value: message.value, headers, timestamp: message.timestamp }] },
        ]);
        metrics.deadLettered.inc({ topic, group: groupId, reason });
        log.error(
          { topic, partition, offset: message.offset, dlq, attempts, err: error },
          `message sent to the dead-letter topic (${reason})`,
        );
        return true;
      } catch (err) {
        log.error({ err, topic, dlq }, 'cannot write to the dead-letter topic; retrying');
        if (signal.aborted) return false;
        await interruptibleSleep(backoffDelayMs(attempt, options.backoff), signal);
      }
    }
  };

  const next = (offset: string) => (BigInt(offset) + 1n).toString();

  return async ({ topic, partition, message, heartbeat, commit }) => {
    const labels = { topic, group: groupId };
    metrics.consumed.inc(labels);
    const headers = headersToStrings(message.headers);
    const parent = extractTraceContext(headers);

    let event: DomainEvent;
    try {
      event = decodeEvent(message);
    } catch (err) {
      if (!(await deadLetter(topic, partition, message, err, 0, 'poison'))) return false;
      await commit(next(message.offset));
      return true;
    }

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
          for (let attempt = 1; attempt <= options.maxAttempts && !outcome; attempt++) {
            attempts = attempt;
            const started = performance.now();
            try {
              await options.chaos?.apply('consumer', topic);
              outcome = await options.transaction(async (tx) => {
                // Inserting first also serialises a concurrent redelivery on the primary key.
                const inserted = await sqlExecutor(tx).rows(
                  `INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2::uuid)
                   ON CONFLICT DO NOTHING RETURNING event_id`,
                  [groupId, event.id],
                );
                if (inserted.length === 0) return 'duplicate' as const;
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
              if (attempt < options.maxAttempts) {
                await interruptibleSleep(backoffDelayMs(attempt, options.backoff), signal);
                if (signal.aborted) return false;
                await heartbeat();
              }
            }
          }
          if (!outcome) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(lastError) });
            const reason = lastError instanceof PoisonMessageError ? 'poison' : 'failed';
            if (!(await deadLetter(topic, partition, message, lastError, attempts, reason))) return false;
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

  let consumer: Consumer | undefined;
  let abort = new AbortController();

  return {
    groupId,
    async start() {
      if (consumer) return;
      abort = new AbortController();
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
      });
      c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
        metrics.lag.set(
          { topic: payload.topic, group: groupId, partition: String(payload.partition) },
          Number(payload.offsetLag),
        );
      });
      c.on(c.events.CRASH, ({ payload }) => {
        log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
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
  };
}

/**
 * Creates the topics a service produces or consumes if they are missing (with their `.dlq`
 * twins when asked), so a consumer never starts against a topic that does not exist yet.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  options: { numPartitions?: number; withDlq?: boolean } = {},
): Promise<void> {
  const wanted = [...new Set(options.withDlq ? topics.flatMap((t) => [t, `${t}.dlq`]) : topics)];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: options.numPartitions ?? 3 })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Runs a consumer as an Intake. start() returns at once and connects in the background,
 * retrying with backoff (topics ensured first, with their DLQ): the service keeps serving
 * while Kafka is away, and events wait in Kafka until the consumer is up.
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
