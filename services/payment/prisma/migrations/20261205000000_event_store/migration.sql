-- Event sourcing (docs/patterns/event-sourcing.md): the payment's events become its source of truth. `payments` and
-- `ledger_entries` keep their shape but are projections of `payment_events`, written in the
-- command's transaction and rebuilt from it by POST /v1/admin/payments/rebuild.

-- The event store: append-only, one stream per payment (stream_id = payment id), a version per
-- stream (1, 2, …) and a global position over all streams. The unique (stream_id, version) is the
-- optimistic concurrency check: two commands that read version n both try to append n + 1, one wins.
CREATE TABLE "payment_events" (
    "position" BIGSERIAL NOT NULL,
    "stream_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "recorded_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payment_events_pkey" PRIMARY KEY ("position"),
    CONSTRAINT "payment_events_version_check" CHECK ("version" > 0)
);
CREATE UNIQUE INDEX "payment_events_stream_version_key" ON "payment_events"("stream_id", "version");
-- Temporal queries read the store up to an instant.
CREATE INDEX "payment_events_recorded_at_idx" ON "payment_events"("recorded_at");

-- Snapshots: a payment's state at a version, taken every PAYMENT_SNAPSHOT_EVERY events. Loading
-- reads the snapshot and the events after it. A cache of the store: never the truth.
CREATE TABLE "payment_snapshots" (
    "stream_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "state" JSONB NOT NULL,
    "taken_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payment_snapshots_pkey" PRIMARY KEY ("stream_id")
);

-- The store is append-only: the database refuses to change, remove or truncate an event.
-- (E'' body with \x3B for each semicolon: see the ledger's trigger in the first migration.)
CREATE FUNCTION "payment_events_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS
  E'BEGIN RAISE EXCEPTION ''payment_events is append-only: % is not allowed'', TG_OP USING ERRCODE = ''insufficient_privilege''\x3B END\x3B';
CREATE TRIGGER "payment_events_append_only"
  BEFORE UPDATE OR DELETE ON "payment_events"
  FOR EACH ROW EXECUTE FUNCTION "payment_events_refuse_change"();
CREATE TRIGGER "payment_events_no_truncate"
  BEFORE TRUNCATE ON "payment_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "payment_events_refuse_change"();

-- The ledger is now a projection: UPDATE and DELETE stay refused, and TRUNCATE is allowed only to
-- the rebuild, which sets payment.rebuild = 'on' for its own transaction (set_config(…, true)).
CREATE OR REPLACE FUNCTION "ledger_entries_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS
  E'BEGIN IF TG_OP = ''TRUNCATE'' AND current_setting(''payment.rebuild'', true) = ''on'' THEN RETURN NULL\x3B END IF\x3B RAISE EXCEPTION ''ledger_entries is append-only: % is not allowed'', TG_OP USING ERRCODE = ''insufficient_privilege''\x3B END\x3B';

-- Backfill: the payments made before this migration get their streams, one event per ledger
-- entry in entry order, recorded when the entry was. Each event names its ledger entry
-- (ledgerEntryId), so a rebuild writes the same entries with the same ids.
INSERT INTO "payment_events" ("stream_id", "version", "type", "data", "recorded_at")
SELECT l."payment_id",
       row_number() OVER (PARTITION BY l."payment_id" ORDER BY l."id")::int,
       CASE l."kind"
         WHEN 'AUTHORIZE' THEN 'PaymentAuthorized'
         WHEN 'DECLINE' THEN 'PaymentDeclined'
         WHEN 'CAPTURE' THEN 'PaymentCaptured'
         WHEN 'VOID' THEN 'PaymentVoided'
         WHEN 'REFUND' THEN 'PaymentRefunded'
       END,
       jsonb_build_object('amount', l."amount", 'currency', l."currency", 'ledgerEntryId', l."id")
         || CASE WHEN l."kind" IN ('AUTHORIZE', 'DECLINE')
              THEN jsonb_build_object('orderId', p."order_id", 'cardLast4', p."card_last4")
                   || CASE WHEN l."kind" = 'DECLINE' THEN jsonb_build_object('reason', p."decline_reason") ELSE '{}'::jsonb END
              ELSE '{}'::jsonb END,
       l."created_at"
  FROM "ledger_entries" l JOIN "payments" p ON p."id" = l."payment_id"
 ORDER BY l."id";

-- A projection's times are its events' times: created when the first event was recorded,
-- updated when the last one was (the old rows' times came from the client's clock, a few
-- milliseconds off the database's).
UPDATE "payments" p
   SET "created_at" = e."first_at", "updated_at" = e."last_at"
  FROM (SELECT "stream_id", min("recorded_at") AS "first_at", max("recorded_at") AS "last_at"
          FROM "payment_events" GROUP BY "stream_id") e
 WHERE e."stream_id" = p."id";
