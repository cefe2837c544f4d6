// What the catalog does with the order service's events (topic order.events): a confirmed
// order adds its units to each product's sold counters (product_sales), once per order. Runs
// inside the consumer's transaction, which also records the event id.
import { type DomainEvent, eventType, PoisonMessageError } from '@shoplab/chassis';
import { z } from 'zod';
import { unitsPerProduct } from '../domain/sales';
import type { SalesLedger } from './ports';

export const ORDER_CONFIRMED = eventType('order', 'confirmed');

/** The part of shop.order.confirmed.v1's data the catalog relies on (other fields are ignored). */
export const orderConfirmedData = z.object({
  orderId: z.string().min(1).max(200),
  lines: z.array(z.object({ productId: z.string().min(1).max(200), quantity: z.number().int().positive() })).min(1),
});

export type OrderEventOutcome =
  | { kind: 'counted'; orderId: string; products: number; units: number }
  /** The order was counted before (the same order under another event id). */
  | { kind: 'already-counted'; orderId: string }
  /** Not an event the catalog acts on (created, cancelled, anything newer): recorded and skipped. */
  | { kind: 'ignored'; type: string };

/** Applies one order event; throws (→ retries, then the DLQ) when a confirmed event's data breaks the contract. */
export async function applyOrderEvent(event: DomainEvent, ledger: SalesLedger): Promise<OrderEventOutcome> {
  if (event.type !== ORDER_CONFIRMED) return { kind: 'ignored', type: event.type };
  const parsed = orderConfirmedData.safeParse(event.data);
  if (!parsed.success) {
    throw new PoisonMessageError(`${event.type} ${event.id} has invalid data: ${z.prettifyError(parsed.error)}`);
  }
  const { orderId } = parsed.data;
  const sales = unitsPerProduct(parsed.data.lines);
  const units = sales.reduce((sum, s) => sum + s.quantity, 0);
  if (!(await ledger.claimOrder(orderId, event.id, units))) return { kind: 'already-counted', orderId };
  await ledger.addSales(sales);
  return { kind: 'counted', orderId, products: sales.length, units };
}
