// The catalog's events (topic catalog.events): a product added (subject = product id) and the
// stock movements of a reservation (subject = reservation id = order id).
import { z } from 'zod';
import { defineEvent, idSchema, moneySchema, quantityLineSchema } from './contract';

/** shop.catalog.product_created.v1: a product added with its initial stock. */
export const ProductCreatedV1 = defineEvent(
  'shop.catalog.product_created.v1',
  z.object({
    productId: idSchema,
    sku: z.string().min(1).max(200),
    name: z.string().min(1),
    category: z.string().min(1),
    price: moneySchema,
    initialStock: z.number().int().nonnegative(),
  }),
);

const stockMovement = z.object({ reservationId: idSchema, lines: z.array(quantityLineSchema).min(1) });

export const StockReservedV1 = defineEvent('shop.catalog.stock_reserved.v1', stockMovement);
export const StockCommittedV1 = defineEvent('shop.catalog.stock_committed.v1', stockMovement);
export const StockReleasedV1 = defineEvent('shop.catalog.stock_released.v1', stockMovement);
export const StockRestockedV1 = defineEvent('shop.catalog.stock_restocked.v1', stockMovement);

/**
 * shop.catalog.stock_refused.v1: a choreographed checkout's reservation refused (not enough units,
 * or a product no longer sold); nothing was held. Why, as the saga names it (`out_of_stock`,
 * `product_unavailable`, `reservation_refused`). The orchestrated saga hears a refusal as the
 * command's answer; a choreography has only events to hear it by.
 */
export const StockRefusedV1 = defineEvent(
  'shop.catalog.stock_refused.v1',
  stockMovement.extend({ reason: z.string().min(1).max(200) }),
);

/** The stock movements by the catalog's name for them. */
export const stockEventsV1 = {
  stock_reserved: StockReservedV1,
  stock_committed: StockCommittedV1,
  stock_released: StockReleasedV1,
  stock_restocked: StockRestockedV1,
} as const;
