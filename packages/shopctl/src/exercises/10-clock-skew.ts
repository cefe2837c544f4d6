// Exercise 10: payment's wall clock runs 30 s behind (a chaos clock skew). The order timeline
// sorted by wall time then shows the payment's events before the saga steps that caused them;
// sorted by the hybrid logical clock every event comes after its cause, because the order
// service's clocks travel with each gRPC call and payment stamps its events after them
// (docs/exercises/10-clock-skew.md, docs/patterns/logical-clocks.md).
import type { FaultRuleInput, Order, SagaStep, Shopper } from '../api';
import { waitFor } from './messaging-support';
import { registerExercise } from './registry';
import {
  checkoutAll,
  describeTally,
  type PlacedOrder,
  productInStock,
  shoppersWithCart,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

const SKEW_MS = -30_000;
/** Payment's clock 30 s behind; the rule expires by itself should the cleanup not run. */
export const PAYMENT_CLOCK_BEHIND: FaultRuleInput = {
  kind: 'clock',
  target: '*',
  fault: { type: 'skew', ms: SKEW_MS },
  durationSeconds: 120,
};
const SKEWED_ORDERS = 2;

const AUTHORIZED = 'shop.payment.authorized.v1';
const CAPTURED = 'shop.payment.captured.v1';
/** Each payment event and the saga step whose call caused it. */
const CAUSES: [event: string, step: string][] = [
  [AUTHORIZED, 'authorize_payment'],
  [CAPTURED, 'capture_payment'],
];

interface Timelines {
  orderId: string;
  byWall: SagaStep[];
  byHlc: SagaStep[];
}

const isEvent = (e: SagaStep, type: string) => e.kind === 'event' && e.step === type;
const isSucceeded = (e: SagaStep, step: string) => e.kind !== 'event' && e.step === step && e.outcome === 'SUCCEEDED';
/** Where the event is in the timeline, and where the successful attempt of the step that caused it is. */
function positions(timeline: SagaStep[], event: string, step: string): { event: number; cause: number } {
  return {
    event: timeline.findIndex((e) => isEvent(e, event)),
    cause: timeline.findIndex((e) => isSucceeded(e, step)),
  };
}
const entryOf = (timeline: SagaStep[], event: string, step: string) => ({
  event: timeline.find((e) => isEvent(e, event)),
  cause: timeline.find((e) => isSucceeded(e, step)),
});
const hlcMs = (hlc: string | null | undefined) => (hlc ? Number(hlc.split('-')[0]) : Number.NaN);
const line = (e: SagaStep) =>
  `${(e.startedAt ?? '').slice(11, 23)}  hlc ${e.hlc ?? '-'}  lamport ${e.lamport ?? '-'}  ${e.kind === 'event' ? 'event ' : ''}${e.step}`;

/** The order's timeline both ways, once the order service has recorded both payment events. */
async function timelines(ctx: ExerciseContext, shopper: Shopper, orderId: string): Promise<Timelines> {
  const byWall = await waitFor(
    ctx,
    `the payment events of order ${orderId} on its timeline`,
    async () => {
      const order: Order = await shopper.getOrder(orderId, { sort: 'wall' });
      return CAUSES.every(([event]) => order.timeline.some((e) => isEvent(e, event))) ? order.timeline : undefined;
    },
    30_000,
  );
  const byHlc = (await shopper.getOrder(orderId, { sort: 'hlc' })).timeline;
  return { orderId, byWall, byHlc };
}

/** Every payment event after its cause in `pick`'s order. */
function causalIn(t: Timelines, pick: (t: Timelines) => SagaStep[]): boolean {
  return CAUSES.every(([event, step]) => {
    const p = positions(pick(t), event, step);
    return p.cause >= 0 && p.event > p.cause;
  });
}

export const exercise10 = registerExercise({
  number: 10,
  slug: 'clock-skew',
  title: 'Payment’s clock runs 30 s behind: wall time lies about the order of events, the HLC does not',
  pattern: 'logical clocks (Lamport, hybrid logical clock)',
  doc: 'docs/exercises/10-clock-skew.md',
  checkout: {
    modes: 'orchestrated',
    why: "its timelines are the saga's steps ordered by wall clock and HLC; not about checkout outcomes",
  },
  async run(ctx) {
    const product = await productInStock(ctx, SKEWED_ORDERS + 1);
    const shoppers = await shoppersWithCart(ctx, SKEWED_ORDERS + 1, product.id);

    ctx.step('first, every clock right: one checkout');
    const [healthyPlaced] = await checkoutAll(ctx, shoppers.slice(0, 1));
    const [healthy] = await waitAllEnded(ctx, healthyPlaced ? [healthyPlaced] : [], 30_000);
    if (healthy?.order.status !== 'CONFIRMED') throw new Error('the first order did not confirm');
    const before = await timelines(ctx, healthy.shopper, healthy.orderId);
    ctx.log(`order ${healthy.orderId}, by wall time:`);
    for (const e of before.byWall) ctx.log(`  ${line(e)}`);

    ctx.step(`payment's clock set ${SKEW_MS / 1000} s off (chaos clock skew); ${SKEWED_ORDERS} checkouts`);
    ctx.defer('clear the payment clock skew', () => ctx.admin.chaosClear('payment'));
    const rule = await ctx.admin.chaosSet('payment', PAYMENT_CLOCK_BEHIND);
    ctx.log(`fault on: payment clock skew ${SKEW_MS / 1000} s (rule ${rule.id})`);
    const placed: PlacedOrder[] = await checkoutAll(ctx, shoppers.slice(1));
    const ended = await waitAllEnded(ctx, placed, 60_000);
    const skewed = await Promise.all(ended.map((e) => timelines(ctx, e.shopper, e.orderId)));
    await ctx.admin.chaosClear('payment');
    ctx.log('fault cleared');
    const sample = skewed[0];
    if (sample) {
      ctx.log(`order ${sample.orderId}, by wall time (?sort=wall):`);
      for (const e of sample.byWall) ctx.log(`  ${line(e)}`);
      ctx.log(`the same, by HLC (?sort=hlc):`);
      for (const e of sample.byHlc) ctx.log(`  ${line(e)}`);
    }

    const first = (t: Timelines) => positions(t.byWall, AUTHORIZED, 'authorize_payment');
    const wallGaps = skewed.map((t) => {
      const { event, cause } = entryOf(t.byWall, AUTHORIZED, 'authorize_payment');
      return (Date.parse(event?.startedAt ?? '') - Date.parse(cause?.startedAt ?? '')) / 1000;
    });
    const hlcGaps = skewed.map((t) => {
      const { event, cause } = entryOf(t.byWall, AUTHORIZED, 'authorize_payment');
      return (hlcMs(event?.hlc) - hlcMs(cause?.hlc)) / 1000;
    });
    const lamportsOk = skewed.every((t) =>
      CAUSES.every(([event, step]) => {
        const pair = entryOf(t.byWall, event, step);
        return (pair.event?.lamport ?? 0) > (pair.cause?.lamport ?? Number.POSITIVE_INFINITY);
      }),
    );
    const sagaOrder = (timeline: SagaStep[]) =>
      timeline.filter((e) => e.kind !== 'event' && e.outcome === 'SUCCEEDED').map((e) => e.step);

    return [
      check(
        'with every clock right, wall time and HLC agree: each payment event after the step that caused it',
        healthy.order.status === 'CONFIRMED' && causalIn(before, (t) => t.byWall) && causalIn(before, (t) => t.byHlc),
        `order ${healthy.orderId}: by wall ${CAUSES.map(([e, s]) => `${s} → ${e.split('.')[2]} at ${JSON.stringify(positions(before.byWall, e, s))}`).join(', ')}`,
      ),
      check(
        'with payment’s clock 30 s behind, the timeline by wall time puts the payment before the step that caused it',
        skewed.length === SKEWED_ORDERS &&
          ended.every((e) => e.order.status === 'CONFIRMED') &&
          skewed.every((t) => {
            const p = first(t);
            return p.event >= 0 && p.cause >= 0 && p.event < p.cause;
          }),
        `${skewed.length} orders, all ${describeTally(tally(ended.map((e) => e.order.status)))}`,
        `authorized event's time minus authorize_payment's start: ${wallGaps.map((s) => `${s.toFixed(1)} s`).join(', ')}`,
        `by wall time the first entry is: ${describeTally(tally(skewed.map((t) => t.byWall[0]?.step ?? 'none')))}`,
      ),
      check(
        'sorted by HLC, every payment event comes after its cause and the saga’s steps keep their order',
        skewed.every(
          (t) =>
            causalIn(t, (x) => x.byHlc) &&
            JSON.stringify(sagaOrder(t.byHlc)) === JSON.stringify(sagaOrder(t.byWall)) &&
            t.byHlc.every((e) => e.hlc),
        ),
        `by HLC: ${sample ? sample.byHlc.map((e) => (e.kind === 'event' ? e.step.split('.')[2] : e.step)).join(' → ') : 'none'}`,
      ),
      check(
        'the HLC stays on the cause’s time, not 30 s back, and the Lamport clock agrees with it',
        hlcGaps.every((s) => s >= 0) && lamportsOk,
        `authorized event's HLC ms minus authorize_payment's: ${hlcGaps.map((s) => `${s.toFixed(3)} s`).join(', ')}`,
        `Lamport: every payment event's greater than its cause's: ${lamportsOk}`,
      ),
    ];
  },
});
