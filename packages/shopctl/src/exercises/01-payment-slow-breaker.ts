// Exercise 1: payment is slow; the circuit breakers open, the order page degrades instead of
// waiting, the saga's payment attempts fail fast — and the same fault with the breakers
// switched off, for comparison (docs/exercises/01-payment-slow-breaker.md).
import type { FaultRuleInput, Shopper } from '../api';
import { registerExercise } from './registry';
import {
  attemptsOf,
  checkoutAll,
  describeMs,
  describeSeconds,
  describeTally,
  type EndedOrder,
  type PlacedOrder,
  productInStock,
  quantile,
  scrape,
  shoppersWithCart,
  sumSamples,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

/** Every payment gRPC method answers 6 s late: past the order service's 5 s payment deadline. */
export const SLOW_PAYMENT: FaultRuleInput = {
  kind: 'grpc',
  target: 'payment.v1.PaymentService/*',
  fault: { type: 'latency', ms: 6_000 },
  durationSeconds: 60,
};
/** The gateway's deadline for payment reads (PAYMENT_DEADLINE_MS), the order page's wait without a breaker. */
const GATEWAY_PAYMENT_DEADLINE_MS = 800;
const SHOPPERS = 10;
const READERS = 4;
/**
 * How long the fault stays on (and the page reads run) after the checkouts. Order's breaker needs
 * 10 failed calls in 10 s, and the saga runner works 8 sagas at once: the first 8 Authorize
 * attempts fail at about 5 s, the other 2 only start then and fail at about 10 s. 15 s leaves
 * those a margin on a slow machine (at 10 s they raced the fault's end, and the check with them).
 */
const READ_FOR_MS = 15_000;

interface PhaseResult {
  breakers: boolean;
  /** GET /orders/{id} while the fault was on: latency and whether the payment part was missing. */
  reads: { ms: number; degraded: boolean; failed: boolean; afterOpen: boolean }[];
  /** Breaker states (caller→payment) when the page reads ended. */
  gatewayBreaker: string;
  orderBreaker: string;
  /** Seconds from the checkouts to the breaker first seen open; null when it never opened. */
  gatewayOpenedAfter: number | null;
  orderOpenedAfter: number | null;
  /** Calls that reached the slow payment service during the phase. */
  paymentCalls: number;
  ended: EndedOrder[];
}

async function setBreakers(ctx: ExerciseContext, enabled: boolean): Promise<void> {
  await ctx.admin.setBreakersEnabled(enabled, 'gateway');
  await ctx.admin.setBreakersEnabled(enabled, 'order');
}

async function breakerState(ctx: ExerciseContext, service: 'gateway' | 'order'): Promise<string> {
  const report = await ctx.admin.breakers(service);
  const b = report.items.find((i) => i.target === 'payment');
  if (!b) return 'absent';
  return `${b.state}${b.enabled ? '' : ' (switched off)'}, ${b.stats.rejects ?? 0} rejected / ${b.stats.failures ?? 0} failed of ${b.stats.fires ?? 0} calls in the last 10 s`;
}

async function slowPaymentCalls(ctx: ExerciseContext): Promise<number> {
  return sumSamples(await scrape(ctx.serviceUrl('payment')), 'shop_chaos_injections_total', { fault: 'latency' });
}

/** Polls the breakers to payment of gateway and order; records when each was first seen open. */
function watchBreakers(ctx: ExerciseContext) {
  const started = Date.now();
  const openedAt: Record<'gateway' | 'order', number | null> = { gateway: null, order: null };
  let running = true;
  const done = (async () => {
    while (running && !ctx.signal.aborted) {
      for (const service of ['gateway', 'order'] as const) {
        if (openedAt[service] !== null) continue;
        const report = await ctx.admin.breakers(service).catch(() => undefined);
        if (report?.items.some((i) => i.target === 'payment' && i.state === 'open')) openedAt[service] = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    openedAt,
    /** Seconds from the start of the watch to the first open, or null. */
    openedAfter: (service: 'gateway' | 'order') => {
      const at = openedAt[service];
      return at === null ? null : (at - started) / 1000;
    },
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Shoppers read their order pages in a loop, as a shop front polling for status would. */
async function readOrderPages(ctx: ExerciseContext, placed: PlacedOrder[], gatewayOpenedAt: () => number | null) {
  const reads: PhaseResult['reads'] = [];
  const until = Date.now() + READ_FOR_MS;
  const reader = async (first: number) => {
    for (let k = first; Date.now() < until && !ctx.signal.aborted; k += READERS) {
      const p = placed[k % placed.length] as PlacedOrder;
      const t = Date.now();
      const opened = gatewayOpenedAt();
      let degraded = false;
      let failed = false;
      try {
        degraded = ((await p.shopper.getOrder(p.orderId)).degraded ?? []).includes('payment');
      } catch {
        failed = true;
      }
      reads.push({ ms: Date.now() - t, degraded, failed, afterOpen: opened !== null && t > opened });
    }
  };
  await Promise.all(Array.from({ length: READERS }, (_, i) => reader(i)));
  return reads;
}

async function phase(ctx: ExerciseContext, productId: string, breakers: boolean): Promise<PhaseResult> {
  ctx.step(`${breakers ? 'AFTER' : 'BEFORE'}: breakers ${breakers ? 'on' : 'switched off'}, payment answers 6 s late`);
  const shoppers: Shopper[] = await shoppersWithCart(ctx, SHOPPERS, productId);
  if (!breakers) {
    ctx.defer('switch the breakers of gateway and order back on', () => setBreakers(ctx, true));
    await setBreakers(ctx, false);
    ctx.log('PUT /admin/breakers {"enabled":false} on gateway and order');
  }
  const callsBefore = await slowPaymentCalls(ctx);
  ctx.defer('clear the payment fault', () => ctx.admin.chaosClear('payment'));
  await ctx.admin.chaosSet('payment', SLOW_PAYMENT);
  ctx.log(
    `fault on: payment gRPC ${SLOW_PAYMENT.target} +${SLOW_PAYMENT.fault.type === 'latency' ? SLOW_PAYMENT.fault.ms : 0} ms`,
  );
  const watch = watchBreakers(ctx);
  const placed = await checkoutAll(ctx, shoppers);
  ctx.log(`${placed.length} checkouts accepted (202); reading their order pages for ${READ_FOR_MS / 1000} s`);
  let ended: EndedOrder[];
  let reads: PhaseResult['reads'];
  let gatewayBreaker: string;
  let orderBreaker: string;
  try {
    reads = await readOrderPages(ctx, placed, () => watch.openedAt.gateway);
    gatewayBreaker = await breakerState(ctx, 'gateway');
    orderBreaker = await breakerState(ctx, 'order');
    ctx.log(`gateway→payment: ${gatewayBreaker}`);
    ctx.log(`order→payment:   ${orderBreaker}`);
    await ctx.admin.chaosClear('payment');
    ctx.log('fault cleared; waiting for every order to end');
    ended = await waitAllEnded(ctx, placed, 75_000);
  } finally {
    await watch.stop();
  }
  const opened = (service: 'gateway' | 'order') => {
    const after = watch.openedAfter(service);
    return after === null ? 'never seen open' : `first seen open ${after.toFixed(1)} s after the checkouts`;
  };
  ctx.log(`gateway→payment ${opened('gateway')}; order→payment ${opened('order')}`);
  const paymentCalls = (await slowPaymentCalls(ctx)) - callsBefore;
  ctx.log(
    `orders: ${describeTally(tally(ended.map((e) => e.order.status)))}; calls that reached the slow payment: ${paymentCalls}`,
  );
  if (!breakers) {
    await setBreakers(ctx, true);
    ctx.log('breakers switched back on');
  }
  return {
    breakers,
    reads,
    gatewayBreaker,
    orderBreaker,
    gatewayOpenedAfter: watch.openedAfter('gateway'),
    orderOpenedAfter: watch.openedAfter('order'),
    paymentCalls,
    ended,
  };
}

function seconds(value: number | null): string {
  return value === null ? 'never' : `${value.toFixed(1)} s`;
}

function authorizeAttempts(ended: EndedOrder[]) {
  return ended.flatMap((e) => attemptsOf(e.order, 'authorize_payment')).filter((a) => a.outcome === 'FAILED');
}

export const exercise01 = registerExercise({
  number: 1,
  slug: 'payment-slow-breaker',
  title: 'Payment is slow: the breakers open, reads degrade, calls fail fast',
  pattern: 'circuit breaker',
  doc: 'docs/exercises/01-payment-slow-breaker.md',
  checkout: {
    modes: 'orchestrated',
    why: "its checks measure order's breaker on the saga's Authorize calls (SHOP_CIRCUIT_OPEN against 5 s timeouts on the saga's timeline); a choreographed hand-over of the card is retried by a consumer, one event per partition, its failed attempts rolled back, not recorded",
  },
  async run(ctx) {
    const product = await productInStock(ctx, 2 * SHOPPERS);
    ctx.log(`product ${product.id} (${product.available} available); ${SHOPPERS} fresh shoppers per phase`);
    const on = await phase(ctx, product.id, true);
    const off = await phase(ctx, product.id, false);

    const fastReads = on.reads.filter((r) => r.afterOpen);
    const offMs = off.reads.map((r) => r.ms);
    const onFastP95 = quantile(
      fastReads.map((r) => r.ms),
      0.95,
    );
    const offP50 = quantile(offMs, 0.5);

    const onFailed = authorizeAttempts(on.ended);
    const offFailed = authorizeAttempts(off.ended);
    const rejected = onFailed.filter((a) => a.code === 'SHOP_CIRCUIT_OPEN');
    const rejectedMs = rejected.map((a) => a.ms ?? 0);
    const offTimedOutMs = offFailed.map((a) => a.ms ?? 0);

    return [
      check(
        'the breakers open under the slow payment (gateway→payment and order→payment)',
        on.gatewayOpenedAfter !== null && on.orderOpenedAfter !== null && rejected.length > 0,
        `gateway→payment: open ${seconds(on.gatewayOpenedAfter)} after the checkouts; when the page reads ended: ${on.gatewayBreaker}`,
        `order→payment: open ${seconds(on.orderOpenedAfter)} after the checkouts; ${rejected.length} saga Authorize attempts were rejected by it (SHOP_CIRCUIT_OPEN)`,
        `breakers off: gateway→payment ${off.gatewayOpenedAfter === null ? 'never opened' : 'OPENED'}, order→payment ${off.orderOpenedAfter === null ? 'never opened' : 'OPENED'}`,
      ),
      check(
        'with the breaker open the order page answers at once, without its payment part',
        fastReads.length > 0 &&
          fastReads.every((r) => r.degraded && !r.failed) &&
          onFastP95 < GATEWAY_PAYMENT_DEADLINE_MS / 4 &&
          offP50 >= GATEWAY_PAYMENT_DEADLINE_MS * 0.9,
        `breakers on, after the breaker opened: ${describeMs(fastReads.map((r) => r.ms))}, ` +
          `${fastReads.filter((r) => r.degraded).length} of ${fastReads.length} degraded: ["payment"], ${fastReads.filter((r) => r.failed).length} errors`,
        `breakers off: ${describeMs(offMs)} — every read waits out the gateway's ${GATEWAY_PAYMENT_DEADLINE_MS} ms payment deadline ` +
          `(${off.reads.filter((r) => r.degraded).length} of ${off.reads.length} degraded)`,
      ),
      check(
        "the saga's payment attempts fail fast instead of holding a runner for the 5 s deadline",
        rejected.length > 0 && quantile(rejectedMs, 0.5) < 500 && quantile(offTimedOutMs, 0.5) >= 4_500,
        `breakers on: ${onFailed.length} failed Authorize attempts; ${rejected.length} rejected by the breaker, ${describeMs(rejectedMs)}`,
        `breakers off: ${offFailed.length} failed Authorize attempts, all timed out: ${describeMs(offTimedOutMs)}`,
      ),
      check(
        'the breakers spare the struggling payment service',
        on.paymentCalls < off.paymentCalls,
        `calls that reached the slow payment service: ${on.paymentCalls} with breakers on, ${off.paymentCalls} with them off ` +
          `(same fault, same ${SHOPPERS} checkouts, same ${READ_FOR_MS / 1000} s of page reads)`,
      ),
      check(
        'every order ends once payment is healthy again, and no order is lost',
        on.ended.length === SHOPPERS && off.ended.length === SHOPPERS,
        `breakers on: ${describeTally(tally(on.ended.map((e) => e.order.status)))}; time to end ${describeSeconds(on.ended.map((e) => e.secondsToEnd))}`,
        `breakers off: ${describeTally(tally(off.ended.map((e) => e.order.status)))}; time to end ${describeSeconds(off.ended.map((e) => e.secondsToEnd))}`,
        'the price of the breaker: it stays open for its reset timeout (10 s) after payment recovers; a saga refused by it waits for its trial call instead of giving up (docs/adr/0014-step-deadline-needs-evidence.md)',
      ),
    ];
  },
});
