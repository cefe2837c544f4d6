-- The notification log: who would have been e-mailed what, and when.

-- CreateTable
CREATE TABLE "notifications" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "order_id" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "notifications_user_id_created_at_idx" ON "notifications"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "notifications_created_at_idx" ON "notifications"("created_at");

-- AddForeignKey
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written (Prisma 6 cannot declare these) -------------------------------------------

ALTER TABLE "notifications" ADD CONSTRAINT "notifications_kind_check" CHECK ("kind" IN ('welcome', 'order_confirmed', 'order_cancelled'));

-- One notification of each kind per order, and one welcome per user, whatever the event ids.
CREATE UNIQUE INDEX "notifications_order_kind_key" ON "notifications"("order_id", "kind") WHERE "order_id" IS NOT NULL;
CREATE UNIQUE INDEX "notifications_one_welcome_key" ON "notifications"("user_id") WHERE "kind" = 'welcome';
