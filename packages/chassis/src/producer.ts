// The event producer: an idempotent kafkajs producer that connects on first use and publishes
// domain events in the envelope's binary mode (events.ts).
import { type Kafka, type Message, Partitioners, type Producer, type ProducerConfig, type RetryOptions } from 'kafkajs';
import { type DomainEvent, encodeEvent } from './events';
import type { Logger } from './logging';

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
