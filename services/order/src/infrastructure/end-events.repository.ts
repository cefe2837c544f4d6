// Re-emitting an ended order's end event (shop.order.confirmed.v1 / shop.order.cancelled.v1)
// when the outbox holds none for it: the repair after the dual-write exercise (the order was
// ended while the service published directly and the event may never have reached Kafka).
// Safe to run any time: every consumer of these events applies each order once (cart's
// order_clearances, catalog's sales_orders, user's notifications unique per order and kind).
import { publishSwitch, ShopError, writeOutbox } from '@shoplab/chassis';
import {
  ORDER_CANCELLED,
  ORDER_CONFIRMED,
  orderCancelledEvent,
  orderConfirmedEvent,
} from '../application/order-end-events';
import { money } from '../domain/money';
import type { PrismaClient } from '../generated/prisma/client';
import { pricedLine } from './saga.repository';

export interface RepublishResult {
  republished: number;
  orderIds: string[];
}

export class EndEventRepublisher {
  constructor(private readonly prisma: PrismaClient) {}

  /** Writes the end event of every ended order whose end event is not in the outbox (at most `limit`). */
  async republishMissing(limit = 1000): Promise<RepublishResult> {
    if (publishSwitch.mode !== 'outbox') {
      throw new ShopError('SHOP_CONFLICT', 'switch the publish mode back to outbox first (PUT /admin/outbox/mode)');
    }
    const missing = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT o.id::text AS id
        FROM orders o
       WHERE o.status IN ('CONFIRMED', 'CANCELLED')
         AND NOT EXISTS (SELECT 1 FROM outbox x
                          WHERE x.aggregate_id = o.id::text
                            AND x.event_type IN (${ORDER_CONFIRMED}, ${ORDER_CANCELLED}))
       ORDER BY o.updated_at
       LIMIT ${limit}`;
    const orderIds: string[] = [];
    for (const { id } of missing) if (await this.republishOne(id)) orderIds.push(id);
    return { republished: orderIds.length, orderIds };
  }

  private republishOne(orderId: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      // Locks the order (writers lock it before their outbox row: per-order event order holds).
      const [order] = await tx.$queryRaw<
        { id: string }[]
      >`SELECT id FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`;
      if (!order) return false;
      const row = await tx.order.findUniqueOrThrow({ where: { id: orderId }, include: { lines: true } });
      const already = await tx.outbox.count({
        where: { aggregateId: orderId, eventType: { in: [ORDER_CONFIRMED, ORDER_CANCELLED] } },
      });
      if (already > 0 || (row.status !== 'CONFIRMED' && row.status !== 'CANCELLED')) return false;
      const facts = {
        orderId,
        userId: row.userId,
        lines: [...row.lines].sort((a, b) => a.lineNo - b.lineNo).map((line) => pricedLine(line, row.currency)),
        total: money(Number(row.totalAmount), row.currency),
        ...(row.paymentId ? { paymentId: row.paymentId } : {}),
        cartVersion: Number(row.cartVersion),
      };
      const event =
        row.status === 'CONFIRMED'
          ? orderConfirmedEvent(facts, row.updatedAt)
          : orderCancelledEvent(facts, row.cancelReason ?? 'cancelled', row.updatedAt);
      await writeOutbox(tx, event);
      return true;
    });
  }
}
