-- Logical clocks on the order's timeline (docs/patterns/logical-clocks.md): each saga step
-- attempt keeps the order service's Lamport and hybrid logical clock readings when it started,
-- each recorded payment event the clocks its event carried (ce_lamport, ce_hlc). Nullable:
-- rows written before the clocks have none.

-- AlterTable
ALTER TABLE "saga_steps" ADD COLUMN "lamport" BIGINT,
ADD COLUMN "hlc" TEXT;

-- AlterTable
ALTER TABLE "payment_events" ADD COLUMN "lamport" BIGINT,
ADD COLUMN "hlc" TEXT;
