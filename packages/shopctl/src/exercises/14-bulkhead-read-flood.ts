// Exercise 14: the order page's payment read is slow and flooded; with the gateway's bulkheads
// the reads fill their own compartment and checkout goes on at its usual pace, without them the
// reads take the pool checkout shares and checkouts queue or are refused — the same flood
// twice, compared (docs/exercises/14-bulkhead-read-flood.md).
import { ApiError, type FaultRuleInput, type Shopper } from '../api';
import { registerExercise } from './registry';
import {
  checkoutAll,
  describeMs,
  describeTally,
  type PlacedOrder,
  productInStock,
  quantile,
  retryAfterMs,
  scrape,
  sumSamples,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

/**
 * payment's GetPayment (only the gateway's order page asks for it) answers 400 ms late, within
 * the gateway's 800 ms payment deadline (so its breaker has no reason to open); Authorize is untouched.
 */
export const SLOW_PAYMENT_READ: FaultRuleInput = {
  kind: 'grpc',
  target: 'payment.v1.PaymentService/GetPayment',
  fault: { type: 'latency', ms: 400 },
  durationSeconds: 60,
};
/**
 * The compartments for the run, scaled down from the defaults (8 + 8 reads, 16 + 0 checkouts)
 * so a flood a laptop can carry fills them; switched off, the shared pool is their sum (4 + 4).
 */
const LIMITS = { reads: { maxConcurrent: 2, maxQueue: 2 }, checkout: { maxConcurrent: 2, maxQueue: 2 } };
/** The flood: readers per shopper, each reading its own order page at most every READ_EVERY_MS. */
const FLOOD_SHOPPERS = 6;
const READERS_PER_SHOPPER = 2;
/** 2 reads/s per reader at most: 4/s per shopper, well within the gateway's 600 per minute per user. */
const READ_EVERY_MS = 500;
/** Time for the flood to fill the read path before the first checkout. */
const RAMP_MS = 1_500;
/** Checkouts per phase, one after another while the flood runs. */
const CHECKOUTS = 6;
/**
 * How long a checkout is sent again after 503s before the shopper gives up: with the bulkheads
 * off the flood may hold the shared pool for as long as it runs, and a shopper refused for 10 s
 * is the outcome the BEFORE phase exists to show (with the bulkheads on, none may be refused).
 */
const GIVE_UP_MS = 10_000;

interface Read {
  ms: number;
  degraded: boolean;
  failed: string | null;
}

interface Checkout {
  shopper: Shopper;
  /** From the first attempt to the 202 (retries after 503 included), or to giving up. */
  ms: number;
  /** Attempts refused (503 SHOP_BULKHEAD_FULL) before it was accepted or given up. */
  refused: number;
  /** The accepted order; null when every attempt for GIVE_UP_MS was refused. */
  placed: PlacedOrder | null;
}

interface PhaseResult {
  bulkheads: boolean;
  reads: Read[];
  checkouts: Checkout[];
  /** Guarded calls the gateway refused at once during the phase, by path. */
  rejectedReads: number;
  rejectedCheckouts: number;
}

interface BulkheadStatus {
  enabled: boolean;
  compartments: { name: string; maxConcurrent: number; maxQueue: number }[];
}

async function setBulkheads(ctx: ExerciseContext, enabled: boolean, limits?: typeof LIMITS): Promise<void> {
  await ctx.admin.request('gateway', 'PUT', '/api/v1/admin/bulkheads', {
    body: { enabled, ...(limits ? { limits } : {}) },
  });
}

/** The gateway's limits now, to put back after the run. */
async function currentLimits(ctx: ExerciseContext): Promise<typeof LIMITS> {
  const status = await ctx.admin.request<BulkheadStatus>('gateway', 'GET', '/api/v1/admin/bulkheads');
  const of = (name: string) => {
    const c = status.compartments.find((x) => x.name === name);
    if (!c) throw new Error(`the gateway reports no ${name} compartment`);
    return { maxConcurrent: c.maxConcurrent, maxQueue: c.maxQueue };
  };
  return { reads: of('reads'), checkout: of('checkout') };
}

async function rejected(ctx: ExerciseContext): Promise<{ reads: number; checkout: number }> {
  const page = await scrape(ctx.gatewayUrl);
  return {
    reads: sumSamples(page, 'shop_gateway_bulkhead_rejected_total', { path: 'reads' }),
    checkout: sumSamples(page, 'shop_gateway_bulkhead_rejected_total', { path: 'checkout' }),
  };
}

/** Each flood shopper's readers read its order page until `running()` is false. */
async function flood(ctx: ExerciseContext, readers: PlacedOrder[], running: () => boolean): Promise<Read[]> {
  const reads: Read[] = [];
  const reader = async (p: PlacedOrder) => {
    while (running() && !ctx.signal.aborted) {
      const t = Date.now();
      let degraded = false;
      let failed: string | null = null;
      try {
        degraded = ((await p.shopper.getOrder(p.orderId)).degraded ?? []).includes('payment');
      } catch (err) {
        failed = err instanceof ApiError ? `${err.status} ${err.code ?? ''}`.trim() : (err as Error).message;
      }
      const ms = Date.now() - t;
      reads.push({ ms, degraded, failed });
      if (ms < READ_EVERY_MS) await new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS - ms));
    }
  };
  await Promise.all(readers.flatMap((p) => Array.from({ length: READERS_PER_SHOPPER }, () => reader(p))));
  return reads;
}

/**
 * One checkout, sent again with the same key after a 503's Retry-After, as checkoutAll does,
 * until it is accepted or GIVE_UP_MS has passed (then `placed` is null).
 */
async function timedCheckout(ctx: ExerciseContext, shopper: Shopper, n: number): Promise<Checkout> {
  const idempotencyKey = `${ctx.runId}-checkout-${n}-${Date.now()}`;
  const started = Date.now();
  let refused = 0;
  for (;;) {
    try {
      const { orderId } = await shopper.checkout({ idempotencyKey });
      const acceptedAt = Date.now();
      return { shopper, ms: acceptedAt - started, refused, placed: { shopper, orderId, acceptedAt } };
    } catch (err) {
      const wait = retryAfterMs(err);
      if (wait === undefined) throw err;
      refused++;
      if (Date.now() + wait - started > GIVE_UP_MS) return { shopper, ms: Date.now() - started, refused, placed: null };
      await ctx.sleep(wait);
    }
  }
}

function placedOf(checkouts: Checkout[]): PlacedOrder[] {
  return checkouts.flatMap((c) => (c.placed ? [c.placed] : []));
}

async function phase(
  ctx: ExerciseContext,
  bulkheads: boolean,
  readers: PlacedOrder[],
  buyers: Shopper[],
): Promise<PhaseResult> {
  ctx.step(
    `${bulkheads ? 'AFTER' : 'BEFORE'}: bulkheads ${bulkheads ? 'on' : 'switched off'}, payment's GetPayment ${SLOW_PAYMENT_READ.fault.type === 'latency' ? SLOW_PAYMENT_READ.fault.ms : 0} ms late, ${readers.length * READERS_PER_SHOPPER} readers`,
  );
  if (!bulkheads) {
    ctx.defer('switch the gateway’s bulkheads back on', () => setBulkheads(ctx, true));
    await setBulkheads(ctx, false);
    ctx.log('PUT /api/v1/admin/bulkheads {"enabled":false}: every guarded call shares one pool');
  }
  ctx.defer('clear the payment fault', () => ctx.admin.chaosClear('payment'));
  await ctx.admin.chaosSet('payment', SLOW_PAYMENT_READ);
  const before = await rejected(ctx);
  let running = true;
  const flooding = flood(ctx, readers, () => running);
  const checkouts: Checkout[] = [];
  try {
    await ctx.sleep(RAMP_MS);
    for (const [i, buyer] of buyers.entries()) checkouts.push(await timedCheckout(ctx, buyer, i));
  } finally {
    running = false;
  }
  const reads = await flooding;
  const after = await rejected(ctx);
  await ctx.admin.chaosClear('payment');
  if (!bulkheads) {
    await setBulkheads(ctx, true);
    ctx.log('bulkheads switched back on');
  }
  const result: PhaseResult = {
    bulkheads,
    reads,
    checkouts,
    rejectedReads: after.reads - before.reads,
    rejectedCheckouts: after.checkout - before.checkout,
  };
  ctx.log(`checkouts: ${describeCheckouts(result)}`);
  ctx.log(`order page reads: ${describeReads(result)}`);
  return result;
}

function describeCheckouts(p: PhaseResult): string {
  const refused = p.checkouts.reduce((n, c) => n + c.refused, 0);
  const accepted = p.checkouts.filter((c) => c.placed);
  const gaveUp = p.checkouts.length - accepted.length;
  return (
    `${accepted.length} of ${p.checkouts.length} accepted, ${describeMs(accepted.map((c) => c.ms))}; ${refused} attempts refused (503)` +
    `${gaveUp ? `, ${gaveUp} shoppers gave up after ${GIVE_UP_MS / 1000} s of refusals` : ''}; the gateway refused ${p.rejectedCheckouts} checkout calls at once`
  );
}

function describeReads(p: PhaseResult): string {
  const failed = p.reads.filter((r) => r.failed !== null);
  return (
    `${p.reads.length} reads, ${describeMs(p.reads.map((r) => r.ms))}; ${p.reads.filter((r) => r.degraded).length} degraded: ["payment"]; ` +
    `${p.rejectedReads} payment reads refused by the bulkhead; ${failed.length} errors${failed.length ? ` (${describeTally(tally(failed.map((r) => r.failed as string)))})` : ''}`
  );
}

/** A setup call, tried again after 1 s when the shop answers 503/504 (busy), up to 3 times. */
async function patiently<T>(ctx: ExerciseContext, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const busy = err instanceof ApiError && (err.status === 503 || err.status === 504);
      if (!busy || attempt >= 3) throw err;
      await ctx.sleep(1_000);
    }
  }
}

export const exercise14 = registerExercise({
  number: 14,
  slug: 'bulkhead-read-flood',
  title: 'A slow read path is flooded: the bulkheads keep checkout’s slots free',
  pattern: 'bulkhead',
  doc: 'docs/exercises/14-bulkhead-read-flood.md',
  checkout: {
    modes: 'orchestrated',
    why: 'not about checkout outcomes: the bulkheads between a flood of reads and checkout',
  },
  async run(ctx) {
    const units = FLOOD_SHOPPERS + 2 * CHECKOUTS;
    const product = await productInStock(ctx, units);
    ctx.log(`product ${product.id} (${product.available} available)`);
    // Registration hashes a password: a few at a time, so a busy machine does not time them out.
    const shoppers: Shopper[] = [];
    for (let i = 0; i < units; i += 4) {
      const batch = Array.from({ length: Math.min(4, units - i) }, async () => {
        const shopper = await patiently(ctx, () =>
          ctx.shop.newShopper({ emailPrefix: ctx.runId, name: 'exercise 14' }),
        );
        await patiently(ctx, () => shopper.addToCart(product.id, 1));
        return shopper;
      });
      shoppers.push(...(await Promise.all(batch)));
    }
    const floodShoppers = shoppers.slice(0, FLOOD_SHOPPERS);
    const readers = await checkoutAll(ctx, floodShoppers);
    ctx.log(`${readers.length} flood shoppers placed an order each: their order pages are the flooded reads`);

    const configured = await currentLimits(ctx);
    ctx.defer('put the gateway’s bulkhead limits back', () => setBulkheads(ctx, true, configured));
    await setBulkheads(ctx, true, LIMITS);
    ctx.log(
      `bulkhead limits for the run: reads ${LIMITS.reads.maxConcurrent} running + ${LIMITS.reads.maxQueue} queued, checkout ${LIMITS.checkout.maxConcurrent} + ${LIMITS.checkout.maxQueue} ` +
        `(configured: reads ${configured.reads.maxConcurrent} + ${configured.reads.maxQueue}, checkout ${configured.checkout.maxConcurrent} + ${configured.checkout.maxQueue})`,
    );
    const on = await phase(ctx, true, readers, shoppers.slice(FLOOD_SHOPPERS, FLOOD_SHOPPERS + CHECKOUTS));
    const off = await phase(ctx, false, readers, shoppers.slice(FLOOD_SHOPPERS + CHECKOUTS));

    const placed = [...readers, ...placedOf(on.checkouts), ...placedOf(off.checkouts)];
    ctx.log('waiting for every order to end');
    const ended = await waitAllEnded(ctx, placed, 60_000);
    const breaker = (await ctx.admin.breakers('gateway')).items.find((i) => i.target === 'payment');
    // A shopper who gave up was refused before the gateway called order: the cart still holds its item.
    const gaveUp = off.checkouts.filter((c) => !c.placed);
    const cartsKept = (await Promise.all(gaveUp.map(async (c) => (await c.shopper.getCart()).itemCount > 0))).filter(
      Boolean,
    ).length;

    // A given-up checkout counts with the time it waited before giving up (at least GIVE_UP_MS).
    const onP50 = quantile(
      on.checkouts.map((c) => c.ms),
      0.5,
    );
    const offP50 = quantile(
      off.checkouts.map((c) => c.ms),
      0.5,
    );
    const onRefused = on.checkouts.reduce((n, c) => n + c.refused, 0);
    const offRefused = off.checkouts.reduce((n, c) => n + c.refused, 0);
    const onFailedReads = on.reads.filter((r) => r.failed !== null).length;
    const offFailedReads = off.reads.filter((r) => r.failed !== null).length;
    return [
      check(
        'with the bulkheads on, checkout keeps its pace under the read flood; without them it queues behind the reads or is refused',
        on.checkouts.length === CHECKOUTS &&
          placedOf(on.checkouts).length === CHECKOUTS &&
          off.checkouts.length === CHECKOUTS &&
          onRefused === 0 &&
          on.rejectedCheckouts === 0 &&
          (offRefused > 0 || onP50 * 2 <= offP50) &&
          onP50 < offP50,
        `bulkheads on:  checkout ${describeCheckouts(on)}`,
        `bulkheads off: checkout ${describeCheckouts(off)}`,
        `checkout p50 ${onP50} ms with the bulkheads, ${offP50} ms without; refused and sent again: ${onRefused} with, ${offRefused} without ` +
          '(asserted: none refused with the bulkheads; without them some refused or a p50 at least twice as long)',
      ),
      check(
        'the flooded reads are contained in their compartment: refused at once, the order page answers without its payment part',
        on.rejectedReads > 0 && on.reads.some((r) => r.degraded) && onFailedReads === 0,
        `bulkheads on:  ${describeReads(on)}`,
        `bulkheads off: ${describeReads(off)}`,
      ),
      check(
        'nothing is lost: every order ends, no read errors, the gateway’s breaker to payment stays closed',
        ended.length === placed.length &&
          cartsKept === gaveUp.length &&
          offFailedReads === 0 &&
          (breaker?.state ?? 'closed') === 'closed',
        `orders: ${describeTally(tally(ended.map((e) => e.order.status)))} (${placed.length} placed; ${offRefused} checkout attempts refused while the bulkheads were off were sent again with their key)`,
        `shoppers who gave up: ${gaveUp.length}, their carts still holding the item: ${cartsKept}`,
        `gateway→payment breaker: ${breaker ? `${breaker.state}, ${breaker.stats.failures ?? 0} failed of ${breaker.stats.fires ?? 0} calls in the last 10 s` : 'no calls yet'}`,
      ),
    ];
  },
});
