import type * as grpc from '@grpc/grpc-js';
import {
  type CallIdentity,
  type Logger,
  requireCallUser,
  type ServiceImplementation,
  ShopError,
  streamIdentity,
  toGrpcStatus,
} from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import type { Gauge } from 'prom-client';
import type { OrderQueries } from '../../application/order-queries';
import { type OrderChanges, watchOrder } from '../../application/order-watch';
import type { TwoPhaseCoordinator } from '../../application/two-phase-coordinator';
import type { OrderStatus, OrderView } from '../../domain/order';
import type { InquiryAnswer } from '../../domain/two-phase';

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
      lamport: entry.lamport ?? 0,
      hlc: entry.hlc ?? '',
    })),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/** The call's user id; a call from the gateway must carry that user's token (requireCallUser). */
function requireUserId(userId: string, identity: CallIdentity | undefined): string {
  if (!userId) throw new ShopError('SHOP_VALIDATION_FAILED', 'user_id is required', { field: 'user_id' });
  requireCallUser(identity, userId);
  return userId;
}

export interface WatchDeps {
  changes: OrderChanges;
  /** Re-read without a notification (progress made by another instance). */
  resyncMs: number;
  logger: Logger;
  /** Open WatchOrder streams. */
  open: Pick<Gauge, 'inc' | 'dec'>;
  /** Every open stream's abort, so a shutdown can end them before the gRPC drain. */
  streams: Set<AbortController>;
}

/**
 * order.v1.OrderService/WatchOrder (server streaming): the order now, then after each change,
 * until it ends. A client that goes away or whose deadline passes cancels the call: the watch
 * unsubscribes and its timer stops. An unknown order ends the call with NOT_FOUND.
 */
function watchHandler(queries: OrderQueries, deps: WatchDeps) {
  return (call: grpc.ServerWritableStream<orderV1.WatchOrderRequest, orderV1.WatchOrderResponse>) => {
    const stop = new AbortController();
    deps.streams.add(stop);
    deps.open.inc();
    const onCancelled = () => stop.abort();
    call.on('cancelled', onCancelled);
    const run = async () => {
      const userId = requireUserId(call.request.userId, streamIdentity(call));
      for await (const order of watchOrder(queries, deps.changes, userId, call.request.id, {
        resyncMs: deps.resyncMs,
        signal: stop.signal,
      })) {
        if (stop.signal.aborted) break;
        call.write({ order: toProtoOrder(order) });
      }
    };
    run()
      .then(
        () => {
          if (!call.cancelled) call.end();
        },
        (err: unknown) => {
          if (call.cancelled) return;
          if (!(err instanceof ShopError)) deps.logger.error({ err, orderId: call.request.id }, 'order watch failed');
          call.emit('error', toGrpcStatus(err));
        },
      )
      .finally(() => {
        call.off('cancelled', onCancelled);
        deps.streams.delete(stop);
        deps.open.dec();
      });
  };
}

const DECISION: Record<InquiryAnswer, orderV1.TwoPhaseDecision> = {
  COMMIT: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_COMMIT,
  ABORT: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_ABORT,
  UNKNOWN: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_UNKNOWN,
};

/** The participants of the two-phase checkout: the only callers of GetTwoPhaseDecision. */
const TWO_PHASE_PARTICIPANTS: ReadonlySet<string> = new Set(['catalog', 'payment']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * order.v1.OrderService: the gateway's reads, always on behalf of one user; and a two-phase
 * participant's question about a transaction it holds prepared (GetTwoPhaseDecision).
 */
export function orderServiceHandlers(
  queries: OrderQueries,
  watch: WatchDeps,
  twoPhase: Pick<TwoPhaseCoordinator, 'inquire'>,
): ServiceImplementation<typeof orderV1.OrderServiceService> {
  return {
    getTwoPhaseDecision: async (request, ctx) => {
      // Without service auth (a test server) there is no identity; with it, only the participants ask.
      if (ctx.identity && !TWO_PHASE_PARTICIPANTS.has(ctx.identity.caller)) {
        throw new ShopError('SHOP_FORBIDDEN', `${ctx.identity.caller} is no participant of the two-phase checkout`);
      }
      if (!UUID.test(request.orderId)) {
        throw new ShopError('SHOP_VALIDATION_FAILED', 'order_id must be a UUID', { field: 'order_id' });
      }
      return { decision: DECISION[await twoPhase.inquire(request.orderId.toLowerCase())] };
    },
    watchOrder: watchHandler(queries, watch) as grpc.UntypedHandleCall,
    getOrder: async (request, ctx) => ({
      order: toProtoOrder(await queries.get(requireUserId(request.userId, ctx.identity), request.id)),
    }),
    listOrders: async (request, ctx) => {
      const page = await queries.list(requireUserId(request.userId, ctx.identity), {
        limit: request.limit,
        ...(request.cursor ? { cursor: request.cursor } : {}),
      });
      return { orders: page.orders.map(toProtoOrder), nextCursor: page.nextCursor ?? '' };
    },
  };
}
