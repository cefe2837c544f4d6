// Dead letters: a message that can never be handled, or whose handler kept failing, is copied
// with its original bytes to the dead-letter topic (`<topic>.dlq` by default), with headers that
// say why and where it came from. The offset moves past it only once that write succeeded.
import type { EachMessagePayload, IHeaders } from 'kafkajs';
import { backoffDelayMs, sleep } from './backoff';
import type { ConsumerMetrics } from './consumer-metrics';
import { errorText } from './errors';
import type { Logger } from './logging';
import type { EventProducer } from './producer';

/** Dead-letter header names. */
export const DLQ_HEADERS = {
  error: 'x-error',
  attempts: 'x-error-attempts',
  topic: 'x-original-topic',
  partition: 'x-original-partition',
  offset: 'x-original-offset',
  group: 'x-consumer-group',
  /** `poison` (could never be handled: never retried) or `failed` (its handler kept failing). */
  reason: 'x-dead-letter-reason',
} as const;

/** Why a message was dead-lettered: it could never be handled, or its handler kept failing. */
export type DeadLetterReason = 'poison' | 'failed';

export interface DeadLetterWriterOptions {
  groupId: string;
  dlqTopic: (topic: string) => string;
  producer: Pick<EventProducer, 'send'>;
  metrics: Pick<ConsumerMetrics, 'deadLettered'>;
  /** The consumer's logger. */
  log: Logger;
  backoff: { initialMs?: number; maxMs?: number };
  /** Aborted on stop: the write is given up (false) and the message will be delivered again. */
  signal: AbortSignal;
}

/** A message to dead-letter, where it was read, why, and after how many attempts (0: never tried). */
export interface DeadLetter {
  topic: string;
  partition: number;
  message: EachMessagePayload['message'];
  error: unknown;
  attempts: number;
  reason: DeadLetterReason;
}

/**
 * Returns the writer: it retries the DLQ write (with backoff) until it succeeds, resolving true,
 * or until the consumer stops, resolving false.
 */
export function deadLetterWriter(options: DeadLetterWriterOptions): (letter: DeadLetter) => Promise<boolean> {
  const { groupId, metrics, log, signal } = options;
  return async ({ topic, partition, message, error, attempts, reason }) => {
    const dlq = options.dlqTopic(topic);
    const headers: IHeaders = {
      ...message.headers,
      [DLQ_HEADERS.error]: errorText(error).slice(0, 2000),
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: String(partition),
      [DLQ_HEADERS.offset]: message.offset,
      [DLQ_HEADERS.group]: groupId,
      [DLQ_HEADERS.reason]: reason,
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
        await sleep(backoffDelayMs(attempt, options.backoff), signal);
      }
    }
  };
}
