// A user's cart and the rules for its lines. Pure: no I/O.
import { ShopError } from '@shoplab/chassis/errors';
import type { Money } from '@shoplab/contracts';

export const MAX_LINE_QUANTITY = 99;

export interface CartLine {
  productId: string;
  quantity: number;
  /** The catalog's price when the line was last changed (the catalog's current price is authoritative). */
  unitPrice: Money;
}

export interface Cart {
  userId: string;
  lines: CartLine[];
  /** 0 for a cart never changed; +1 on every change. */
  version: number;
  /** Null for a cart never changed. */
  updatedAt: Date | null;
}

/** What the cart needs to know about a product. */
export interface ProductInfo {
  id: string;
  price: Money;
  /** Units the catalog can still reserve. */
  available: number;
}

export function emptyCart(userId: string): Cart {
  return { userId, lines: [], version: 0, updatedAt: null };
}

export function lineOf(cart: Cart, productId: string): CartLine | undefined {
  return cart.lines.find((l) => l.productId === productId);
}

/** A line's quantity must fit 1..99 and the catalog's available stock. */
export function checkLineQuantity(quantity: number, product: ProductInfo): number {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) {
    throw new ShopError('SHOP_VALIDATION_FAILED', `A line holds 1 to ${MAX_LINE_QUANTITY} units, not ${quantity}`, {
      productId: product.id,
      field: 'quantity',
      max: MAX_LINE_QUANTITY,
    });
  }
  if (quantity > product.available) {
    throw new ShopError('SHOP_OUT_OF_STOCK', `Only ${product.available} of ${product.id} available`, {
      productId: product.id,
      requested: quantity,
      available: product.available,
    });
  }
  return quantity;
}

/**
 * Adding to a product already in the cart adds to its line. A valid quantity that would take
 * the line past the limit is refused because of what the cart already holds: 409, not 400.
 */
export function quantityAfterAdding(cart: Cart, product: ProductInfo, quantity: number): number {
  const inCart = lineOf(cart, product.id)?.quantity ?? 0;
  if (
    Number.isInteger(quantity) &&
    quantity >= 1 &&
    quantity <= MAX_LINE_QUANTITY &&
    inCart + quantity > MAX_LINE_QUANTITY
  ) {
    throw new ShopError(
      'SHOP_LINE_LIMIT_EXCEEDED',
      `The line holds ${inCart} units; adding ${quantity} would pass ${MAX_LINE_QUANTITY}`,
      { productId: product.id, inCart, requested: quantity, max: MAX_LINE_QUANTITY },
    );
  }
  return checkLineQuantity(inCart + quantity, product);
}

/** A product and a number of its units (what an order bought, or what left a cart). */
export interface ProductQuantity {
  productId: string;
  quantity: number;
}

/** One line a purchase changes: its quantity before and after (0 = the line goes). */
export interface LineReduction {
  productId: string;
  from: number;
  to: number;
}

/**
 * What a confirmed order takes out of its buyer's cart: per product exactly the units bought,
 * never more than the line holds now (the buyer may have lowered or removed it since checkout),
 * and a line left with no units goes. Lines the order did not buy — added after checkout — stay.
 * Repeated products in `bought` are summed.
 */
export function takeOutPurchase(
  cart: Cart,
  bought: readonly ProductQuantity[],
): { reductions: LineReduction[]; removed: ProductQuantity[] } {
  const units = new Map<string, number>();
  for (const { productId, quantity } of bought) units.set(productId, (units.get(productId) ?? 0) + quantity);
  const reductions: LineReduction[] = [];
  for (const line of cart.lines) {
    const quantity = units.get(line.productId);
    if (quantity === undefined || quantity <= 0) continue;
    reductions.push({ productId: line.productId, from: line.quantity, to: Math.max(0, line.quantity - quantity) });
  }
  return {
    reductions,
    removed: reductions.map((r) => ({ productId: r.productId, quantity: r.from - r.to })),
  };
}
