// Exercise 4: the order service — the saga orchestrator — dies while its sagas wait for
// payment. Its sagas live in its database, so a restarted service finds every unfinished one
// and carries it on. A crash (SIGKILL) leaves them leased to the dead runner until the lease
// runs out — past the step's deadline — and the runner that takes them over still resends the
// interrupted Authorize (same key) and confirms them; a graceful stop (SIGTERM) lets the attempts
// in flight finish and hands the sagas back at once (docs/exercises/04-order-crash-resume.md).
import type { FaultRuleInput } from '../api';
import { registerExercise } from './registry';
import {
  attemptsOf,
  checkoutAll,
  control,
  describeSeconds,
  describeTally,
  type EndedOrder,
  paymentsByOrder,
  productInStock,
  reservationOf,
  shoppersWithCart,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

/** Authorize answers after 4 s (within the order service's 5 s deadline): the sagas are mid-step when order dies. */
export const SLOW_AUTHORIZE: FaultRuleInput = {
  kind: 'grpc',
  target: 'payment.v1.PaymentService/Authorize',
  fault: { type: 'latency', ms: 4_000 },
  durationSeconds: 60,
};
const SHOPPERS = 6;
/** The order service's SAGA_STEP_DEADLINE_MS and SAGA_LEASE_MS (their defaults). */
const STEP_DEADLINE_MS = 15_000;
const LEASE_MS = 30_000;

interface PhaseResult {
  ended: EndedOrder[];
  stoppedAt: number;
  restartedAt: number;
  /** Per order: what the payment service holds, and the catalog's reservation. */
  payments: Map<string, { captured: number; refunded: number; captureCount: number; payments: number }>;
  reservations: (string | null)[];
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

async function phase(ctx: ExerciseContext, productId: string, how: 'kill' | 'stop'): Promise<PhaseResult> {
  const shoppers = await shoppersWithCart(ctx, SHOPPERS, productId);
  ctx.defer('clear the payment fault', () => ctx.admin.chaosClear('payment'));
  await ctx.admin.chaosSet('payment', SLOW_AUTHORIZE);
  const placed = await checkoutAll(ctx, shoppers);
  ctx.log(`payment answers Authorize 4 s late; ${placed.length} checkouts accepted (202)`);
  await ctx.sleep(1_500);
  const inFlight = await Promise.all(placed.map((p) => p.shopper.getOrder(p.orderId)));
  ctx.log(
    `${inFlight.filter((o) => o.timeline.at(-1)?.step === 'authorize_payment').length} of ${placed.length} sagas are waiting on Authorize`,
  );
  ctx.defer('start the order service (if it is not running)', () => control(ctx, 'start', 'order'));
  await control(ctx, how, 'order');
  const stoppedAt = Date.now();
  await ctx.admin.chaosClear('payment');
  ctx.log('payment fault cleared while order is down');
  await ctx.sleep(1_000);
  await control(ctx, 'start', 'order');
  const restartedAt = Date.now();
  ctx.log(`order down for ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s; waiting for its sagas`);
  const ended = await waitAllEnded(ctx, placed, 80_000);
  const ids = ended.map((e) => e.orderId);
  const payments = await paymentsByOrder(ctx, ids);
  const reservations = await Promise.all(ids.map((id) => reservationOf(ctx, id)));
  ctx.log(
    `orders: ${describeTally(tally(ended.map((e) => (e.order.cancelReason ? `${e.order.status} (${e.order.cancelReason})` : e.order.status))))}, ` +
      `${describeSeconds(ended.map((e) => (Date.parse(e.order.updatedAt) - restartedAt) / 1000))} after the restart`,
  );
  return { ended, stoppedAt, restartedAt, payments, reservations };
}

/** Each order's money and stock agree with its status (the audit's invariants 2 and 3, per order). */
function consistent(r: PhaseResult): { ok: boolean; evidence: string } {
  let ok = true;
  const seen: string[] = [];
  r.ended.forEach((e, i) => {
    const p = r.payments.get(e.orderId);
    const reservation = r.reservations[i] ?? 'none';
    if (e.order.status === 'CONFIRMED') {
      ok &&= p !== undefined && p.payments === 1 && p.captureCount === 1 && p.captured === e.order.total.amount;
      ok &&= reservation === 'COMMITTED';
    } else {
      ok &&= (p?.captured ?? 0) - (p?.refunded ?? 0) === 0 && reservation !== 'RESERVED';
    }
    seen.push(
      `${e.order.status}: ${p?.payments ?? 0} payment(s), ${p?.captureCount ?? 0} capture(s), stock ${reservation}`,
    );
  });
  return { ok, evidence: describeTally(tally(seen)) };
}

export const exercise04 = registerExercise({
  number: 4,
  slug: 'order-crash-resume',
  title: 'The order service crashes: its sagas resume and confirm',
  pattern: 'persisted saga state, resumable orchestrator, idempotent commands',
  doc: 'docs/exercises/04-order-crash-resume.md',
  checkout: {
    modes: 'orchestrated',
    why: "its point is the orchestrator's own machinery: sagas persisted, taken over after a SIGKILL when the dead runner's lease ends; a choreography has no saga to resume",
  },
  async run(ctx) {
    const product = await productInStock(ctx, 2 * SHOPPERS);

    ctx.step('a crash: SIGKILL the order service while its sagas wait on payment');
    const crash = await phase(ctx, product.id, 'kill');
    ctx.step('a graceful stop: SIGTERM the order service in the same situation');
    const graceful = await phase(ctx, product.id, 'stop');

    const crashAuthorize = crash.ended.map((e) => attemptsOf(e.order, 'authorize_payment'));
    // Resumed: Authorize INTERRUPTED by the crash, then sent again by the restarted service — after
    // the step's deadline, since the dead runner's lease outlasts it — and SUCCEEDED.
    const resumed = crash.ended.filter((e, i) => {
      const [interrupted, resent, ...more] = crashAuthorize[i] ?? [];
      return (
        e.order.status === 'CONFIRMED' &&
        interrupted?.outcome === 'INTERRUPTED' &&
        resent?.outcome === 'SUCCEEDED' &&
        more.length === 0 &&
        Date.parse(resent.startedAt ?? '') >= crash.restartedAt
      );
    }).length;
    const resentAfterDeadline = crashAuthorize.map(
      (a) => (Date.parse(a[1]?.startedAt ?? '') - Date.parse(a[0]?.startedAt ?? '') - STEP_DEADLINE_MS) / 1000,
    );
    const sample = crash.ended[0]?.order.timeline
      .filter((s) => s.step !== 'validate_user' && s.step !== 'reserve_stock' && !s.step.startsWith('shop.'))
      .map((s) => `${s.step}#${s.attempt} ${s.outcome}${s.startedAt ? ` ${clock(Date.parse(s.startedAt))}` : ''}`)
      .join(' → ');
    const crashWait = crash.ended.map((e) => (Date.parse(e.order.updatedAt) - crash.stoppedAt) / 1000);
    const gracefulAuthorize = graceful.ended.map((e) => attemptsOf(e.order, 'authorize_payment'));
    const crashConsistent = consistent(crash);
    const gracefulConsistent = consistent(graceful);

    return [
      check(
        'after the crash, the restarted service resumes every saga forward: Authorize is resent and every order confirms',
        crash.ended.length === SHOPPERS && resumed === SHOPPERS,
        `${crash.ended.length} orders: ${describeTally(tally(crash.ended.map((e) => (e.order.cancelReason ? `${e.order.status} (${e.order.cancelReason})` : e.order.status))))}`,
        `${resumed} of ${SHOPPERS} timelines: authorize_payment#1 INTERRUPTED by the crash, #2 SUCCEEDED, sent by the restarted service`,
        `killed ${clock(crash.stoppedAt)}, restarted ${clock(crash.restartedAt)}; ended ${describeSeconds(crashWait)} after the kill — ` +
          `the dead runner's lease (SAGA_LEASE_MS, ${LEASE_MS / 1000} s) had to run out first`,
        `Authorize resent ${describeSeconds(resentAfterDeadline)} after the step's deadline (${STEP_DEADLINE_MS / 1000} s): the one attempt after it decides`,
        `e.g. ${sample ?? 'no timeline'}`,
      ),
      check(
        'after the crash, money and stock agree (one payment and one capture per order, stock committed)',
        crashConsistent.ok && crash.ended.every((e) => e.order.status === 'CONFIRMED'),
        crashConsistent.evidence,
      ),
      check(
        'a graceful stop finishes the Authorize calls in flight and hands the sagas back: they confirm right after the restart',
        graceful.ended.every((e) => e.order.status === 'CONFIRMED') &&
          gracefulAuthorize.every((a) => a.length === 1 && a[0]?.outcome === 'SUCCEEDED') &&
          gracefulConsistent.ok,
        `${graceful.ended.length} orders: ${describeTally(tally(graceful.ended.map((e) => e.order.status)))}; ` +
          `Authorize attempts: ${describeTally(tally(gracefulAuthorize.map((a) => a.map((s) => s.outcome).join('+'))))}`,
        `ended ${describeSeconds(graceful.ended.map((e) => (Date.parse(e.order.updatedAt) - graceful.restartedAt) / 1000))} after the restart`,
        gracefulConsistent.evidence,
      ),
    ];
  },
});
