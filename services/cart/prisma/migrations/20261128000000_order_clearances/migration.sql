-- Confirmed orders taken out of their buyers' carts (the order-events consumer).

-- CreateTable
CREATE TABLE "order_clearances" (
    "order_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "removed" JSONB NOT NULL,
    "cart_version" BIGINT,
    "cleared_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_clearances_pkey" PRIMARY KEY ("order_id")
);

-- CreateIndex
CREATE INDEX "order_clearances_user_id_idx" ON "order_clearances"("user_id");

