// A user's cart and the rules for its lines. Pure: no I/O.
import { ShopError } from '@shoplab/chassis/errors';

export const MAX_LINE_QUANTITY = 99;

export interface Money {
  amount: number;
  currency: string;
}

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

/** Adding to a product already in the cart adds to its line. */
export function quantityAfterAdding(cart: Cart, product: ProductInfo, quantity: number): number {
  return checkLineQuantity((lineOf(cart, product.id)?.quantity ?? 0) + quantity, product);
}
