// What the use cases need from the outside world; src/infrastructure implements each port.
import type { DomainEvent } from '@shoplab/chassis';
import type { Card } from '../domain/checkout-request';
import type { OrderCursor } from '../domain/cursor';
import type { Money } from '../domain/money';
import type { CartLine, OrderLine, OrderStatus, OrderView, PricedProduct, ShippingAddress } from '../domain/order';

/** The buyer's cart (cart.v1.CartService/GetCart). */
export interface CartReader {
  /** An unknown cart is an empty one. */
  getCart(userId: string): Promise<{ lines: CartLine[]; version: number }>;
}

/** Current names and prices (catalog.v1.CatalogService/BatchGetProducts). Unknown ids are left out. */
export interface ProductCatalog {
  getProducts(ids: readonly string[]): Promise<Map<string, PricedProduct>>;
}

/** The card sealed for the saga's Authorize step (AES-256-GCM). */
export interface SealedCard {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

export interface CardVault {
  /** Encrypts the card, bound to the order id (additional authenticated data). */
  seal(orderId: string, card: Card): SealedCard;
  open(orderId: string, sealed: SealedCard): Card;
  /** A keyed fingerprint (HMAC) of a request that contains card data; a plain hash could be brute-forced. */
  fingerprint(canonicalRequest: string): string;
}

/** Everything checkout writes, in one transaction. */
export interface NewOrder {
  id: string;
  userId: string;
  lines: OrderLine[];
  total: Money;
  shippingAddress: ShippingAddress | undefined;
  cartVersion: number;
  createdAt: Date;
  idempotency: { key: string; requestHash: string };
  saga: { nextAttemptAt: Date; deadlineAt: Date };
  card: SealedCard;
  event: DomainEvent;
}

/** A checkout already accepted under (user, Idempotency-Key). */
export interface CheckoutRecord {
  orderId: string;
  requestHash: string;
  status: OrderStatus;
}

/** Thrown by `create` when another request already holds (user, Idempotency-Key). */
export class DuplicateCheckoutError extends Error {
  override readonly name = 'DuplicateCheckoutError';
}

export interface OrderSummary {
  byStatus: Record<OrderStatus, number>;
  /** Sum of the totals of CONFIRMED orders, one entry per currency. */
  confirmedTotals: Money[];
  /** Sealed cards still held: orders whose saga has not authorized or ended yet. */
  paymentInstructionsHeld: number;
}

export interface OrderRepository {
  findCheckout(userId: string, idempotencyKey: string): Promise<CheckoutRecord | undefined>;
  /** Writes order, lines, saga row, idempotency record, sealed card and outbox event atomically. */
  create(order: NewOrder): Promise<void>;
  /** The order if it exists AND belongs to `userId`. */
  get(userId: string, orderId: string): Promise<OrderView | undefined>;
  /** `userId`'s orders, newest first, after `cursor`; `limit + 1` rows tell whether another page exists. */
  list(userId: string, limit: number, after?: OrderCursor): Promise<{ orders: OrderView[]; next?: OrderCursor }>;
  summary(): Promise<OrderSummary>;
}
