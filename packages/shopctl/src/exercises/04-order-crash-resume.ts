// Exercise 4: the order service — the saga orchestrator — is SIGKILLed while its sagas wait
// for payment. Restarted, it finds every unfinished saga in its database and resumes it; the
// interrupted Authorize is resent with the same idempotency key, so nobody pays twice
// (docs/exercises/04-order-crash-resume.md).
import type { FaultRuleInput } from '../api';
import { registerExercise } from './registry';
import {
  attemptsOf,
  checkoutAll,
  control,
  describeSeconds,
  describeTally,
  paymentsByOrder,
  productInStock,
  shoppersWithCart,
  tally,
  waitAllEnded,
} from './support';
import { check } from './types';

/** Authorize answers after 4 s (within the order service's 5 s deadline): the sagas are mid-step when order dies. */
export const SLOW_AUTHORIZE: FaultRuleInput = {
  kind: 'grpc',
  target: 'payment.v1.PaymentService/Authorize',
  fault: { type: 'latency', ms: 4_000 },
  durationSeconds: 60,
};
const SHOPPERS = 6;

export const exercise04 = registerExercise({
  number: 4,
  slug: 'order-crash-resume',
  title: 'The order service crashes: its sagas resume',
  pattern: 'persisted saga state, resumable orchestrator, idempotent commands',
  doc: 'docs/exercises/04-order-crash-resume.md',
  async run(ctx) {
    const product = await productInStock(ctx, SHOPPERS);
    const shoppers = await shoppersWithCart(ctx, SHOPPERS, product.id);

    ctx.step('payment answers Authorize 4 s late, so every saga is waiting on it when order dies');
    ctx.defer('clear the payment fault', () => ctx.admin.chaosClear('payment'));
    await ctx.admin.chaosSet('payment', SLOW_AUTHORIZE);
    const placed = await checkoutAll(ctx, shoppers);
    ctx.log(`${placed.length} checkouts accepted (202)`);
    await ctx.sleep(1_500);
    const inFlight = await Promise.all(placed.map((p) => p.shopper.getOrder(p.orderId)));
    const waiting = inFlight.filter((o) => o.timeline.at(-1)?.step === 'authorize_payment').length;
    ctx.log(`${waiting} of ${placed.length} sagas are in authorize_payment`);

    ctx.step('SIGKILL the order service');
    ctx.defer('start the order service (if it is not running)', () => control(ctx, 'start', 'order'));
    await control(ctx, 'kill', 'order');
    const killedAt = Date.now();
    await ctx.sleep(2_000);
    await ctx.admin.chaosClear('payment');
    ctx.log('payment fault cleared while order is down');

    ctx.step('start the order service again');
    await control(ctx, 'start', 'order');
    const restartedAt = Date.now();
    ctx.log(
      `order down for ${((restartedAt - killedAt) / 1000).toFixed(1)} s; waiting for the sagas (a dead runner's lease lasts 30 s)`,
    );
    const ended = await waitAllEnded(ctx, placed, 80_000);
    const payments = await paymentsByOrder(
      ctx,
      ended.map((e) => e.orderId),
    );

    const authorize = ended.map((e) => attemptsOf(e.order, 'authorize_payment'));
    const resumed = authorize.filter((a) => {
      const cut = a.findIndex((s) => s.outcome === 'INTERRUPTED' || (s.outcome === 'STARTED' && s !== a.at(-1)));
      return (
        cut >= 0 &&
        a.slice(cut + 1).some((s) => s.outcome === 'SUCCEEDED' && Date.parse(s.startedAt ?? '') >= restartedAt - 1_000)
      );
    }).length;
    const sample =
      authorize[0]?.map(
        (s) =>
          `#${s.attempt} ${s.outcome}${s.startedAt ? ` at ${new Date(s.startedAt).toISOString().slice(11, 19)}` : ''}`,
      ) ?? [];
    const afterRestart = ended.map((e) => (Date.parse(e.order.updatedAt) - restartedAt) / 1000);
    const charges = ended.map((e) => payments.get(e.orderId));
    const exactlyOnce = ended.every((e, i) => {
      const p = charges[i];
      return p !== undefined && p.payments === 1 && p.captureCount === 1 && p.captured === e.order.total.amount;
    });

    return [
      check(
        'every saga caught in the crash finished after the restart',
        ended.every((e) => e.order.status === 'CONFIRMED'),
        `${ended.length} orders: ${describeTally(tally(ended.map((e) => e.order.status)))}`,
        `ended ${describeSeconds(afterRestart)} after the restart (killed at ${new Date(killedAt).toISOString().slice(11, 19)}, restarted ${new Date(restartedAt).toISOString().slice(11, 19)})`,
      ),
      check(
        'the timeline shows the interrupted attempt and the resumed one',
        resumed === ended.length,
        `${resumed} of ${ended.length} timelines: an authorize_payment attempt INTERRUPTED by the crash, then one SUCCEEDED after the restart`,
        `e.g. authorize_payment: ${sample.join(', ')}`,
      ),
      check(
        'the resent Authorize charged nobody twice (same idempotency key)',
        exactlyOnce,
        `payments per order: ${describeTally(tally(charges.map((p) => String(p?.payments ?? 0))))} (payments: orders); ` +
          `captures per order: ${describeTally(tally(charges.map((p) => String(p?.captureCount ?? 0))))}`,
        `captured = order total for ${ended.filter((e, i) => charges[i]?.captured === e.order.total.amount).length} of ${ended.length}`,
      ),
    ];
  },
});
