// Exercise 2: payment cannot authorize anything; the saga retries to its step deadline, then
// compensates: stock released, nothing captured, every order CANCELLED. A declined card next
// to it shows the other path: a refusal compensates at once (docs/exercises/02-payment-down-compensation.md).
// Choreographed (--checkout-mode choreographed), the same outcomes by another mechanism: order's
// consumer retries handing the card to payment until the order's one deadline
// (CHOREOGRAPHY_DEADLINE_MS) cancels it, and the catalog releases the stock on order.cancelled.
import { type FaultRuleInput, type Order, TEST_CARDS } from '../api';
import { counter, waitFor } from './messaging-support';
import { registerExercise } from './registry';
import {
  attemptsOf,
  checkoutAll,
  describeSeconds,
  describeTally,
  type EndedOrder,
  type PlacedOrder,
  paymentsByOrder,
  productInStock,
  reservationOf,
  shoppersWithCart,
  stockOf,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

/** Every Authorize call fails (UNAVAILABLE): the payment processor is down. */
export const PAYMENT_DOWN: FaultRuleInput = {
  kind: 'grpc',
  target: 'payment.v1.PaymentService/Authorize',
  fault: { type: 'fail' },
  durationSeconds: 120,
};
const OUTAGE_ORDERS = 6;
const DECLINED_ORDERS = 2;

/**
 * The timeline's name of the Authorize step: the saga's `authorize_payment`, or the choreography's
 * hand-over of the card, `choreography:authorize_payment` (one entry: a failed hand-over is rolled
 * back and retried by order's consumer, so only its success or its refusal is recorded).
 */
const AUTHORIZE = { orchestrated: 'authorize_payment', choreographed: 'choreography:authorize_payment' } as const;
/** A choreographed order's timeline: its deadline passed, its cancel, then the catalog's release heard. */
const DEADLINE = 'choreography:deadline';
const CANCEL = 'choreography:cancel';
const RELEASED = 'shop.catalog.stock_released.v1';

/** Authorize calls payment's fault failed (its chaos counter). */
function failedAuthorizes(ctx: ExerciseContext): Promise<number> {
  return counter(ctx, 'payment', 'shop_chaos_injections_total', { target: PAYMENT_DOWN.target, fault: 'fail' });
}

/** The timeline as `step:outcome`, in the order the order page lists it. */
function steps(order: Order): string[] {
  return order.timeline.map((s) => `${s.step}:${s.outcome}`);
}

/**
 * The deadline a choreographed order was cancelled at (ms, from its `choreography:deadline`
 * entry: `not ended <ms> ms after it was placed`), and how long after its creation that was.
 */
function deadlineOf(order: Order): { deadlineMs: number; cancelledAfterMs: number } | undefined {
  const entry = order.timeline.find((s) => s.step === DEADLINE);
  const ms = Number(/not ended (\d+) ms/.exec(entry?.error ?? '')?.[1]);
  if (!entry?.finishedAt || !Number.isFinite(ms)) return undefined;
  return { deadlineMs: ms, cancelledAfterMs: Date.parse(entry.finishedAt) - Date.parse(order.createdAt) };
}

/** The steps after the last Authorize attempt, in order, as `name:outcome`. */
function afterAuthorize(e: EndedOrder): string[] {
  const last = e.order.timeline.map((s) => s.step).lastIndexOf('authorize_payment');
  return e.order.timeline.slice(last + 1).map((s) => `${s.step}:${s.outcome}`);
}

export const exercise02 = registerExercise({
  number: 2,
  slug: 'payment-down-compensation',
  title: 'Payment is down: the saga compensates, no money is lost',
  pattern: 'saga with compensations',
  doc: 'docs/exercises/02-payment-down-compensation.md',
  checkout: { modes: 'both' },
  async run(ctx) {
    const choreographed = ctx.checkoutMode === 'choreographed';
    const authorize = AUTHORIZE[ctx.checkoutMode];
    const product = await productInStock(ctx, OUTAGE_ORDERS + DECLINED_ORDERS);
    const before = await stockOf(ctx, product.id);
    ctx.log(`product ${product.id}: available ${before.available}, reserved ${before.reserved}, sold ${before.sold}`);
    const shoppers = await shoppersWithCart(ctx, OUTAGE_ORDERS + DECLINED_ORDERS, product.id);

    ctx.step(`first, payment healthy: ${DECLINED_ORDERS} checkouts with the declined test card`);
    const declinedPlaced: PlacedOrder[] = await checkoutAll(ctx, shoppers.slice(OUTAGE_ORDERS), {
      card: TEST_CARDS.declined,
    });
    const declined = await waitAllEnded(ctx, declinedPlaced, 30_000);
    ctx.log(`declined: ${describeTally(tally(declined.map((e) => `${e.order.status} (${e.order.cancelReason})`)))}`);

    ctx.step('payment goes down: every Authorize fails');
    ctx.defer('clear the payment fault', () => ctx.admin.chaosClear('payment'));
    const failedBefore = choreographed ? await failedAuthorizes(ctx) : 0;
    await ctx.admin.chaosSet('payment', PAYMENT_DOWN);
    ctx.log(`fault on: payment gRPC ${PAYMENT_DOWN.target} fail`);
    const placed: PlacedOrder[] = await checkoutAll(ctx, shoppers.slice(0, OUTAGE_ORDERS));
    ctx.log(`${placed.length} checkouts with a good card accepted (202)`);
    await ctx.sleep(5_000);
    const during = await stockOf(ctx, product.id);
    ctx.log(
      `5 s in: reserved ${during.reserved} (was ${before.reserved}) — ${choreographed ? 'the orders hold the stock while order retries handing the card over' : 'the sagas hold the stock while they retry'}`,
    );

    ctx.step(
      choreographed
        ? "waiting for every order to end (the choreography's deadline, CHOREOGRAPHY_DEADLINE_MS)"
        : 'waiting for every saga to end (the step deadline is 15 s)',
    );
    let outage = await waitAllEnded(ctx, placed, 80_000);
    const failedAtPayment = choreographed ? (await failedAuthorizes(ctx)) - failedBefore : 0;
    await ctx.admin.chaosClear('payment');
    ctx.log('fault cleared');
    if (choreographed) {
      // The catalog releases on order.cancelled, after the cancel (the saga releases before it):
      // the stock is read once every cancelled order has heard its stock_released.
      const read = () => Promise.all(outage.map((e) => e.shopper.getOrder(e.orderId)));
      const heard = await waitFor(
        ctx,
        "the catalog's release heard by every cancelled order",
        async () => {
          const orders = await read();
          return orders.every((o) => o.status !== 'CANCELLED' || o.timeline.some((s) => s.step === RELEASED))
            ? orders
            : undefined;
        },
        30_000,
      ).catch(read);
      outage = outage.map((e, i) => ({ ...e, order: heard[i] ?? e.order }));
    }
    const ended = [...outage, ...declined];
    const outageTally = describeTally(tally(outage.map((e) => `${e.order.status} (${e.order.cancelReason})`)));
    ctx.log(`orders: ${outageTally}`);

    const after = await stockOf(ctx, product.id);
    const reservations = await Promise.all(ended.map((e) => reservationOf(ctx, e.orderId)));
    const payments = await paymentsByOrder(
      ctx,
      ended.map((e) => e.orderId),
    );
    const captured = [...payments.values()].filter((p) => p.captured - p.refunded !== 0 || p.captureCount > 0);

    const outageAttempts = outage.map((e) => attemptsOf(e.order, authorize));
    const retrySpans = outageAttempts.map((a) => {
      const first = a[0]?.startedAt;
      const last = a.at(-1)?.finishedAt;
      return first && last ? (Date.parse(last) - Date.parse(first)) / 1000 : 0;
    });
    const declinedAttempts = declined.map((e) => attemptsOf(e.order, authorize));
    const compensationsOk = outage.every((e) => {
      const tail = afterAuthorize(e);
      return (
        tail.includes('compensate:release_stock:SUCCEEDED') &&
        tail.at(-1) === 'cancel:SUCCEEDED' &&
        tail.indexOf('compensate:void_payment:SUCCEEDED') < tail.indexOf('compensate:release_stock:SUCCEEDED')
      );
    });
    const sample = outage[0] ? afterAuthorize(outage[0]).join(' → ') : 'none';
    const deadlines = outage.map((e) => deadlineOf(e.order));
    // The order's own deadline ended it, never before it was due; the catalog's release came after.
    const deadlineCancelOk = outage.every((e, i) => {
      const t = steps(e.order);
      const d = deadlines[i];
      return (
        d !== undefined &&
        d.cancelledAfterMs >= d.deadlineMs &&
        t.includes(`${DEADLINE}:REFUSED`) &&
        t.indexOf(`${DEADLINE}:REFUSED`) < t.indexOf(`${CANCEL}:SUCCEEDED`) &&
        t.indexOf(`${CANCEL}:SUCCEEDED`) < t.indexOf(`${RELEASED}:RECEIVED`)
      );
    });
    const choreographySample = outage[0]
      ? steps(outage[0].order)
          .filter((s) => s.startsWith('choreography:') || s.startsWith('shop.catalog.'))
          .join(' → ')
      : 'none';

    const choreographedChecks = [
      check(
        "an outage is retried until the choreography's deadline, then the order is cancelled",
        outage.every(
          (e) => e.order.status === 'CANCELLED' && e.order.cancelReason === 'choreography_deadline_exceeded',
        ) &&
          outageAttempts.every((a) => a.length === 0) &&
          failedAtPayment > 1 &&
          deadlineCancelOk,
        `${outage.length} orders: ${outageTally}`,
        `Authorize calls failed at payment during the outage: ${failedAtPayment} (its chaos counter); ` +
          `${outageAttempts.filter((a) => a.length === 0).length} of ${outage.length} timelines have no ${authorize} entry — ` +
          "a failed hand-over is rolled back and order's consumer tries the event again",
        `the deadline (from the timelines): ${describeTally(tally(deadlines.map((d) => (d ? `${d.deadlineMs / 1000} s` : 'none'))))}; ` +
          `cancelled ${describeSeconds(deadlines.map((d) => (d ? d.cancelledAfterMs / 1000 : 0)))} after the order was placed; ` +
          `checkout to CANCELLED: ${describeSeconds(outage.map((e) => e.secondsToEnd))}`,
      ),
      check(
        'the undoing ran in order: the deadline, the cancel (order.cancelled), then the catalog released the stock',
        deadlineCancelOk,
        `the choreography's entries: ${choreographySample}`,
      ),
    ];

    return [
      ...(choreographed
        ? choreographedChecks
        : [
            check(
              'an outage is retried until the step deadline, then the saga compensates',
              outage.every(
                (e) =>
                  e.order.status === 'CANCELLED' && e.order.cancelReason === 'step_deadline_exceeded:authorize_payment',
              ) && outageAttempts.every((a) => a.length > 1),
              `${outage.length} orders: ${outageTally}`,
              `Authorize attempts per order: ${describeTally(tally(outageAttempts.map((a) => String(a.length))))} (count: orders), ` +
                `all FAILED with ${describeTally(tally(outageAttempts.flat().map((a) => a.code ?? 'no code')))}`,
              `first to last attempt: ${describeSeconds(retrySpans)}; checkout to CANCELLED: ${describeSeconds(outage.map((e) => e.secondsToEnd))}`,
            ),
            check(
              'the compensations ran in order: void the payment (in case Authorize acted), release the stock, cancel',
              compensationsOk,
              `after the last Authorize attempt: ${sample}`,
            ),
          ]),
      check(
        'a declined card is a refusal: compensated at once, without retries',
        declined.every(
          (e, i) =>
            e.order.status === 'CANCELLED' &&
            e.order.cancelReason === 'payment_declined' &&
            declinedAttempts[i]?.length === 1 &&
            declinedAttempts[i]?.[0]?.outcome === 'REFUSED',
        ),
        `${declined.length} orders: ${describeTally(tally(declined.map((e) => `${e.order.status} (${e.order.cancelReason})`)))}, ` +
          `Authorize attempts ${declinedAttempts.map((a) => `${a.length} ${a[0]?.outcome ?? ''}`).join(', ')}`,
        `checkout to CANCELLED: ${describeSeconds(declined.map((e) => e.secondsToEnd))}`,
      ),
      check(
        'every unit of stock came back',
        reservations.every((r) => r === 'RELEASED') &&
          after.available === before.available &&
          after.reserved === before.reserved &&
          during.reserved >= before.reserved + OUTAGE_ORDERS,
        `during the outage: reserved ${during.reserved} (before ${before.reserved})`,
        `after: available ${after.available} (before ${before.available}), reserved ${after.reserved} (before ${before.reserved})`,
        `reservations: ${describeTally(tally(reservations.map((r) => r ?? 'none')))}`,
      ),
      check(
        'no money was taken',
        captured.length === 0,
        `payments held for these ${ended.length} orders: ${payments.size} order(s) with a payment record, ` +
          `${captured.length} with a capture (net captured: ${[...payments.values()].reduce((n, p) => n + p.captured - p.refunded, 0)})`,
      ),
    ];
  },
});
