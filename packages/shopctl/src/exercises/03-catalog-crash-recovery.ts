// Exercise 3: the catalog crashes (SIGKILL) while sagas are reserving stock, and is back well
// within the step deadline. The sagas retry the step — behind the order service's open breaker
// they wait for its trial call, even when that comes after the deadline — and every one
// confirms; a checkout tried during the crash is refused cleanly and goes through with the same
// Idempotency-Key later; no unit of stock leaks (docs/exercises/03-catalog-crash-recovery.md).
import { ApiError, type FaultRuleInput } from '../api';
import { registerExercise } from './registry';
import {
  attemptsOf,
  checkoutAll,
  control,
  describeMs,
  describeSeconds,
  describeTally,
  type PlacedOrder,
  productInStock,
  reservationOf,
  shoppersWithCart,
  stockOf,
  tally,
  waitAllEnded,
} from './support';
import { check } from './types';

/** Holds ReserveStock calls for 3 s, so the sagas are mid-call when the catalog dies. */
export const SLOW_RESERVE: FaultRuleInput = {
  kind: 'grpc',
  target: 'catalog.v1.CatalogService/ReserveStock',
  fault: { type: 'latency', ms: 3_000 },
  durationSeconds: 60,
};
const SHOPPERS = 8;
/** How long the catalog stays down, unless that would bring it back too close to the deadline. */
const DOWN_FOR_MS = 5_000;
/** What starting the catalog may take (2–5 s here, more on a busy machine), kept free before the earliest deadline. */
const START_ALLOWANCE_MS = 10_000;
/** The order service's SAGA_STEP_DEADLINE_MS (its default): the time the catalog has to come back. */
const STEP_DEADLINE_MS = 15_000;
/** The order service's breaker to the catalog stays open this long before its trial call (the chassis default). */
const BREAKER_RESET_MS = 10_000;

export const exercise03 = registerExercise({
  number: 3,
  slug: 'catalog-crash-recovery',
  title: 'The catalog crashes mid-checkout: back within the step deadline, every saga confirms',
  pattern: 'retries with backoff to a deadline, idempotent commands',
  doc: 'docs/exercises/03-catalog-crash-recovery.md',
  checkout: {
    modes: 'orchestrated',
    why: "its point is the saga retrying reserve_stock to its step deadline behind order's breaker to the catalog; a choreographed order never calls the catalog to reserve (the catalog's consumer reacts to order.created, and a crash only delays it)",
  },
  async run(ctx) {
    const product = await productInStock(ctx, SHOPPERS + 1);
    const before = await stockOf(ctx, product.id);
    ctx.log(`product ${product.id}: available ${before.available}, reserved ${before.reserved}, sold ${before.sold}`);
    const shoppers = await shoppersWithCart(ctx, SHOPPERS + 1, product.id);
    const late = shoppers.pop();
    if (!late) throw new Error('no shopper for the checkout during the crash');

    ctx.step('catalog answers ReserveStock 3 s late, so the sagas are mid-call when it dies');
    ctx.defer('clear the catalog fault', () => ctx.admin.chaosClear('catalog').catch(() => 0));
    await ctx.admin.chaosSet('catalog', SLOW_RESERVE);
    // No saga starts before this, so none has its step deadline before it + STEP_DEADLINE_MS.
    const checkoutsFrom = Date.now();
    // Two at a time: a burst of eight may be shed (503 + Retry-After) and sent again seconds later,
    // which would spread the sagas' deadlines over the outage.
    const placed: PlacedOrder[] = [];
    for (let i = 0; i < shoppers.length; i += 2) placed.push(...(await checkoutAll(ctx, shoppers.slice(i, i + 2))));
    ctx.log(`${placed.length} checkouts accepted (202) within ${((Date.now() - checkoutsFrom) / 1000).toFixed(1)} s`);
    await ctx.sleep(1_000);

    ctx.step('SIGKILL the catalog');
    ctx.defer('start the catalog (if it is not running)', () => control(ctx, 'start', 'catalog'));
    await control(ctx, 'kill', 'catalog');
    const killedAt = Date.now();

    ctx.step('a shopper checks out while the catalog is down');
    const key = `${ctx.runId}-during-crash`;
    let refusal = 'accepted (unexpected)';
    let refusedFast = false;
    const t = Date.now();
    try {
      await late.checkout({ idempotencyKey: key });
    } catch (err) {
      refusal = err instanceof ApiError ? `${err.status} ${err.code ?? ''}` : (err as Error).message;
      refusedFast = err instanceof ApiError && err.status === 503;
    }
    const refusalMs = Date.now() - t;
    ctx.log(`checkout during the crash: ${refusal} after ${refusalMs} ms`);
    // Down for DOWN_FOR_MS, but started early enough to be back before the earliest deadline.
    const restartAt = Math.max(
      killedAt + 2_000,
      Math.min(killedAt + DOWN_FOR_MS, checkoutsFrom + STEP_DEADLINE_MS - START_ALLOWANCE_MS),
    );
    await ctx.sleep(Math.max(0, restartAt - Date.now()));
    const midway = await Promise.all(placed.map((p) => p.shopper.getOrder(p.orderId).catch(() => undefined)));
    const pendingWhileDown = midway.filter((o) => o?.status === 'PENDING').length;
    const downSeconds = ((Date.now() - killedAt) / 1000).toFixed(1);
    ctx.log(`${downSeconds} s after the crash: ${pendingWhileDown} of ${placed.length} orders still PENDING`);

    ctx.step('start the catalog again');
    await control(ctx, 'start', 'catalog');
    const restartedAt = Date.now();
    ctx.log(`catalog down for ${((restartedAt - killedAt) / 1000).toFixed(1)} s`);
    // A client told "try again shortly" retries with the same key; right after the restart the
    // order service's breaker to the catalog may still be open for a few seconds.
    let retried: { orderId: string } | undefined;
    const refusedAfterRestart: string[] = [];
    while (!retried) {
      try {
        retried = await late.checkout({ idempotencyKey: key });
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 503) || Date.now() - restartedAt > 30_000) throw err;
        refusedAfterRestart.push(err.code ?? String(err.status));
        await ctx.sleep(1_000);
      }
    }
    const acceptedAfter = (Date.now() - restartedAt) / 1000;
    ctx.log(
      `the same checkout again (same Idempotency-Key): 202 after ${refusedAfterRestart.length} more refusal(s), ` +
        `${acceptedAfter.toFixed(1)} s after the restart — order ${retried.orderId}`,
    );
    placed.push({ shopper: late, orderId: retried.orderId, acceptedAt: Date.now() });

    const ended = await waitAllEnded(ctx, placed, 75_000);
    const lateOrders = (await late.api.request<{ items: unknown[] }>('GET', '/orders', { token: late.token })).items
      .length;
    const after = await stockOf(ctx, product.id);
    const reservations = await Promise.all(ended.map((e) => reservationOf(ctx, e.orderId)));
    const crashed = ended.slice(0, SHOPPERS);
    const reserveAttempts = crashed.map((e) => attemptsOf(e.order, 'reserve_stock'));
    const confirmed = ended.filter((e) => e.order.status === 'CONFIRMED').length;
    const reservationFits = ended.every((e, i) =>
      e.order.status === 'CONFIRMED' ? reservations[i] === 'COMMITTED' : reservations[i] !== 'RESERVED',
    );
    const recoveredAfter = crashed.map((e) => (Date.parse(e.order.updatedAt) - restartedAt) / 1000);
    // Each saga's step deadline: SAGA_STEP_DEADLINE_MS after its first reserve_stock attempt.
    const deadlines = reserveAttempts.map((a) => Date.parse(a[0]?.startedAt ?? '') + STEP_DEADLINE_MS);
    const backBeforeDeadline = deadlines.map((d) => (d - restartedAt) / 1000);
    const successBeforeDeadline = crashed.map(
      (_, i) => ((deadlines[i] ?? 0) - Date.parse(reserveAttempts[i]?.at(-1)?.startedAt ?? '')) / 1000,
    );
    const refusedByBreaker = reserveAttempts.map((a) => a.filter((s) => s.code === 'SHOP_CIRCUIT_OPEN').length);

    return [
      check(
        'the catalog was back within the step deadline, so every saga caught in the crash retried the step and confirmed',
        backBeforeDeadline.every((s) => s > 0) &&
          crashed.every(
            (e, i) => e.order.status === 'CONFIRMED' && reserveAttempts[i]?.at(-1)?.outcome === 'SUCCEEDED',
          ) &&
          reserveAttempts.every((a) => a.length > 1),
        `${crashed.length} orders: ${describeTally(tally(crashed.map((e) => (e.order.cancelReason ? `${e.order.status} (${e.order.cancelReason})` : e.order.status))))}`,
        `catalog back ${Math.min(...backBeforeDeadline).toFixed(1)}–${Math.max(...backBeforeDeadline).toFixed(1)} s before the sagas' step deadlines (${STEP_DEADLINE_MS / 1000} s after their first attempt)`,
        `attempts refused by the order service's breaker per order: ${describeTally(tally(refusedByBreaker.map(String)))} (refusals: orders) — ` +
          `each waited for the breaker's trial call (${BREAKER_RESET_MS / 1000} s after it opened); ` +
          `the successful attempt started ${describeSeconds(successBeforeDeadline)} before the deadline (negative: after it)`,
        `reserve_stock attempts per order: ${describeTally(tally(reserveAttempts.map((a) => String(a.length))))} (attempts: orders); ` +
          `failed ones: ${describeTally(
            tally(
              reserveAttempts
                .flat()
                .filter((a) => a.outcome !== 'SUCCEEDED')
                .map((a) => `${a.outcome} ${a.code ?? ''}`.trim()),
            ),
          )}`,
        `${pendingWhileDown} of ${crashed.length} still PENDING ${downSeconds} s into the crash; ended ${describeSeconds(recoveredAfter)} after the restart`,
      ),
      check(
        'a checkout during the crash is refused at once, and the same Idempotency-Key goes through later',
        refusedFast && ended.at(-1)?.order.status === 'CONFIRMED' && lateOrders === 1,
        `during the crash: ${refusal} in ${describeMs([refusalMs])}`,
        `retried once a second with the same key: refused ${refusedAfterRestart.length} more time(s) ` +
          `(${describeTally(tally(refusedAfterRestart))}), then 202 ${acceptedAfter.toFixed(1)} s after the restart; ` +
          `order ${retried.orderId} ${ended.at(-1)?.order.status ?? '?'}; the shopper has ${lateOrders} order(s)`,
      ),
      check(
        'no unit of stock leaked',
        reservationFits &&
          after.reserved === before.reserved &&
          after.sold === before.sold + confirmed &&
          after.available === before.available - confirmed,
        `reservations: ${describeTally(tally(reservations.map((r) => r ?? 'none')))} for ${describeTally(tally(ended.map((e) => e.order.status)))}`,
        `available ${before.available} → ${after.available}, reserved ${before.reserved} → ${after.reserved}, sold ${before.sold} → ${after.sold} (${confirmed} confirmed)`,
      ),
    ];
  },
});
