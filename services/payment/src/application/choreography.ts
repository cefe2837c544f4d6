// Payment's part in a choreographed checkout (docs/patterns/choreography.md): no saga sends it
// Capture; it captures when the catalog says the stock of a choreographed order is sold
// (shop.catalog.stock_committed.v1), and payment.captured then ends the order. The
// authorization came before, handed over by the order service (which alone holds the card) with
// the key `<orderId>:choreography:authorize_payment`: that record tells payment which orders a
// choreography owns, so a commit of an orchestrated order's stock captures nothing here.
export const STOCK_COMMITTED = 'shop.catalog.stock_committed.v1';

export function choreographyKey(orderId: string, step: string): string {
  return `${orderId}:choreography:${step}`;
}

/** The order whose payment to capture, or undefined: not a commit, or not a choreography's order. */
export function captureFor(
  event: { type: string; data: unknown },
  authorizedByChoreography: (orderId: string) => boolean,
): string | undefined {
  if (event.type !== STOCK_COMMITTED) return undefined;
  const orderId = (event.data as { reservationId?: unknown } | null)?.reservationId;
  if (typeof orderId !== 'string' || !authorizedByChoreography(orderId)) return undefined;
  return orderId;
}
