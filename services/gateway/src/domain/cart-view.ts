// The composed cart: the cart service's stored lines joined with the catalog's current
// names, prices and stock. Pure: the application layer fetches, this decides.
import type { Money } from '@shoplab/contracts';
import { DEFAULT_CURRENCY, type DegradedPart, type ProductView, withDegraded } from './views';

/** The cart as the cart service's REST API returns it. */
export interface StoredCart {
  userId: string;
  lines: { productId: string; quantity: number; unitPrice: Money }[];
  version: number;
  updatedAt?: string | null;
}

export interface CartLineView {
  productId: string;
  /** Null when the catalog could not be asked, or no longer has the product. */
  name: string | null;
  quantity: number;
  /** The price when the line was last changed. */
  unitPrice: Money;
  /** The catalog's price now; null when unknown. */
  currentPrice: Money | null;
  /** Units in stock now; null when unknown. */
  available: number | null;
  /** quantity × (currentPrice, else unitPrice). */
  lineTotal: Money;
}

export interface CartView {
  lines: CartLineView[];
  total: Money;
  itemCount: number;
  version: number;
  updatedAt: string | null;
  degraded?: DegradedPart[];
}

/**
 * Joins a stored cart with product details. `products` undefined means the catalog did not
 * answer: the lines keep their stored prices and the cart is marked `degraded: ['catalog']`.
 * A product the catalog no longer knows has no name, no current price and 0 available.
 */
export function composeCart(cart: StoredCart, products: ReadonlyMap<string, ProductView> | undefined): CartView {
  const currency = cart.lines[0]?.unitPrice.currency ?? DEFAULT_CURRENCY;
  const lines = cart.lines.map((line): CartLineView => {
    if (!products) {
      return {
        productId: line.productId,
        name: null,
        quantity: line.quantity,
        unitPrice: line.unitPrice,
        currentPrice: null,
        available: null,
        lineTotal: times(line.unitPrice, line.quantity),
      };
    }
    const product = products.get(line.productId);
    const price = product?.price ?? line.unitPrice;
    return {
      productId: line.productId,
      name: product?.name ?? null,
      quantity: line.quantity,
      unitPrice: line.unitPrice,
      currentPrice: product?.price ?? null,
      available: product ? product.available : 0,
      lineTotal: times(price, line.quantity),
    };
  });
  const total = { amount: lines.reduce((sum, l) => sum + l.lineTotal.amount, 0), currency };
  return withDegraded(
    {
      lines,
      total,
      itemCount: cart.lines.reduce((n, l) => n + l.quantity, 0),
      version: cart.version,
      updatedAt: cart.updatedAt ?? null,
    },
    products ? [] : ['catalog'],
  );
}

function times(m: Money, quantity: number): Money {
  return { amount: m.amount * quantity, currency: m.currency };
}
