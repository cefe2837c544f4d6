// SalesLedger inside the order-events consumer's transaction.
import type { SalesLedger } from '../application/ports';
import type { ProductUnits } from '../domain/sales';
import type { CatalogTransaction } from './database';

export class PrismaSalesLedger implements SalesLedger {
  constructor(private readonly tx: CatalogTransaction) {}

  async claimOrder(orderId: string, eventId: string, units: number): Promise<boolean> {
    const claimed = await this.tx.$queryRaw<{ order_id: string }[]>`
      INSERT INTO sales_orders (order_id, event_id, units) VALUES (${orderId}, ${eventId}::uuid, ${units})
      ON CONFLICT (order_id) DO NOTHING
      RETURNING order_id`;
    return claimed.length > 0;
  }

  async addSales(sales: readonly ProductUnits[]): Promise<void> {
    if (sales.length === 0) return;
    // One statement, rows in product-id order (unitsPerProduct sorts them): concurrent orders
    // lock the counters in the same order and cannot deadlock.
    await this.tx.$executeRaw`
      INSERT INTO product_sales (product_id, units_sold, orders_count, updated_at)
      SELECT s.product_id, s.units, 1, now()
        FROM unnest(${sales.map((s) => s.productId)}::text[], ${sales.map((s) => s.quantity)}::int[])
             WITH ORDINALITY AS s(product_id, units, position)
       ORDER BY s.position
      ON CONFLICT (product_id) DO UPDATE
         SET units_sold = product_sales.units_sold + EXCLUDED.units_sold,
             orders_count = product_sales.orders_count + 1,
             updated_at = now()`;
  }
}
