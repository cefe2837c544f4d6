// The idempotent consumer's ledger: a consumer group records each event id it applied in the
// same transaction as the event's effect, so a redelivered event is recognised and skipped.
import { type SqlTransaction, sqlExecutor } from './sql';

/** The idempotent consumer's ledger: one row per (consumer group, event id) applied. */
export const PROCESSED_EVENTS_DDL = `
CREATE TABLE IF NOT EXISTS processed_events (
  consumer_group text        NOT NULL,
  event_id       uuid        NOT NULL,
  processed_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT processed_events_pkey PRIMARY KEY (consumer_group, event_id)
);`;

/**
 * Records that `groupId` applies `eventId` in this transaction; false when it already had.
 * Inserting first also serialises a concurrent redelivery on the primary key.
 */
export async function recordProcessedEvent(tx: SqlTransaction, groupId: string, eventId: string): Promise<boolean> {
  const inserted = await sqlExecutor(tx).rows(
    `INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2::uuid)
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [groupId, eventId],
  );
  return inserted.length > 0;
}
