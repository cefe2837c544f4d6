// Writing events to the outbox inside the business transaction (or, in the exercises' `direct`
// mode, sending them straight to Kafka: publish-switch.ts).
import type { Context } from '@opentelemetry/api';
import { aggregateTypeOf, type DomainEvent, encodeEvent, topicForSource, traceHeaders } from './events';
import { OUTBOX_CHANNEL } from './outbox-table';
import { publishSwitch } from './publish-switch';
import { type SqlTransaction, sqlExecutor } from './sql';

export interface WriteOutboxOptions {
  /** Topic for every event written (default: the source's `<service>.events`). */
  topic?: string;
  /** Trace context to carry (default: the active one, i.e. the request that caused the event). */
  traceContext?: Context;
  /**
   * Wake the relay with a NOTIFY at commit (default true). false in a transaction that ends in
   * PREPARE TRANSACTION, which PostgreSQL refuses after a NOTIFY (prepared-transactions.ts).
   */
  notify?: boolean;
}

/**
 * Writes events to the outbox INSIDE the caller's transaction (a pg client after BEGIN, or a
 * Prisma interactive-transaction `tx`), with their Kafka headers — CloudEvents attributes and
 * the current `traceparent` — and a NOTIFY that PostgreSQL delivers only if the transaction commits.
 */
export async function writeOutbox(
  tx: SqlTransaction,
  events: DomainEvent | readonly DomainEvent[],
  options: WriteOutboxOptions = {},
): Promise<void> {
  const list: readonly DomainEvent[] = Array.isArray(events) ? events : [events as DomainEvent];
  if (list.length === 0) return;
  if (publishSwitch.mode === 'direct') {
    const byTopic = new Map<string, DomainEvent[]>();
    for (const event of list) {
      const topic = options.topic ?? topicForSource(event.source);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), event]);
    }
    for (const [topic, batch] of byTopic) publishSwitch.sendDirect(topic, batch);
    return;
  }
  const trace = traceHeaders(options.traceContext);
  const values: unknown[] = [];
  const tuples = list.map((event) => {
    const encoded = encodeEvent(event, trace);
    const n = values.length;
    values.push(
      event.id,
      options.topic ?? topicForSource(event.source),
      aggregateTypeOf(event.type),
      event.subject,
      event.type,
      encoded.value,
      JSON.stringify(encoded.headers),
    );
    return `($${n + 1}::uuid, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}::jsonb, $${n + 7}::jsonb)`;
  });
  const insert = `INSERT INTO outbox (event_id, topic, aggregate_type, aggregate_id, event_type, payload, headers)
       VALUES ${tuples.join(', ')}`;
  if (options.notify === false) {
    await sqlExecutor(tx).execute(insert, values);
    return;
  }
  // The rows and the NOTIFY in one statement: one round trip on the caller's hot path.
  await sqlExecutor(tx).rows(
    `WITH written AS (
       ${insert}
     )
     SELECT 1 AS notified FROM (SELECT pg_notify('${OUTBOX_CHANNEL}', '')) AS n`,
    values,
  );
}
