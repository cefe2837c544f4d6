// Reading orders: the caller's own only; someone else's order is NOT_FOUND (not FORBIDDEN),
// so ids cannot be probed.
import { ShopError } from '@shoplab/chassis';
import { decodeCursor, encodeCursor, isOrderId, pageSize } from '../domain/cursor';
import { type OrderView, sortTimeline, type TimelineSort } from '../domain/order';
import type { AuditedOrder, OrderRepository, OrderSummary } from './ports';

export interface OrderPage {
  orders: OrderView[];
  nextCursor?: string;
}

export class OrderQueries {
  constructor(private readonly orders: OrderRepository) {}

  /** One order of the user's, its timeline in wall-clock order or (`hlc`) in causal order. */
  async get(userId: string, orderId: string, sort: TimelineSort = 'wall'): Promise<OrderView> {
    const order = isOrderId(orderId) ? await this.orders.get(userId, orderId.toLowerCase()) : undefined;
    if (!order) throw new ShopError('SHOP_NOT_FOUND', `No order ${orderId}`, { orderId });
    return sort === 'wall' ? order : { ...order, timeline: sortTimeline(order.timeline, sort) };
  }

  async list(userId: string, options: { limit?: number; cursor?: string }): Promise<OrderPage> {
    const limit = pageSize(options.limit);
    const after = options.cursor ? decodeCursor(options.cursor) : undefined;
    const page = await this.orders.list(userId, limit, after);
    return { orders: page.orders, ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}) };
  }

  summary(): Promise<OrderSummary> {
    return this.orders.summary();
  }

  auditList(since?: Date): Promise<AuditedOrder[]> {
    return this.orders.auditList(since);
  }
}
