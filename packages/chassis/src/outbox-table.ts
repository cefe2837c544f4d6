// The outbox table and the NOTIFY channel that wakes the relay.

/** NOTIFY channel that wakes the relay (notifications are per database and sent on commit). */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * The outbox table. The partial index is on `id` (not `published_at`): the relay's query is
 * `WHERE published_at IS NULL ORDER BY id`, which this index answers in order, and it holds only
 * the unpublished rows, so it stays small however long the table grows.
 */
export const OUTBOX_DDL = `
CREATE TABLE IF NOT EXISTS outbox (
  id             bigserial   NOT NULL,
  event_id       uuid        NOT NULL,
  topic          text        NOT NULL,
  aggregate_type text        NOT NULL,
  aggregate_id   text        NOT NULL,
  event_type     text        NOT NULL,
  payload        jsonb       NOT NULL,
  headers        jsonb       NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now(),
  published_at   timestamptz,
  attempts       integer     NOT NULL DEFAULT 0,
  last_error     text,
  CONSTRAINT outbox_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_event_id_key ON outbox (event_id);
CREATE INDEX IF NOT EXISTS outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;`;
