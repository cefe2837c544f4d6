// The event envelope (docs/reference.md#calls-and-events): CloudEvents 1.0 in the Kafka binding's
// *binary* content mode. The message value is the event's JSON `data` alone; the attributes
// travel as `ce_*` headers next to the W3C `traceparent`/`tracestate`; the key is the aggregate id
// (`subject`), so one aggregate's events share a partition and keep their order. Binary rather
// than structured because the value is then the plain business payload (console tools,
// connectors and schema checks read it as is), a consumer can read the id and type without
// parsing a body that may be corrupt (the DLQ keeps the original bytes), and it maps one-to-one
// onto an outbox row (payload + headers).
import { randomUUID } from 'node:crypto';
import { type Context, context, defaultTextMapGetter, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { EventContract, EventData, EventInput } from '@shoplab/contracts';
import { CloudEvent, Kafka as CloudEventsKafka } from 'cloudevents';
import type { IHeaders, Message } from 'kafkajs';
import { z } from 'zod';
import { type ClockStamp, HLC_PATTERN, processClock } from './clock';
import { errorText } from './errors';

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
  /**
   * Extension attributes (`ce_lamport`, `ce_hlc`): the producer's Lamport clock and hybrid
   * logical clock when it created the event (clock.ts). Absent on events of older producers.
   */
  lamport?: number;
  hlc?: string;
}

export const domainEventSchema = z.object({
  id: z.uuid(),
  source: z.string().regex(EVENT_SOURCE_PATTERN, 'source must be /shoplab/<service>'),
  type: z.string().regex(EVENT_TYPE_PATTERN, 'type must be shop.<aggregate>.<event>.v<major>'),
  subject: z.string().min(1).max(200),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  data: z.unknown().refine((value) => value !== undefined, 'data is required'),
  // Binary mode carries every attribute as a string header: the Lamport time arrives as digits.
  lamport: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  hlc: z.string().regex(HLC_PATTERN, 'hlc must be <15-digit ms>-<6-digit counter>').optional(),
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

/** The source a service's events carry: `/shoplab/order` for `order`. */
export function sourceOf(service: string): string {
  const source = `/shoplab/${service}`;
  if (!EVENT_SOURCE_PATTERN.test(source)) throw new Error(`invalid service name ${service}`);
  return source;
}

// `<service>.events`, or a copy of it with a suffix of its own (`order.events.test-1a2b`, a test's).
const OWNED_TOPIC = /^([a-z][a-z0-9-]*)\.events(?:\.[A-Za-z0-9._-]+)?$/;

/**
 * The service that owns (alone publishes to) a topic, read from the topic's name: `order` for
 * `order.events` and for a copy of it such as `order.events.test-1a2b`; undefined for a name that
 * follows no such rule. The inverse of topicForSource, so the producer's and the consumer's idea
 * of whose topic it is cannot drift apart (docs/adr/0041-events-accepted-only-from-their-owner.md).
 */
export function topicOwner(topic: string): string | undefined {
  return OWNED_TOPIC.exec(topic)?.[1];
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
  /** The clock readings to stamp (default: a tick of the process's clock). */
  stamp?: ClockStamp;
}

/**
 * Builds a validated domain event with a fresh uuid, stamped by the process's clock: a tick of
 * its Lamport clock and HLC, and the time from the same (skewable) wall clock.
 */
export function createEvent<T>(input: NewEvent<T>): DomainEvent<T> {
  const stamp = input.stamp ?? processClock.tick();
  const event = {
    id: input.id ?? randomUUID(),
    source: `/shoplab/${input.service}`,
    type: input.type,
    subject: input.subject,
    time: (input.time ?? new Date(stamp.wall)).toISOString(),
    datacontenttype: 'application/json' as const,
    data: input.data,
    lamport: stamp.lamport,
    hlc: stamp.hlc,
  };
  domainEventSchema.parse(event);
  return event;
}

/** A new event of a contract (@shoplab/contracts): the type is the contract's, the data its schema's. */
export type NewContractEvent<C extends EventContract> = Omit<NewEvent<EventInput<C>>, 'type'>;

/**
 * Builds an event of `contract` (docs/reference.md#event-schemas): the data is typed by the
 * contract's schema and parsed through it, so a producer cannot emit a payload the schema
 * refuses (a refusal throws here, before anything is written to the outbox).
 */
export function createContractEvent<C extends EventContract>(
  contract: C,
  input: NewContractEvent<C>,
): DomainEvent<EventData<C>> {
  return createEvent({ ...input, type: contract.type, data: contract.schema.parse(input.data) as EventData<C> });
}

/**
 * The data of a consumed event, parsed by `contract`'s schema (unknown extra fields are dropped,
 * never refused). Throws PoisonMessageError (→ the DLQ at once: retrying cannot mend it) when the
 * schema refuses it: a consumer never acts on a guess.
 */
export function parseEventData<C extends EventContract>(contract: C, event: DomainEvent): EventData<C> {
  const parsed = contract.schema.safeParse(event.data);
  if (!parsed.success) {
    throw new PoisonMessageError(`${event.type} ${event.id} has invalid data: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data as EventData<C>;
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
      // Extension attributes (lower-case alphanumeric names): ce_lamport, ce_hlc.
      ...(valid.lamport !== undefined ? { lamport: String(valid.lamport) } : {}),
      ...(valid.hlc !== undefined ? { hlc: valid.hlc } : {}),
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

/**
 * Refuses an event whose source is not `expected` (the owner's source, e.g. `/shoplab/order`):
 * it was forged or misrouted, and applying it would let one service speak for another. A
 * PoisonMessageError, so the consumer dead-letters it at once (reason `poison`), never retries it.
 */
export class ForeignSourceError extends PoisonMessageError {
  constructor(
    readonly topic: string,
    readonly event: Pick<DomainEvent, 'id' | 'type' | 'source'>,
    readonly expected: string,
  ) {
    super(
      `event ${event.id} (${event.type}) on ${topic} comes from ${event.source}, but only ${expected} publishes ` +
        `to ${topic}: not applied`,
    );
  }
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
    throw new PoisonMessageError(`cannot decode the CloudEvent: ${errorText(err)}`, { cause: err });
  }
  if (Array.isArray(decoded)) throw new PoisonMessageError('batched CloudEvents are not supported');
  const parsed = domainEventSchema.safeParse(decoded);
  if (!parsed.success) throw new PoisonMessageError(`invalid domain event: ${z.prettifyError(parsed.error)}`);
  return parsed.data as DomainEvent;
}
