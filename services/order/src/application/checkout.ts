// Checkout: turns the caller's cart into a PENDING order whose saga (saga-runner.ts) confirms or
// cancels it. One transaction writes the order, its lines, the saga row, the idempotency
// record, the sealed card and the OrderCreated event; a retried request with the same
// Idempotency-Key gets the same order back.
import { randomUUID } from 'node:crypto';
import { createContractEvent, ShopError, traceHeaders } from '@shoplab/chassis';
import { OrderCreatedV1 } from '@shoplab/contracts';
import { type CheckoutMode, DEFAULT_CHECKOUT_MODE } from '../domain/checkout-mode';
import { type CheckoutRequest, canonicalJson, validateCard } from '../domain/checkout-request';
import { type OrderStatus, priceCart } from '../domain/order';
import type { CardVault, CartReader, CheckoutRecord, OrderRepository, ProductCatalog, SagaObserver } from './ports';
import { DuplicateCheckoutError } from './ports';

export const ORDER_CREATED = OrderCreatedV1.type;

export interface CheckoutResult {
  orderId: string;
  status: OrderStatus;
  /** True when the Idempotency-Key had already created this order. */
  replayed: boolean;
}

export interface CheckoutDeps {
  orders: OrderRepository;
  cart: CartReader;
  catalog: ProductCatalog;
  vault: CardVault;
  /** The first step's deadline (each step sets its own when it starts). */
  stepDeadlineMs: number;
  /** Called after the order committed: wakes the saga runner. */
  onCreated?: (orderId: string) => void;
  observer?: Pick<SagaObserver, 'orderStatus'>;
  /** The checkout mode switch (domain/checkout-mode.ts): read once per checkout, recorded on the order. */
  mode?: () => CheckoutMode;
  clock?: () => Date;
}

export class CheckoutService {
  private readonly clock: () => Date;

  constructor(private readonly deps: CheckoutDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async checkout(userId: string, idempotencyKey: string, request: CheckoutRequest): Promise<CheckoutResult> {
    const now = this.clock();
    const card = validateCard(request.card, now);
    const requestHash = this.deps.vault.fingerprint(canonicalJson({ ...request, card }));

    // A replay is answered before the cart is read: the cart may have changed (or been
    // cleared by the confirmed order) since the first request.
    const previous = await this.deps.orders.findCheckout(userId, idempotencyKey);
    if (previous) return replay(previous, requestHash);

    const cart = await this.deps.cart.getCart(userId);
    if (cart.lines.length === 0) {
      throw new ShopError('SHOP_CART_EMPTY', 'The cart is empty: add products before checking out');
    }
    const products = await this.deps.catalog.getProducts([...new Set(cart.lines.map((l) => l.productId))]);
    const priced = priceCart(cart.lines, products);

    const orderId = randomUUID();
    const checkoutMode = this.deps.mode?.() ?? DEFAULT_CHECKOUT_MODE;
    const shippingAddress = request.shippingAddress;
    const event = createContractEvent(OrderCreatedV1, {
      service: 'order',
      subject: orderId,
      time: now,
      // Never the card: consumers need what was bought, by whom, for how much, and where to.
      data: {
        orderId,
        userId,
        status: 'PENDING',
        lines: priced.lines,
        total: priced.total,
        shippingAddress: shippingAddress ?? null,
        cartVersion: cart.version,
        createdAt: now.toISOString(),
        checkoutMode,
      },
    });
    try {
      await this.deps.orders.create({
        id: orderId,
        userId,
        lines: priced.lines,
        total: priced.total,
        shippingAddress,
        cartVersion: cart.version,
        createdAt: now,
        idempotency: { key: idempotencyKey, requestHash },
        saga: {
          nextAttemptAt: now,
          deadlineAt: new Date(now.getTime() + this.deps.stepDeadlineMs),
          // The saga's spans are children of this request's span: one trace per checkout.
          traceContext: traceHeaders(),
        },
        card: this.deps.vault.seal(orderId, card),
        event,
        checkoutMode,
      });
    } catch (err) {
      if (!(err instanceof DuplicateCheckoutError)) throw err;
      // A concurrent request with the same key committed first: its order is the answer.
      const winner = await this.deps.orders.findCheckout(userId, idempotencyKey);
      if (!winner) throw err;
      return replay(winner, requestHash);
    }
    this.deps.observer?.orderStatus('PENDING');
    this.deps.onCreated?.(orderId);
    return { orderId, status: 'PENDING', replayed: false };
  }
}

function replay(previous: CheckoutRecord, requestHash: string): CheckoutResult {
  if (previous.requestHash !== requestHash) {
    throw new ShopError(
      'SHOP_IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used for a different checkout request; use a new key for a new request',
    );
  }
  return { orderId: previous.orderId, status: previous.status, replayed: true };
}
