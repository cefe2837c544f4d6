// The checkout saga (docs/reference.md#saga), read top to bottom: each step beside what undoes it.
// The runner (saga-runner.ts) persists every attempt before and after it, retries failures with
// backoff until the step's deadline and runs the compensations; this file only says WHAT the
// saga does. Every command carries the idempotency key `<orderId>:<step>`.
import type { Card } from '../domain/checkout-request';
import {
  type CompensationName,
  classifyFailure,
  compensationStep,
  SAGA_STEPS,
  SagaRefusal,
  type SagaStepName,
} from '../domain/saga';
import type { SagaStepRule } from '../domain/saga-transitions';
import type {
  CommandOptions,
  PaymentInfo,
  Payments,
  SagaSnapshot,
  StepEffects,
  StockReservations,
  UserDirectory,
} from './ports';
import type { TwoPhaseCoordinator } from './two-phase-coordinator';

/** What a step or compensation works with. */
export interface SagaContext {
  saga: SagaSnapshot;
  users: UserDirectory;
  stock: StockReservations;
  payments: Payments;
  /** The coordinator of a `two-phase` order's reserve-and-authorize (two-phase-coordinator.ts). */
  twoPhase?: TwoPhaseCoordinator;
  /** The buyer's card, opened from the vault; undefined once the saga no longer holds it. */
  card(): Promise<Card | undefined>;
  /** Call options for `target`: its call budget, with this step's idempotency key. */
  options(target: 'user' | 'catalog' | 'payment'): CommandOptions;
  /** The same, under another step's key (a compensation that turns into another one). */
  optionsAs(target: 'user' | 'catalog' | 'payment', step: string): CommandOptions;
}

/** A step: its rule (name, what undoes it, domain/saga-transitions.ts) and how it runs. */
export interface SagaStepDefinition extends SagaStepRule {
  run(ctx: SagaContext): Promise<StepEffects>;
}

// biome-ignore format: one line per step, as in the table of docs/reference.md#saga
const STEPS: Readonly<Record<SagaStepName, Omit<SagaStepDefinition, 'name'>>> = {
  validate_user:     { run: validateUser,     compensate: [] },
  reserve_stock:     { run: reserveStock,     compensate: [],                                  ifOutcomeUnknown: 'release_stock' },
  authorize_payment: { run: authorizePayment, compensate: ['release_stock'],                   ifOutcomeUnknown: 'void_payment' },
  commit_stock:      { run: commitStock,      compensate: ['void_payment', 'release_stock'] },
  capture_payment:   { run: capturePayment,   compensate: ['restock_committed', 'void_payment'] },
  confirm:           { run: async () => ({}), compensate: [],                                  retryForever: true },
};

/** The forward steps, in the order domain/saga.ts declares them (SAGA_STEPS). */
export const CHECKOUT_SAGA: readonly SagaStepDefinition[] = SAGA_STEPS.map((name) => ({ name, ...STEPS[name] }));

export const COMPENSATE: Readonly<Record<CompensationName, (ctx: SagaContext) => Promise<void>>> = {
  release_stock: releaseStock,
  void_payment: voidPayment,
  restock_committed: restockCommitted,
};

export { compensationPlan } from '../domain/saga-transitions';

// ---------------------------------------------------------------------------------------
// Steps

/** 1. The buyer exists; the shipping address is valid (absent: the user's default, if any). */
async function validateUser(ctx: SagaContext): Promise<StepEffects> {
  const { userId, shippingAddress } = ctx.saga;
  const user = await refusedAs('user_invalid', () => ctx.users.getUser(userId, ctx.options('user')));
  if (!shippingAddress) return user.defaultAddress ? { shippingAddress: user.defaultAddress } : {};
  const address = await refusedAs('address_invalid', () =>
    ctx.users.validateAddress(userId, shippingAddress, ctx.options('user')),
  );
  return { shippingAddress: address };
}

/**
 * 2. Hold every line's units under the order id (all or none). A `two-phase` order reserves and
 * authorizes here in one distributed transaction (two-phase-coordinator.ts), so step 3 finds it done.
 */
async function reserveStock(ctx: SagaContext): Promise<StepEffects> {
  const lines = ctx.saga.lines.map(({ productId, quantity }) => ({ productId, quantity }));
  if (ctx.saga.checkoutMode === 'two-phase' && ctx.twoPhase) {
    const { paymentId } = await ctx.twoPhase.run({
      orderId: ctx.saga.orderId,
      lines,
      total: ctx.saga.total,
      card: await ctx.card(),
      options: (target) => ctx.optionsAs(target, 'two_phase'),
    });
    return { paymentId, deleteCard: true };
  }
  await ctx.stock.reserve(ctx.saga.orderId, lines, ctx.options('catalog'));
  return {};
}

/** 3. Authorize the total on the card; the card is deleted in the transaction that records it. */
async function authorizePayment(ctx: SagaContext): Promise<StepEffects> {
  // Authorized (and committed) by step 2's distributed transaction.
  if (ctx.saga.checkoutMode === 'two-phase' && ctx.saga.paymentId) return {};
  const card = await ctx.card();
  if (!card) throw new SagaRefusal('card_unavailable', 'The order’s card is no longer held');
  const payment = await ctx.payments.authorize(ctx.saga.orderId, ctx.saga.total, card, ctx.options('payment'));
  return { paymentId: payment.id, deleteCard: true };
}

/** 4. The reserved units become sold. */
async function commitStock(ctx: SagaContext): Promise<StepEffects> {
  await ctx.stock.commit(ctx.saga.orderId, ctx.options('catalog'));
  return {};
}

/** 5. Take the money. */
async function capturePayment(ctx: SagaContext): Promise<StepEffects> {
  await ctx.payments.capture(requirePaymentId(ctx.saga), ctx.options('payment'));
  return {};
}

// ---------------------------------------------------------------------------------------
// Compensations: each may run again after a crash and must end in the undone state whatever
// happened before, so each accepts "already undone" as success. Each makes at most three
// calls (SAGA_LEASE_MS must cover them).

/** Undoes 2: reserved units become available (a reservation we never made is recorded as released). */
async function releaseStock(ctx: SagaContext): Promise<void> {
  const state = await ctx.stock.release(ctx.saga.orderId, ctx.options('catalog'));
  // A commit whose answer was lost went through after all: undo the sale instead.
  if (state === 'committed') {
    await ctx.stock.restock(ctx.saga.orderId, ctx.optionsAs('catalog', compensationStep('restock_committed')));
  }
}

/** Undoes 3: releases the authorization (or refunds it, if a lost capture went through). */
async function voidPayment(ctx: SagaContext): Promise<void> {
  const { paymentId } = ctx.saga;
  if (!paymentId) {
    // Authorize's answer was lost: find out whether it authorized at all.
    const payment = await ctx.payments.findByOrder(ctx.saga.orderId, ctx.options('payment'));
    if (payment?.status === 'AUTHORIZED') await ctx.payments.void(payment.id, ctx.options('payment'));
    else if (payment?.status === 'CAPTURED') await refund(ctx, payment);
    return;
  }
  try {
    await ctx.payments.void(paymentId, ctx.options('payment'));
  } catch (err) {
    if (classifyFailure(err) !== 'refused') throw err;
    // Void refuses a captured payment: a capture whose answer was lost went through.
    const payment = await ctx.payments.get(paymentId, ctx.options('payment'));
    if (payment?.status !== 'CAPTURED' && payment?.status !== 'REFUNDED') throw err;
    await refund(ctx, payment);
  }
}

/** Undoes 4: sold units become available again. */
async function restockCommitted(ctx: SagaContext): Promise<void> {
  await ctx.stock.restock(ctx.saga.orderId, ctx.options('catalog'));
}

/** Returns what is still captured (a cancelled order keeps no money). */
async function refund(ctx: SagaContext, payment: PaymentInfo): Promise<void> {
  const remaining = payment.captured.amount - payment.refunded.amount;
  if (remaining <= 0) return;
  await ctx.payments.refund(
    payment.id,
    { amount: remaining, currency: payment.captured.currency },
    ctx.optionsAs('payment', 'compensate:refund_payment'),
  );
}

// ---------------------------------------------------------------------------------------

function requirePaymentId(saga: SagaSnapshot): string {
  if (!saga.paymentId) throw new SagaRefusal('payment_missing', `Order ${saga.orderId} has no authorized payment`);
  return saga.paymentId;
}

/** A participant's refusal, recorded with the cancel reason `reason`; other failures pass through. */
async function refusedAs<T>(reason: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (classifyFailure(err) !== 'refused') throw err;
    const code = (err as { code?: unknown }).code;
    throw new SagaRefusal(reason, (err as Error).message, typeof code === 'string' ? code : undefined, { cause: err });
  }
}
