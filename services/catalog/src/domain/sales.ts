// Sold counters of confirmed orders. No I/O.

/** A product and a number of its units. */
export interface ProductUnits {
  productId: string;
  quantity: number;
}

/**
 * An order's units per product, repeated products summed, in product-id order (the order the
 * counters are locked in, so two orders counted at once cannot deadlock).
 */
export function unitsPerProduct(lines: readonly ProductUnits[]): ProductUnits[] {
  const units = new Map<string, number>();
  for (const { productId, quantity } of lines) units.set(productId, (units.get(productId) ?? 0) + quantity);
  return [...units]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, quantity]) => ({ productId, quantity }));
}
