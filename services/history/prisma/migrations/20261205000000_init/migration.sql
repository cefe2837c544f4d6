-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "order_history" (
    "order_id" TEXT NOT NULL,
    "user_id" TEXT,
    "status" TEXT,
    "total_amount" BIGINT,
    "currency" TEXT,
    "payment_status" TEXT,
    "product_names" TEXT NOT NULL DEFAULT '',
    "search" tsvector GENERATED ALWAYS AS (to_tsvector('english', "product_names")) STORED,
    "created_at" TIMESTAMPTZ,
    "ended_at" TIMESTAMPTZ,
    "last_version" INTEGER NOT NULL,
    "last_event_at" TIMESTAMPTZ NOT NULL,
    "document" JSONB NOT NULL,
    "facts" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,

    CONSTRAINT "order_history_pkey" PRIMARY KEY ("order_id")
);

-- CreateTable
CREATE TABLE "topic_progress" (
    "topic" TEXT NOT NULL,
    "events_applied" BIGINT NOT NULL DEFAULT 0,
    "last_event_at" TIMESTAMPTZ NOT NULL,

    CONSTRAINT "topic_progress_pkey" PRIMARY KEY ("topic")
);

-- CreateTable
CREATE TABLE "projection_state" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "generation" INTEGER NOT NULL DEFAULT 0,
    "rebuilt_at" TIMESTAMPTZ,

    CONSTRAINT "projection_state_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "processed_events" (
    "consumer_group" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer_group","event_id")
);

-- CreateIndex
CREATE INDEX "order_history_user_id_created_at_idx" ON "order_history"("user_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "order_history_created_at_order_id_idx" ON "order_history"("created_at" DESC, "order_id" DESC);

-- CreateIndex
CREATE INDEX "order_history_status_idx" ON "order_history"("status");

-- CreateIndex
CREATE INDEX "order_history_search_idx" ON "order_history" USING GIN ("search");


-- The read model's one generation row (a rebuild increments it)
INSERT INTO "projection_state" ("id", "generation") VALUES (1, 0);
