// The cart use cases. The catalog is asked BEFORE the transaction (no row lock is held over a
// network call); a line is never accepted unless the catalog confirmed the product and its stock.
import { createEvent, eventType } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import { type Cart, checkLineQuantity, lineOf, quantityAfterAdding } from '../domain/cart';
import type { CartStore, CartTx, ProductCatalog } from './ports';

export function cartEvent(kind: string, userId: string, data: Record<string, unknown>) {
  return createEvent({ service: 'cart', type: eventType('cart', kind), subject: userId, data: { userId, ...data } });
}

/** Bumps the version, stamps it on the events and writes them; returns the cart as committed. */
export async function commitCartChange(tx: CartTx, events: ReturnType<typeof cartEvent>[]): Promise<Cart> {
  await tx.bumpVersion();
  const cart = await tx.read();
  for (const e of events) (e.data as Record<string, unknown>).version = cart.version;
  await tx.writeEvents(events);
  return cart;
}

function notInCart(productId: string): ShopError {
  return new ShopError('SHOP_NOT_FOUND', `Product ${productId} is not in the cart`, { productId });
}

export class CartService {
  constructor(
    private readonly store: CartStore,
    private readonly catalog: ProductCatalog,
  ) {}

  get(userId: string): Promise<Cart> {
    return this.store.get(userId);
  }

  async addItem(userId: string, productId: string, quantity: number): Promise<Cart> {
    const product = await this.catalog.getProduct(productId);
    return this.store.change(userId, async (cart, tx) => {
      const previous = lineOf(cart, productId)?.quantity ?? 0;
      const lineQuantity = quantityAfterAdding(cart, product, quantity);
      await tx.putLine({ productId, quantity: lineQuantity, unitPrice: product.price });
      return this.commit(tx, [
        cartEvent('item_added', userId, {
          productId,
          quantity,
          previousQuantity: previous,
          lineQuantity,
          unitPrice: product.price,
        }),
      ]);
    });
  }

  /** Sets a line's quantity; 0 removes the line. Removing needs no catalog answer. */
  async setQuantity(userId: string, productId: string, quantity: number): Promise<Cart> {
    if (quantity === 0) return this.removeItem(userId, productId);
    // A line that is not there cannot change: answer 404 without asking the catalog.
    if (!lineOf(await this.store.get(userId), productId)) throw notInCart(productId);
    const product = await this.catalog.getProduct(productId);
    checkLineQuantity(quantity, product);
    return this.store.change(userId, async (cart, tx) => {
      const line = lineOf(cart, productId);
      if (!line) throw notInCart(productId);
      const samePrice =
        line.unitPrice.amount === product.price.amount && line.unitPrice.currency === product.price.currency;
      if (line.quantity === quantity && samePrice) return cart;
      await tx.putLine({ productId, quantity, unitPrice: product.price });
      return this.commit(tx, [
        cartEvent('item_changed', userId, {
          productId,
          quantity,
          previousQuantity: line.quantity,
          unitPrice: product.price,
        }),
      ]);
    });
  }

  async removeItem(userId: string, productId: string): Promise<Cart> {
    if (!lineOf(await this.store.get(userId), productId)) throw notInCart(productId);
    return this.store.change(userId, async (cart, tx) => {
      const line = lineOf(cart, productId);
      if (!line) throw notInCart(productId);
      await tx.deleteLine(productId);
      return this.commit(tx, [cartEvent('item_removed', userId, { productId, previousQuantity: line.quantity })]);
    });
  }

  /** Empties the cart. Clearing an empty cart changes nothing (no new version, no event). */
  async clear(userId: string, reason = 'user'): Promise<Cart> {
    const current = await this.store.get(userId);
    if (current.lines.length === 0) return current;
    return this.store.change(userId, async (cart, tx) => {
      if (cart.lines.length === 0) return cart;
      await tx.deleteAllLines();
      return this.commit(tx, [
        cartEvent('cleared', userId, {
          reason,
          removed: cart.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
        }),
      ]);
    });
  }

  private commit(tx: CartTx, events: ReturnType<typeof cartEvent>[]): Promise<Cart> {
    return commitCartChange(tx, events);
  }
}
