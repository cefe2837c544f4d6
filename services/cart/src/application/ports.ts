import type { DomainEvent } from '@shoplab/chassis';
import type { Cart, CartLine, ProductInfo } from '../domain/cart';

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
