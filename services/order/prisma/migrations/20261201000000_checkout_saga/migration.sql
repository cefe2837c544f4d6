-- The checkout saga's orchestrator: final saga states named like the order statuses, the
-- remaining compensations, the failure reason, the checkout's trace context, and error codes
-- on the timeline.

-- AlterEnum (renamed in place, so existing rows keep their meaning)
ALTER TYPE "SagaState" RENAME VALUE 'COMPLETED' TO 'CONFIRMED';
ALTER TYPE "SagaState" RENAME VALUE 'COMPENSATED' TO 'CANCELLED';

-- AlterTable
ALTER TABLE "saga_instances" ADD COLUMN     "compensations" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "failure_reason" TEXT,
ADD COLUMN     "trace_context" JSONB;

-- AlterTable
ALTER TABLE "saga_steps" ADD COLUMN     "error_code" TEXT;
