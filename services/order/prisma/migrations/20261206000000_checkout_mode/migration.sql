-- How each order is checked out (docs/patterns/choreography.md): 'orchestrated' (the checkout
-- saga of docs/reference.md#saga drives it), 'choreographed' (no one drives it: the services
-- react to each other's events) or 'two-phase' (one distributed transaction). Chosen per
-- checkout by the order service's switch CHECKOUT_MODE and recorded on the order, so orders of
-- every mode live side by side under the same audit. Rows from before the modes were orchestrated.

-- AlterTable
ALTER TABLE "orders" ADD COLUMN "checkout_mode" TEXT NOT NULL DEFAULT 'orchestrated';

-- The three values the order service writes.
ALTER TABLE "orders" ADD CONSTRAINT "orders_checkout_mode_check"
  CHECK ("checkout_mode" IN ('orchestrated', 'choreographed', 'two-phase'));
