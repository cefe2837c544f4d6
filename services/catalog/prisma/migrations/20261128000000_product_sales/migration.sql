-- Sold counters of confirmed orders (the order-events consumer).

-- CreateTable
CREATE TABLE "product_sales" (
    "product_id" TEXT NOT NULL,
    "units_sold" INTEGER NOT NULL DEFAULT 0,
    "orders_count" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "product_sales_pkey" PRIMARY KEY ("product_id")
);

-- CreateTable
CREATE TABLE "sales_orders" (
    "order_id" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "units" INTEGER NOT NULL,
    "counted_at" TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sales_orders_pkey" PRIMARY KEY ("order_id")
);


-- Hand-written (Prisma 6 cannot declare these) -------------------------------------------

-- Counters never go below zero, and a counted order bought at least one unit.
ALTER TABLE "product_sales" ADD CONSTRAINT "product_sales_units_sold_check" CHECK ("units_sold" >= 0);
ALTER TABLE "product_sales" ADD CONSTRAINT "product_sales_orders_count_check" CHECK ("orders_count" >= 0);
ALTER TABLE "sales_orders" ADD CONSTRAINT "sales_orders_units_check" CHECK ("units" > 0);

-- GET /v1/products?sort=popular walks products by units sold, most first, then by id.
CREATE INDEX "product_sales_popular_idx" ON "product_sales"("units_sold" DESC, "product_id");
