// What the cart does with the order service's events (topic order.events): a confirmed order
// takes exactly what it bought out of the buyer's cart. Nothing else touches the cart — a
// cancelled order leaves it as it is (docs/reference.md#audit, invariant 7: a cart is cleared only
// by a confirmed order). Runs inside the consumer's transaction, which also records the event id.
import { type DomainEvent, parseEventData } from '@shoplab/chassis';
import { OrderConfirmedV1 } from '@shoplab/contracts';
import { takeOutPurchase } from '../domain/cart';
import { cartEvent, commitCartChange } from './cart-service';
import type { OrderClearances } from './ports';

export type OrderEventOutcome =
  /** The purchase left the cart: a new version and a shop.cart.cleared.v1 event. */
  | { kind: 'cleared'; orderId: string; userId: string; version: number }
  /** The order was cleared before (the same order under another event id): nothing changed. */
  | { kind: 'already-cleared'; orderId: string }
  /** The cart holds nothing the order bought (removed since checkout, or no cart): nothing changed. */
  | { kind: 'nothing-to-clear'; orderId: string; userId: string }
  /** Not an event the cart acts on (created, cancelled, anything newer): recorded and skipped. */
  | { kind: 'ignored'; type: string };

/**
 * Applies one order event. Throws PoisonMessageError (→ the DLQ) when a confirmed event's data is
 * not what its schema in @shoplab/contracts promises: a cart is never changed on a guess.
 */
export async function applyOrderEvent(event: DomainEvent, clearances: OrderClearances): Promise<OrderEventOutcome> {
  if (event.type !== OrderConfirmedV1.type) return { kind: 'ignored', type: event.type };
  const { orderId, userId, lines } = parseEventData(OrderConfirmedV1, event);
  if (!(await clearances.claim(orderId, userId, event.id))) return { kind: 'already-cleared', orderId };

  const result = await clearances.changeExisting(userId, async (cart, tx) => {
    const { reductions, removed } = takeOutPurchase(cart, lines);
    if (reductions.length === 0) return { removed, version: null };
    for (const r of reductions) {
      const line = cart.lines.find((l) => l.productId === r.productId);
      if (r.to === 0 || !line) await tx.deleteLine(r.productId);
      else await tx.putLine({ ...line, quantity: r.to });
    }
    const after = await commitCartChange(tx, [
      cartEvent('cleared', userId, {
        reason: 'order_confirmed',
        orderId,
        removed,
        remainingLines: cart.lines.length - reductions.filter((r) => r.to === 0).length,
      }),
    ]);
    return { removed, version: after.version };
  });

  await clearances.recordRemoved(orderId, result?.removed ?? [], result?.version ?? null);
  if (result?.version == null) return { kind: 'nothing-to-clear', orderId, userId };
  return { kind: 'cleared', orderId, userId, version: result.version };
}
