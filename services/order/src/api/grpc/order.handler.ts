import { type ServiceImplementation, ShopError } from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import type { OrderQueries } from '../../application/order-queries';
import type { OrderStatus, OrderView } from '../../domain/order';

const STATUS: Record<OrderStatus, orderV1.OrderStatus> = {
  PENDING: orderV1.OrderStatus.ORDER_STATUS_PENDING,
  CONFIRMED: orderV1.OrderStatus.ORDER_STATUS_CONFIRMED,
  CANCELLED: orderV1.OrderStatus.ORDER_STATUS_CANCELLED,
};

export function toProtoOrder(order: OrderView): orderV1.Order {
  return {
    id: order.id,
    userId: order.userId,
    status: STATUS[order.status],
    lines: order.lines.map((line) => ({ ...line })),
    total: order.total,
    cancelReason: order.cancelReason ?? '',
    paymentId: order.paymentId ?? '',
    timeline: order.timeline.map((entry) => ({
      step: entry.step,
      attempt: entry.attempt,
      outcome: entry.outcome,
      // The contract has no error-code field yet: `CODE: message`.
      error: entry.error ? (entry.errorCode ? `${entry.errorCode}: ${entry.error}` : entry.error) : '',
      traceId: entry.traceId ?? '',
      startedAt: entry.startedAt,
      finishedAt: entry.finishedAt ?? '',
      kind: entry.kind,
    })),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

function requireUserId(userId: string): string {
  if (!userId) throw new ShopError('SHOP_VALIDATION_FAILED', 'user_id is required', { field: 'user_id' });
  return userId;
}

/** order.v1.OrderService: the gateway's reads, always on behalf of one user. */
export function orderServiceHandlers(queries: OrderQueries): ServiceImplementation<typeof orderV1.OrderServiceService> {
  return {
    getOrder: async (request) => ({
      order: toProtoOrder(await queries.get(requireUserId(request.userId), request.id)),
    }),
    listOrders: async (request) => {
      const page = await queries.list(requireUserId(request.userId), {
        limit: request.limit,
        ...(request.cursor ? { cursor: request.cursor } : {}),
      });
      return { orders: page.orders.map(toProtoOrder), nextCursor: page.nextCursor ?? '' };
    },
  };
}
