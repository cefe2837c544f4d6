// What the use cases need from the outside world; src/infrastructure implements each port.
import type { DomainEvent } from '@shoplab/chassis';
import type { Money } from '@shoplab/contracts';
import type { CheckoutMode } from '../domain/checkout-mode';
import type { Card } from '../domain/checkout-request';
import type { OrderCursor } from '../domain/cursor';
import type {
  CartLine,
  OrderLine,
  OrderStatus,
  OrderView,
  PostalAddress,
  PricedProduct,
  ShippingAddress,
} from '../domain/order';
import type { AttemptOutcome, BreakerView, CompensationName, SagaState } from '../domain/saga';
import type { SagaProgress } from '../domain/saga-transitions';

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
  saga: { nextAttemptAt: Date; deadlineAt: Date; traceContext?: Record<string, string> };
  card: SealedCard;
  event: DomainEvent;
  /** How it is checked out (default `orchestrated`). */
  checkoutMode?: CheckoutMode;
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
  /** Every order (created at or after `since`), oldest first: the audit's per-order view. */
  auditList(since?: Date): Promise<AuditedOrder[]>;
}

/** One order as the audit (docs/reference.md#audit) sees it. */
export interface AuditedOrder {
  id: string;
  status: OrderStatus;
  total: Money;
  paymentId: string | null;
  createdAt: Date;
}

// ---------------------------------------------------------------------------------------
// The checkout saga's participants (gRPC) and its store.

/** The budget of one call; commands also carry their idempotency key. */
export interface CallOptions {
  deadlineMs: number;
}
export interface CommandOptions extends CallOptions {
  idempotencyKey: string;
}

/** user.v1.UserService. Refusals (unknown user, invalid address) are ShopErrors with NOT_FOUND/INVALID_ARGUMENT statuses. */
export interface UserDirectory {
  getUser(userId: string, options: CallOptions): Promise<{ id: string; defaultAddress?: PostalAddress }>;
  /** The address as the user service normalises it (a saved one resolved from its id). */
  validateAddress(userId: string, address: ShippingAddress, options: CallOptions): Promise<PostalAddress>;
}

/** catalog.v1.CatalogService stock commands; the reservation id is the order id. */
export interface StockReservations {
  reserve(
    reservationId: string,
    lines: { productId: string; quantity: number }[],
    options: CommandOptions,
  ): Promise<void>;
  commit(reservationId: string, options: CommandOptions): Promise<void>;
  /**
   * Returns reserved units (an unknown id is recorded as released: a late reserve then holds
   * nothing). Resolves with what the reservation is afterwards: `committed` when a commit whose
   * answer was lost had gone through, so the caller restocks instead.
   */
  release(reservationId: string, options: CommandOptions): Promise<'released' | 'committed' | 'restocked'>;
  restock(reservationId: string, options: CommandOptions): Promise<void>;
}

export type PaymentStatus = 'AUTHORIZED' | 'CAPTURED' | 'VOIDED' | 'REFUNDED' | 'DECLINED' | 'UNKNOWN';

export interface PaymentInfo {
  id: string;
  status: PaymentStatus;
  amount: Money;
  captured: Money;
  refunded: Money;
}

/** payment.v1.PaymentService. Declines are ShopErrors (SHOP_PAYMENT_DECLINED, SHOP_INSUFFICIENT_FUNDS). */
export interface Payments {
  authorize(orderId: string, amount: Money, card: Card, options: CommandOptions): Promise<PaymentInfo>;
  capture(paymentId: string, options: CommandOptions): Promise<PaymentInfo>;
  void(paymentId: string, options: CommandOptions): Promise<PaymentInfo>;
  refund(paymentId: string, amount: Money, options: CommandOptions): Promise<PaymentInfo>;
  /** undefined when there is no such payment. */
  get(paymentId: string, options: CallOptions): Promise<PaymentInfo | undefined>;
  /** The order's live payment (else its latest attempt); undefined when it has none. */
  findByOrder(orderId: string, options: CallOptions): Promise<PaymentInfo | undefined>;
}

/** A saga as a runner holds it: its state and what its steps need of the order. */
export interface SagaSnapshot {
  orderId: string;
  userId: string;
  state: SagaState;
  currentStep: number;
  attempts: number;
  deadlineAt: Date;
  /** The optimistic lock: every write checks it and bumps it. */
  version: number;
  compensations: CompensationName[];
  failureReason?: string;
  traceContext?: Record<string, string>;
  /** What was bought; name and prices as priced at checkout (the confirmed event carries them). */
  lines: { productId: string; quantity: number; name?: string; unitPrice?: Money; lineTotal?: Money }[];
  total: Money;
  cartVersion: number;
  shippingAddress?: ShippingAddress;
  paymentId?: string;
  /** How the order is checked out: `two-phase` runs reserve and authorize as one distributed transaction. */
  checkoutMode?: CheckoutMode;
  /** When the order was created (the saga's duration is measured from it). */
  createdAt: Date;
}

/** The saga fields an attempt's end writes. */
export type { SagaProgress };

/** What a successful step changes on the order, in the transaction that records it. */
export interface StepEffects {
  paymentId?: string;
  shippingAddress?: PostalAddress;
  /** Authorize succeeded: the card is no longer needed. */
  deleteCard?: boolean;
}

export interface AttemptEnd {
  rowId: bigint;
  outcome: Exclude<AttemptOutcome, 'STARTED' | 'INTERRUPTED'>;
  error?: { code: string; message: string };
  finishedAt: Date;
}

/** The saga ends: order status, cancel reason and event, card deleted — with the last attempt. */
export interface SagaEnd {
  status: 'CONFIRMED' | 'CANCELLED';
  cancelReason?: string;
  event: DomainEvent;
}

export interface SagaStore {
  /**
   * Takes up to `limit` unfinished sagas that are due (`next_attempt_at <= now`), skipping
   * those another runner is claiming (FOR UPDATE SKIP LOCKED), and leases them until `leaseUntil`.
   */
  claimDue(limit: number, now: Date, leaseUntil: Date): Promise<SagaSnapshot[]>;
  /**
   * Records an attempt before its command is sent: a STARTED timeline row and the saga's
   * attempts, deadline and lease. Undefined if the saga's version moved (another runner has it).
   */
  beginAttempt(
    saga: SagaSnapshot,
    attempt: {
      step: string;
      number: number;
      traceId?: string;
      /** Stored as the saga's trace context when it has none yet. */
      traceContext?: Record<string, string>;
      startedAt: Date;
      deadlineAt: Date;
      leaseUntil: Date;
    },
  ): Promise<{ rowId: bigint; version: number; traceContext?: Record<string, string> } | undefined>;
  /** Records the attempt's end and the saga's next state in one transaction; undefined if the version moved. */
  finishAttempt(
    saga: SagaSnapshot,
    change: { attempt?: AttemptEnd; progress: SagaProgress; effects?: StepEffects; end?: SagaEnd },
  ): Promise<number | undefined>;
  /** Makes a leased saga due again at `now` (a stopping runner hands it over; a failed write retries soon); a no-op if its version moved. */
  release(saga: SagaSnapshot, now: Date): Promise<void>;
  /** The sealed card, while the saga still holds it. */
  sealedCard(orderId: string): Promise<SealedCard | undefined>;
}

/**
 * The runner's own circuit breakers to the participants (`user`, `catalog`, `payment`): a step
 * refused by one is tried again when it lets a trial call through (ADR 14).
 */
export interface BreakerWatch {
  /** The breaker to `target` now; `unknown` when there is none for it. */
  view(target: string): BreakerView;
}

/** The saga's metrics. */
export interface SagaObserver {
  attempt(step: string, outcome: AttemptOutcome): void;
  ended(outcome: 'confirmed' | 'cancelled', seconds: number): void;
  orderStatus(status: OrderStatus): void;
  /** A confirmed order's total: the revenue counter. */
  revenue?(total: Money): void;
}

/** A payment event as the order's timeline keeps it (table payment_events). */
export interface PaymentEventRecord {
  eventId: string;
  orderId: string;
  paymentId: string;
  /** `shop.payment.captured.v1`, … */
  type: string;
  /** The payment's status after the event. */
  status: string;
  /** The money the event moved. */
  amount: Money;
  /** The event's time. */
  occurredAt: Date;
  /** When the order service recorded it. */
  receivedAt: Date;
  traceId?: string;
  /** The event's `ce_lamport` and `ce_hlc` (its producer's clocks), when it carried them. */
  lamport?: number;
  hlc?: string;
}

/** The payment events on the orders' timelines, inside the payment-events consumer's transaction. */
export interface PaymentEventLog {
  orderExists(orderId: string): Promise<boolean>;
  /** Records the event; false when its event id is recorded already. */
  record(event: PaymentEventRecord): Promise<boolean>;
}
