-- The two-phase checkout's decision log (docs/patterns/two-phase-commit.md, ADR 37): one row per
-- order checked out in the 'two-phase' mode, written by the coordinator before it asks the
-- participants to prepare, then its decision (durable before any participant hears it), then
-- the moment every participant had finished. A restarted coordinator finishes every row that is
-- not finished: COMMIT PREPARED where the decision is COMMIT, ROLLBACK PREPARED otherwise.

-- CreateTable
CREATE TABLE "two_phase_transactions" (
    "order_id" UUID NOT NULL,
    "participants" TEXT[] NOT NULL,
    "decision" TEXT,
    "reason" TEXT,
    "payment_id" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "decided_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "two_phase_transactions_pkey" PRIMARY KEY ("order_id"),
    CONSTRAINT "two_phase_transactions_decision_check" CHECK ("decision" IN ('COMMIT', 'ABORT'))
);

-- The recovery's read: the rows not finished yet.
CREATE INDEX "two_phase_transactions_unfinished_idx" ON "two_phase_transactions" ("started_at") WHERE "finished_at" IS NULL;

-- AddForeignKey
ALTER TABLE "two_phase_transactions" ADD CONSTRAINT "two_phase_transactions_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;
