import type { DomainEvent } from '@shoplab/chassis';
import type { Cart, CartLine, ProductInfo, ProductQuantity } from '../domain/cart';

/** The catalog as the cart sees it. */
export interface ProductCatalog {
  /** Throws SHOP_NOT_FOUND for an unknown product, SHOP_DEPENDENCY_UNAVAILABLE when the catalog cannot answer. */
  getProduct(productId: string): Promise<ProductInfo>;
}

/** Writes to one cart inside a transaction that holds its row lock. */
export interface CartTx {
  putLine(line: CartLine): Promise<void>;
  deleteLine(productId: string): Promise<void>;
  deleteAllLines(): Promise<void>;
  /** Increments the version; call once per change. */
  bumpVersion(): Promise<void>;
  writeEvents(events: DomainEvent[]): Promise<void>;
  /** The cart as it stands now, inside the transaction. */
  read(): Promise<Cart>;
}

export interface CartStore {
  /** The user's cart; an empty one (version 0) for a user without one. */
  get(userId: string): Promise<Cart>;
  /** Runs `work` on the locked cart (created if missing) in one transaction. */
  change<T>(userId: string, work: (cart: Cart, tx: CartTx) => Promise<T>): Promise<T>;
}

/**
 * The cart writes of one order event, inside the consumer's transaction (the one that also
 * records the event id in processed_events).
 */
export interface OrderClearances {
  /** Claims the order for clearing; false when its purchase was already taken out (any event id). */
  claim(orderId: string, userId: string, eventId: string): Promise<boolean>;
  /** Runs `work` on the user's locked cart; undefined (and nothing created) when the user has no cart. */
  changeExisting<T>(userId: string, work: (cart: Cart, tx: CartTx) => Promise<T>): Promise<T | undefined>;
  /** Records what the claimed order took out and the cart version it left (null: nothing changed). */
  recordRemoved(orderId: string, removed: ProductQuantity[], cartVersion: number | null): Promise<void>;
}
