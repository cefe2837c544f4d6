// What the catalog does with the order service's events (topic order.events): a confirmed
// order adds its units to each product's sold counters (product_sales), once per order. Runs
// inside the consumer's transaction, which also records the event id.
import { type DomainEvent, parseEventData } from '@shoplab/chassis';
import { OrderConfirmedV1 } from '@shoplab/contracts';
import { unitsPerProduct } from '../domain/sales';
import type { SalesLedger } from './ports';

export type OrderEventOutcome =
  | { kind: 'counted'; orderId: string; products: number; units: number }
  /** The order was counted before (the same order under another event id). */
  | { kind: 'already-counted'; orderId: string }
  /** Not an event the catalog acts on (created, cancelled, anything newer): recorded and skipped. */
  | { kind: 'ignored'; type: string };

/** Applies one order event; throws PoisonMessageError (→ the DLQ) when a confirmed event's data breaks its schema. */
export async function applyOrderEvent(event: DomainEvent, ledger: SalesLedger): Promise<OrderEventOutcome> {
  if (event.type !== OrderConfirmedV1.type) return { kind: 'ignored', type: event.type };
  const { orderId, lines } = parseEventData(OrderConfirmedV1, event);
  const sales = unitsPerProduct(lines);
  const units = sales.reduce((sum, s) => sum + s.quantity, 0);
  if (!(await ledger.claimOrder(orderId, event.id, units))) return { kind: 'already-counted', orderId };
  await ledger.addSales(sales);
  return { kind: 'counted', orderId, products: sales.length, units };
}
