// Orders as the service stores and shows them, and the pricing rule of checkout.
// Plain TypeScript: no I/O.

import { sortByHlc } from '@shoplab/chassis/clock';
import { ShopError } from '@shoplab/chassis/errors';
import type { Money } from '@shoplab/contracts';
import type { CheckoutMode } from './checkout-mode';
import { money } from './money';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** A new saga starts at step 1 (src/domain/saga.ts names the steps). */
export const FIRST_SAGA_STEP = 1;

export interface OrderLine {
  productId: string;
  /** The product's name at checkout. */
  name: string;
  quantity: number;
  unitPrice: Money;
  lineTotal: Money;
}

export const TIMELINE_KINDS = ['step', 'event'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** What a payment event's timeline entry shows as its outcome: the order service received it. */
export const EVENT_RECEIVED = 'RECEIVED';

/**
 * One entry of the order's timeline: an attempt of a saga step (or of its compensation), kind
 * `step`, or a payment event the order service received, kind `event` — `step` is then the event
 * type (`shop.payment.captured.v1`), `attempt` 1, `outcome` RECEIVED, `startedAt` the event's time
 * and `finishedAt` when the order service recorded it.
 */
export interface TimelineEntry {
  kind: TimelineKind;
  step: string;
  attempt: number;
  outcome: string;
  errorCode?: string;
  error?: string;
  traceId?: string;
  startedAt: string;
  finishedAt?: string;
  /**
   * The logical clocks of the entry (docs/patterns/logical-clocks.md): a step's are the order
   * service's when the attempt started, an event's those its producer stamped on it. Absent on
   * entries recorded before the clocks.
   */
  lamport?: number;
  hlc?: string;
}

/** How a timeline is ordered: `wall` by `startedAt` (each service's own clock), `hlc` by the hybrid logical clock. */
export const TIMELINE_SORTS = ['wall', 'hlc'] as const;
export type TimelineSort = (typeof TIMELINE_SORTS)[number];

/**
 * The saga's steps and the payment events as one timeline in time order (by `startedAt`). The
 * sort is stable: entries of one time keep their order, steps before events.
 */
export function mergeTimeline(steps: readonly TimelineEntry[], events: readonly TimelineEntry[]): TimelineEntry[] {
  return [...steps, ...events].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
}

/**
 * A timeline (in wall order) ordered by `sort`. By `hlc` an effect comes after its cause even
 * when the services' wall clocks disagree; entries without an HLC (recorded before the clocks)
 * come first, in wall order (the sort is stable).
 */
export function sortTimeline(timeline: readonly TimelineEntry[], sort: TimelineSort): TimelineEntry[] {
  return sort === 'wall' ? [...timeline] : sortByHlc(timeline);
}

/** A postal address. */
export type PostalAddress = {
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
};

/** `{line1, line2?, city, postalCode, country}` given at checkout, or a saved address of the user. */
export type ShippingAddress = PostalAddress | { addressId: string };

export interface OrderView {
  id: string;
  userId: string;
  status: OrderStatus;
  lines: OrderLine[];
  total: Money;
  shippingAddress?: ShippingAddress;
  cancelReason?: string;
  paymentId?: string;
  /** How it was checked out (domain/checkout-mode.ts). */
  checkoutMode: CheckoutMode;
  timeline: TimelineEntry[];
  createdAt: string;
  updatedAt: string;
}

/** A line of the buyer's cart, as the cart service reports it. */
export interface CartLine {
  productId: string;
  quantity: number;
}

/** What checkout needs of a product: the catalog's current name and price (authoritative). */
export interface PricedProduct {
  id: string;
  name: string;
  price: Money;
}

export interface PricedCart {
  lines: OrderLine[];
  total: Money;
}

/**
 * Prices a cart at the catalog's current prices. Refuses an empty cart (SHOP_CART_EMPTY), a
 * product the catalog no longer has (SHOP_PRODUCT_UNAVAILABLE with `missingProductIds`) and a cart
 * that mixes currencies. Lines of one product are merged, in first-seen order.
 */
export function priceCart(cartLines: readonly CartLine[], products: ReadonlyMap<string, PricedProduct>): PricedCart {
  const quantities = new Map<string, number>();
  for (const line of cartLines) {
    if (!Number.isInteger(line.quantity) || line.quantity < 1) continue;
    quantities.set(line.productId, (quantities.get(line.productId) ?? 0) + line.quantity);
  }
  if (quantities.size === 0)
    throw new ShopError('SHOP_CART_EMPTY', 'The cart is empty: add products before checking out');

  const missingProductIds = [...quantities.keys()].filter((id) => !products.has(id));
  if (missingProductIds.length > 0) {
    throw new ShopError(
      'SHOP_PRODUCT_UNAVAILABLE',
      `The catalog no longer sells ${missingProductIds.join(', ')}: remove ${missingProductIds.length === 1 ? 'it' : 'them'} from the cart`,
      { missingProductIds },
    );
  }

  const lines: OrderLine[] = [];
  for (const [productId, quantity] of quantities) {
    const product = products.get(productId)!;
    const lineTotal = product.price.amount * quantity;
    lines.push({
      productId,
      name: product.name,
      quantity,
      unitPrice: money(product.price.amount, product.price.currency),
      lineTotal: money(lineTotal, product.price.currency),
    });
  }
  const currencies = [...new Set(lines.map((l) => l.unitPrice.currency))];
  if (currencies.length > 1) {
    throw new ShopError('SHOP_BAD_REQUEST', `The cart mixes currencies (${currencies.join(', ')})`, { currencies });
  }
  const amount = lines.reduce((sum, l) => sum + l.lineTotal.amount, 0);
  if (!Number.isSafeInteger(amount)) throw new ShopError('SHOP_BAD_REQUEST', 'The order total is too large');
  return { lines, total: money(amount, currencies[0]!) };
}
