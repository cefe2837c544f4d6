// The catalog's part in a choreographed checkout (docs/patterns/choreography.md): no saga sends it
// commands; it reacts to the events of order and payment, with the same stock commands the saga
// uses (stock-reservations.ts: idempotent by key, their events in the outbox):
//
//   shop.order.created.v1 (checkoutMode choreographed) → reserve → stock_reserved, or
//                                                        stock_refused (nothing held, and why)
//   shop.payment.authorized.v1 → commit  → stock_committed (payment captures on it)
//   shop.payment.declined.v1   → release → stock_released  (the order cancels on it)
//   shop.order.cancelled.v1    → release (a no-op when already released)
//
// The catalog knows which reservations a choreography holds from its own records: their
// idempotency keys are `<orderId>:choreography:<step>` (the saga's are `<orderId>:<step>`), so
// a payment event about an orchestrated order moves nothing here.
import { GrpcStatus, ShopError } from '@shoplab/chassis/errors';
import type { StockLine } from '../domain/stock';

export const ORDER_CREATED = 'shop.order.created.v1';
export const ORDER_CANCELLED = 'shop.order.cancelled.v1';
export const PAYMENT_AUTHORIZED = 'shop.payment.authorized.v1';
export const PAYMENT_DECLINED = 'shop.payment.declined.v1';

export function choreographyKey(orderId: string, step: string): string {
  return `${orderId}:choreography:${step}`;
}

export type CatalogReaction =
  | { kind: 'reserve'; orderId: string; lines: StockLine[] }
  | { kind: 'commit'; orderId: string }
  | { kind: 'release'; orderId: string }
  | { kind: 'ignore' };

/** What an event asks of the catalog; `held` says whether a choreography holds the order's reservation. */
export function catalogReaction(
  event: { type: string; data: unknown },
  held: (orderId: string) => boolean,
): CatalogReaction {
  const data = (event.data ?? {}) as {
    orderId?: unknown;
    checkoutMode?: unknown;
    lines?: { productId: string; quantity: number }[];
  };
  const orderId = typeof data.orderId === 'string' ? data.orderId : undefined;
  if (!orderId) return { kind: 'ignore' };
  switch (event.type) {
    case ORDER_CREATED:
      if (data.checkoutMode !== 'choreographed' || !Array.isArray(data.lines)) return { kind: 'ignore' };
      return {
        kind: 'reserve',
        orderId,
        lines: data.lines.map(({ productId, quantity }) => ({ productId, quantity })),
      };
    case PAYMENT_AUTHORIZED:
      return held(orderId) ? { kind: 'commit', orderId } : { kind: 'ignore' };
    case PAYMENT_DECLINED:
    case ORDER_CANCELLED:
      return held(orderId) ? { kind: 'release', orderId } : { kind: 'ignore' };
    default:
      return { kind: 'ignore' };
  }
}

/** Statuses by which a stock command says no: asking again gives the same answer. */
const REFUSALS: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.OUT_OF_RANGE,
]);

/** The reason a refused reserve is announced with (the saga's cancel reasons), or undefined when it is no refusal. */
export function refusalOf(err: unknown): string | undefined {
  if (!(err instanceof ShopError) || !REFUSALS.has(err.grpcStatus)) return undefined;
  if (err.code === 'SHOP_OUT_OF_STOCK') return 'out_of_stock';
  if (err.code === 'SHOP_PRODUCT_UNAVAILABLE') return 'product_unavailable';
  return 'reservation_refused';
}
