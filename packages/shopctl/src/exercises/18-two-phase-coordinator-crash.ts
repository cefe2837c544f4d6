// Exercise 18: the checkout as one distributed transaction (two-phase commit), and what it costs
// when its coordinator dies between prepare and commit: the participants' transactions stay in
// doubt in pg_prepared_xacts, holding the product's rows locked (another checkout of it waits,
// then gives up), until the coordinator is back and recovers them. The saga goes through the
// same crash first — the same kill of order, the same small load of checkouts of the same
// products — and the two are measured side by side
// (docs/exercises/18-two-phase-coordinator-crash.md, docs/patterns/two-phase-commit.md).
import { ApiError, type Shopper } from '../api';
import { PAYMENT_DOWN } from './02-payment-down-compensation';
import { registerExercise } from './registry';
import { auditWhenSettled, checkoutSwitch } from './runner';
import {
  attemptsOf,
  checkoutAll,
  control,
  describeMs,
  describeSeconds,
  describeTally,
  type EndedOrder,
  type PlacedOrder,
  productInStock,
  quantile,
  reservationOf,
  shoppersWithCart,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

const SHOPPERS = 3;
/** How long the catalog's prepared reserve waits for a row lock (its SET LOCAL lock_timeout). */
const LOCK_TIMEOUT_MS = 1_000;
/** How long the coordinator stays dead while the participants are in doubt. */
const DEAD_FOR_MS = 3_000;
/** Other shoppers of the same products: the small load that runs through the incident (the same in both modes). */
const LOAD_SHOPPERS = 6;
/** The load sends one checkout this often (open loop: it does not wait for the previous answer). */
const LOAD_INTERVAL_MS = 600;
/**
 * How long the held orders are stuck before order is killed: the two-phase ones decided and
 * undelivered, the sagas retrying Authorize. Well under the participants' 10 s before they ask.
 */
const STUCK_MS = 3_500;
/**
 * The load pauses this long before the kill, so that the kill lands on the held orders and not on
 * a step of another checkout in flight: that one would stay leased to the dead runner for
 * SAGA_LEASE_MS (30 s, exercise 4), in either mode. A two-phase prepare that waits for a held row
 * gives up after about 1 s (LOCK_TIMEOUT_MS, or order's 1.5 s call deadline).
 */
const LOAD_QUIET_MS = 1_500;

type Mode = 'orchestrated' | 'two-phase';

interface PreparedRow {
  transactionId: string;
  orderId: string;
  ageMs: number;
}

async function setPause(ctx: ExerciseContext, pauseAt: 'none' | 'decided', pauseMs: number): Promise<void> {
  await ctx.admin.request('order', 'PUT', '/v1/admin/two-phase/chaos', { body: { pauseAt, pauseMs } });
}

/** A participant's transactions in doubt (its pg_prepared_xacts), for these orders. */
async function preparedAt(ctx: ExerciseContext, service: 'catalog' | 'payment', ids: string[]): Promise<PreparedRow[]> {
  const { prepared } = await ctx.admin.request<{ prepared: PreparedRow[] }>(
    service,
    'GET',
    '/v1/admin/two-phase/prepared',
  );
  return prepared.filter((p) => ids.includes(p.orderId));
}

interface InquiryCounts {
  committed: number;
  rolledBack: number;
  unknown: number;
  unreachable: number;
}

/** A participant asks the coordinator now about everything it holds prepared (what it does on its own after a while). */
function inquireAt(ctx: ExerciseContext, service: 'catalog' | 'payment'): Promise<InquiryCounts> {
  return ctx.admin.request<InquiryCounts>(service, 'POST', '/v1/admin/two-phase/inquire');
}

/**
 * Shopper i puts one unit of product i in the cart (again: a confirmed order cleared it). One
 * product each: two transactions of one product cannot both be prepared — the second waits for
 * the first one's row lock.
 */
async function refill(shoppers: Shopper[], productIds: string[]): Promise<void> {
  await Promise.all(shoppers.map((s, i) => s.addToCart(productIds[i] as string, 1)));
}

/** A batch in one mode, without faults: orders per second and checkout-to-CONFIRMED times. */
async function batch(ctx: ExerciseContext, mode: Mode, shoppers: Shopper[]) {
  await checkoutSwitch(ctx).set(mode);
  const started = Date.now();
  const placed = await checkoutAll(ctx, shoppers);
  const ended = await waitAllEnded(ctx, placed, 30_000, 100);
  const seconds = (Date.now() - started) / 1000;
  return { ended, perSecond: ended.length / seconds, ms: ended.map((e) => e.secondsToEnd * 1000) };
}

const outcome = (e: EndedOrder) =>
  e.order.cancelReason ? `${e.order.status} (${e.order.cancelReason})` : e.order.status;

/** One POST /checkout of the load: when it was sent, how long its answer took, and what it was. */
interface LoadAttempt {
  sentAt: number;
  ms: number;
  /** `202`, `503 SHOP_…`, or `no answer`. */
  answer: string;
}

/** A shopper of the load: one Idempotency-Key for every attempt, as a client that retries should. */
interface LoadCheckout {
  shopper: Shopper;
  key: string;
  attempts: LoadAttempt[];
  placed?: PlacedOrder;
  busy: boolean;
}

function answerOf(err: unknown): string {
  if (err instanceof ApiError) return `${err.status}${err.problem?.code ? ` ${err.problem.code}` : ''}`;
  return 'no answer';
}

/**
 * Starts the load: every LOAD_INTERVAL_MS the shopper with the fewest attempts among those not yet
 * accepted (and not waiting for an answer) checks out; a refused one tries again on a later tick.
 * `pause()` and `resume()` hold it; `stop()` ends it and waits for the answers in flight.
 */
function startLoad(
  ctx: ExerciseContext,
  shoppers: Shopper[],
): { pause: () => void; resume: () => void; stop: () => Promise<LoadCheckout[]> } {
  const load: LoadCheckout[] = shoppers.map((shopper, i) => ({
    shopper,
    key: `${ctx.runId}-load-${i}-${Date.now()}`,
    attempts: [],
    busy: false,
  }));
  const inFlight: Promise<void>[] = [];
  let running = true;
  let paused = false;
  const send = async (c: LoadCheckout) => {
    c.busy = true;
    const sentAt = Date.now();
    try {
      const { orderId } = await c.shopper.checkout({ idempotencyKey: c.key });
      const now = Date.now();
      c.attempts.push({ sentAt, ms: now - sentAt, answer: '202' });
      c.placed = { shopper: c.shopper, orderId, acceptedAt: now };
    } catch (err) {
      c.attempts.push({ sentAt, ms: Date.now() - sentAt, answer: answerOf(err) });
    } finally {
      c.busy = false;
    }
  };
  const loop = (async () => {
    while (running) {
      const [next] = load.filter((c) => !c.placed && !c.busy).sort((a, b) => a.attempts.length - b.attempts.length);
      if (next && !paused) inFlight.push(send(next));
      await ctx.sleep(LOAD_INTERVAL_MS);
    }
  })();
  return {
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      return load;
    },
  };
}

/** What one mode went through: the held orders, the load, and when order died and came back. */
interface Incident {
  mode: Mode;
  held: EndedOrder[];
  load: LoadCheckout[];
  /** The load's accepted orders, ended. */
  others: EndedOrder[];
  stuckFrom: number;
  killedAt: number;
  restartedAt: number;
  /** What the held orders' shoppers read while order was down. */
  seenWhileDown: string[];
}

/** The load's attempts sent in [from, to). */
function attemptsIn(load: LoadCheckout[], from: number, to: number): LoadAttempt[] {
  return load.flatMap((c) => c.attempts).filter((a) => a.sentAt >= from && a.sentAt < to);
}

function acceptedPerSecond(attempts: LoadAttempt[], from: number, to: number): string {
  const accepted = attempts.filter((a) => a.answer === '202').length;
  return `${(accepted / ((to - from) / 1000)).toFixed(2)}/s (${accepted} of ${attempts.length})`;
}

function p50p99(ms: number[]): string {
  if (ms.length === 0) return 'none sent';
  return `${Math.round(quantile(ms, 0.5))} / ${Math.round(quantile(ms, 0.99))} ms`;
}

/**
 * Seconds from acceptance to the order's final state by its own clock (its last update): what a
 * shopper polling it sees later when the gateway cannot reach order for a while after the restart.
 */
const toFinal = (e: EndedOrder) => (Date.parse(e.order.updatedAt) - e.acceptedAt) / 1000;

/** From the first attempt of an order's reserve step to the end of its last: its wait for the product's rows. */
function reserveWaitMs(e: EndedOrder): number {
  const reserve = attemptsOf(e.order, 'reserve_stock');
  const start = reserve[0]?.startedAt;
  const end = reserve.at(-1)?.finishedAt;
  return start && end ? Date.parse(end) - Date.parse(start) : Number.NaN;
}

/** `503 SHOP_UNAVAILABLE ×3 → 202 → CONFIRMED`: a load shopper's answers, then its order's end. */
function sequenceOf(c: LoadCheckout, ended: Map<string, EndedOrder>): string {
  const parts: string[] = [];
  for (const a of c.attempts) {
    const last = parts.at(-1);
    const m = last ? /^(.*?)(?: ×(\d+))?$/.exec(last) : null;
    if (m && m[1] === a.answer) parts[parts.length - 1] = `${a.answer} ×${Number(m[2] ?? 1) + 1}`;
    else parts.push(a.answer);
  }
  const end = c.placed ? ended.get(c.placed.orderId) : undefined;
  if (c.placed) parts.push(end ? `PENDING → ${outcome(end)}` : 'PENDING');
  return parts.length > 0 ? parts.join(' → ') : 'never sent';
}

/**
 * The side-by-side table of the two incidents, one line per measurement. "Others" are the load's
 * orders accepted before the kill, which met the held orders; one accepted after the restart is
 * counted apart (a restart puts order's checkout mode back to orchestrated: it is a saga).
 */
function comparisonTable(saga: Incident, twoPhase: Incident): string[] {
  const before = (i: Incident) => i.others.filter((e) => e.acceptedAt < i.killedAt);
  const after = (i: Incident) => i.others.filter((e) => e.acceptedAt >= i.killedAt);
  const rows: [string, (i: Incident) => string][] = [
    [
      `checkouts accepted, held orders stuck (${STUCK_MS / 1000} s)`,
      (i) => acceptedPerSecond(attemptsIn(i.load, i.stuckFrom, i.killedAt), i.stuckFrom, i.killedAt),
    ],
    [
      'checkouts accepted, order down',
      (i) => acceptedPerSecond(attemptsIn(i.load, i.killedAt, i.restartedAt), i.killedAt, i.restartedAt),
    ],
    ['POST /checkout p50 / p99, stuck', (i) => p50p99(attemptsIn(i.load, i.stuckFrom, i.killedAt).map((a) => a.ms))],
    [
      'POST /checkout p50 / p99, order down',
      (i) => p50p99(attemptsIn(i.load, i.killedAt, i.restartedAt).map((a) => a.ms)),
    ],
    ['order down for', (i) => `${((i.restartedAt - i.killedAt) / 1000).toFixed(1)} s`],
    ['held orders: checkout to final state', (i) => describeSeconds(i.held.map(toFinal))],
    ['held orders end as', (i) => describeTally(tally(i.held.map(outcome)))],
    ['held orders, read while order is down', (i) => describeTally(tally(i.seenWhileDown))],
    ['others (same products): checkout to final', (i) => describeSeconds(before(i).map(toFinal))],
    ['others: wait for the held products', (i) => describeMs(before(i).map(reserveWaitMs).filter(Number.isFinite))],
    ['others end as', (i) => describeTally(tally(before(i).map(outcome)))],
    ['accepted after the kill, end as', (i) => describeTally(tally(after(i).map(outcome)))],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = [`${''.padEnd(width)} | saga (orchestrated) | two-phase commit`];
  for (const [name, f] of rows) lines.push(`${name.padEnd(width)} | ${f(saga)} | ${f(twoPhase)}`);
  for (const i of [saga, twoPhase]) {
    const ended = new Map(i.others.map((e) => [e.orderId, e]));
    lines.push(
      `what the others' shoppers saw, ${i.mode}: ${describeTally(tally(i.load.map((c) => sequenceOf(c, ended))))}`,
    );
  }
  return lines;
}

/** Waits until every saga has failed at least one Authorize (it is mid-saga: stock reserved, retrying payment). */
async function waitMidSaga(ctx: ExerciseContext, placed: PlacedOrder[]): Promise<number> {
  let mid = 0;
  for (let i = 0; i < 100 && mid < placed.length; i++) {
    const orders = await Promise.all(placed.map((p) => p.shopper.getOrder(p.orderId)));
    mid = orders.filter((o) => attemptsOf(o, 'authorize_payment').some((a) => a.outcome === 'FAILED')).length;
    if (mid < placed.length) await ctx.sleep(100);
  }
  return mid;
}

/**
 * The load's refused checkouts during the outage open the gateway's breaker to order's HTTP API;
 * it half-opens after its reset timeout and closes on one answer. This waits for that, sending
 * the half-open breaker its trial: a checkout of an empty cart (a 4xx answer, which counts as
 * order answering), so the next checkouts — and the next exercise — find it closed.
 */
async function waitCheckoutPath(ctx: ExerciseContext, emptyCart: Shopper): Promise<string> {
  for (let i = 0; i < 80; i++) {
    const breaker = (await ctx.admin.breakers('gateway')).items.find((b) => b.target === 'order-http');
    if (!breaker || breaker.state === 'closed')
      return i === 0 ? 'closed' : `closed again after ${(i * 0.5).toFixed(1)} s`;
    if (breaker.state === 'half-open') await emptyCart.checkout().catch(() => undefined);
    await ctx.sleep(500);
  }
  throw new Error("the gateway's breaker to order's HTTP API stayed open");
}

async function readWhileDown(held: PlacedOrder[]): Promise<string[]> {
  return Promise.all(
    held.map((p) =>
      p.shopper.getOrder(p.orderId).then(
        (o) => o.status,
        (err: { status?: number }) => `unreadable (${err.status ?? 'no answer'})`,
      ),
    ),
  );
}

export const exercise18 = registerExercise({
  number: 18,
  slug: 'two-phase-coordinator-crash',
  title: 'Two-phase commit: the coordinator dies between prepare and commit',
  pattern: 'two-phase commit (a distributed transaction), for contrast with the saga',
  doc: 'docs/exercises/18-two-phase-coordinator-crash.md',
  checkout: {
    modes: 'orchestrated',
    why: 'it sets the checkout mode itself (two-phase, and orchestrated for contrast)',
  },
  async run(ctx) {
    const products: string[] = [];
    // Each product sells at most 8 units: 4 to its held shopper (two batches, two crashes), 4 to the load's two shoppers of it.
    for (let i = 0; i < SHOPPERS; i++) products.push((await productInStock(ctx, 8)).id);
    // Every shopper of the run, registered two at a time: the user service hashes a few passwords
    // at once, and on a busy machine more wait past the gateway's deadline (504); a service being
    // restarted answers 503. Either is tried again with a new shopper.
    const shopperWithCart = async (productId: string): Promise<Shopper> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const [shopper] = await shoppersWithCart(ctx, 1, productId);
          if (!shopper) throw new Error('no shopper');
          return shopper;
        } catch (err) {
          if (attempt >= 5 || !(err instanceof ApiError) || (err.status !== 503 && err.status !== 504)) throw err;
          await ctx.sleep(2_000);
        }
      }
    };
    const inPairs = async (productIds: string[]): Promise<Shopper[]> => {
      const out: Shopper[] = [];
      for (let i = 0; i < productIds.length; i += 2) {
        out.push(...(await Promise.all(productIds.slice(i, i + 2).map(shopperWithCart))));
      }
      return out;
    };
    // The held orders' shoppers (one product each), the newcomer (who wants the product the first
    // held transaction locks), and the load: the same shoppers in both modes, shopper i buying product i mod 3.
    const shoppers = await inPairs(products);
    const [newcomer] = await inPairs([products[0] as string]);
    if (!newcomer) throw new Error('no shopper');
    const load = await inPairs(Array.from({ length: LOAD_SHOPPERS }, (_, i) => products[i % SHOPPERS] as string));
    const emptyCart = await ctx.shop.newShopper({ emailPrefix: ctx.runId, name: `exercise ${ctx.exercise.number}` });
    ctx.defer('checkout mode back to orchestrated', () => checkoutSwitch(ctx).set('orchestrated'));
    ctx.defer('start the order service (if it is not running)', () => control(ctx, 'start', 'order'));

    ctx.step(`the same ${SHOPPERS} checkouts, once as a saga and once as a two-phase commit (no faults)`);
    const saga = await batch(ctx, 'orchestrated', shoppers);
    await refill(shoppers, products);
    const twoPhase = await batch(ctx, 'two-phase', shoppers);
    ctx.log(`saga: ${describeTally(tally(saga.ended.map(outcome)))}, checkout to CONFIRMED ${describeMs(saga.ms)}`);
    ctx.log(
      `two-phase: ${describeTally(tally(twoPhase.ended.map(outcome)))}, checkout to CONFIRMED ${describeMs(twoPhase.ms)}`,
    );

    ctx.step(
      `the saga under the same crash: payment refuses Authorize, ${SHOPPERS} checkouts mid-saga, other shoppers check out the same products, SIGKILL order for ${DEAD_FOR_MS / 1000} s`,
    );
    await refill(shoppers, products);
    ctx.defer('clear the payment fault', () => ctx.admin.chaosClear('payment'));
    await ctx.admin.chaosSet('payment', PAYMENT_DOWN);
    await checkoutSwitch(ctx).set('orchestrated');
    const sagaHeld = await checkoutAll(ctx, shoppers);
    const midSaga = await waitMidSaga(ctx, sagaHeld);
    ctx.log(`${midSaga} of ${sagaHeld.length} sagas mid-saga: stock reserved, Authorize failing and retried`);
    const sagaStuckFrom = Date.now();
    const sagaLoadRun = startLoad(ctx, load);
    await ctx.sleep(STUCK_MS - LOAD_QUIET_MS);
    sagaLoadRun.pause();
    await ctx.sleep(LOAD_QUIET_MS);
    await control(ctx, 'kill', 'order');
    const sagaKilledAt = Date.now();
    sagaLoadRun.resume();
    const sagaSeenWhileDown = await readWhileDown(sagaHeld);
    await ctx.admin.chaosClear('payment');
    ctx.log(
      `payment fault cleared while order is down; the held orders' shoppers read: ${describeTally(tally(sagaSeenWhileDown))}`,
    );
    await ctx.sleep(DEAD_FOR_MS);
    await control(ctx, 'start', 'order');
    const sagaRestartedAt = Date.now();
    const sagaLoadDone = await sagaLoadRun.stop();
    const sagaOthersPlaced = sagaLoadDone.flatMap((c) => (c.placed ? [c.placed] : []));
    // A saga whose attempt the kill interrupted stays leased to the dead runner (SAGA_LEASE_MS, 30 s).
    const sagaAll = await waitAllEnded(ctx, [...sagaHeld, ...sagaOthersPlaced], 60_000, 200);
    const sagaIncident: Incident = {
      mode: 'orchestrated',
      held: sagaAll.slice(0, sagaHeld.length),
      load: sagaLoadDone,
      others: sagaAll.slice(sagaHeld.length),
      stuckFrom: sagaStuckFrom,
      killedAt: sagaKilledAt,
      restartedAt: sagaRestartedAt,
      seenWhileDown: sagaSeenWhileDown,
    };
    ctx.log(
      `held: ${describeTally(tally(sagaIncident.held.map(outcome)))}; others: ${describeTally(tally(sagaIncident.others.map(outcome)))}`,
    );
    const sagaAudit = await auditWhenSettled(ctx, ctx.signal);
    const sagaAuditFailed = sagaAudit.results
      .filter((r) => r.verdict === 'FAIL')
      .map((r) => `${r.invariant}. ${r.name}`);
    ctx.log(
      `audit after the saga's crash: ${sagaAudit.ok ? 'every invariant holds' : `FAIL ${sagaAuditFailed.join('; ')}`}`,
    );

    ctx.log(`the gateway's breaker to order: ${await waitCheckoutPath(ctx, emptyCart)}`);

    ctx.step('two-phase checkouts held by the chaos hook after COMMIT is logged, before anyone hears it');
    await refill(shoppers, products);
    // A confirmed order cleared its shopper's cart; a refused or cancelled checkout left it as it was.
    const confirmedLoad = new Set(
      sagaIncident.others.filter((e) => e.order.status === 'CONFIRMED').map((e) => e.orderId),
    );
    await Promise.all(
      sagaLoadDone.map((c, i) =>
        c.placed && confirmedLoad.has(c.placed.orderId)
          ? c.shopper.addToCart(products[i % SHOPPERS] as string, 1)
          : undefined,
      ),
    );
    ctx.defer('chaos hook off', () => setPause(ctx, 'none', 0).catch(() => undefined));
    await setPause(ctx, 'decided', 120_000);
    await checkoutSwitch(ctx).set('two-phase');
    const held: PlacedOrder[] = await checkoutAll(ctx, shoppers);
    const heldIds = held.map((p) => p.orderId);
    let decided = 0;
    for (let i = 0; i < 150 && decided < heldIds.length; i++) {
      const { unfinished } = await ctx.admin.request<{ unfinished: { orderId: string; decision: string | null }[] }>(
        'order',
        'GET',
        '/v1/admin/two-phase',
      );
      decided = unfinished.filter((u) => heldIds.includes(u.orderId) && u.decision === 'COMMIT').length;
      if (decided < heldIds.length) await ctx.sleep(100);
    }
    ctx.log(`${decided} of ${heldIds.length} transactions decided COMMIT and held before the participants hear it`);

    ctx.step('another shopper checks out the first held product meanwhile, and the load of the same products starts');
    await checkoutSwitch(ctx).set('two-phase');
    const twoPhaseStuckFrom = Date.now();
    const twoPhaseLoadRun = startLoad(ctx, load);
    const [blocked] = await checkoutAll(ctx, [newcomer]);
    if (!blocked) throw new Error('no checkout');
    const [blockedEnd] = await waitAllEnded(ctx, [blocked], 20_000, 100);
    const blockedReserve = blockedEnd?.order.timeline.find((s) => s.step === 'reserve_stock');
    const blockedMs =
      blockedReserve?.startedAt && blockedReserve.finishedAt
        ? Date.parse(blockedReserve.finishedAt) - Date.parse(blockedReserve.startedAt)
        : Number.NaN;
    ctx.log(
      `its order: ${blockedEnd ? outcome(blockedEnd) : 'none'}; its prepare waited ${Math.round(blockedMs)} ms for the locked row`,
    );

    await ctx.sleep(Math.max(0, twoPhaseStuckFrom + STUCK_MS - LOAD_QUIET_MS - Date.now()));
    twoPhaseLoadRun.pause();
    await ctx.sleep(LOAD_QUIET_MS);

    ctx.step('SIGKILL the coordinator (order) while the participants are in doubt');
    await control(ctx, 'kill', 'order');
    twoPhaseLoadRun.resume();
    const killedAt = Date.now();
    const catalogInDoubt = await preparedAt(ctx, 'catalog', heldIds);
    const paymentInDoubt = await preparedAt(ctx, 'payment', heldIds);
    ctx.log(
      `in doubt: catalog ${catalogInDoubt.length}, payment ${paymentInDoubt.length} prepared transactions ` +
        `(e.g. ${catalogInDoubt[0]?.transactionId ?? 'none'}, ${describeSeconds(catalogInDoubt.map((p) => p.ageMs / 1000))} old)`,
    );
    const seen = await readWhileDown(held);
    ctx.log(`what the shoppers see: ${describeTally(tally(seen))}`);
    // The participants ask the coordinator (as they do on their own after TWO_PHASE_INQUIRY_AFTER_MS): no answer.
    const asked = { catalog: await inquireAt(ctx, 'catalog'), payment: await inquireAt(ctx, 'payment') };
    const describeAsked = (c: InquiryCounts) =>
      `${c.unreachable} unanswered, ${c.committed} committed, ${c.rolledBack} rolled back`;
    ctx.log(
      `the participants ask the coordinator: catalog ${describeAsked(asked.catalog)}; payment ${describeAsked(asked.payment)} — they keep holding`,
    );
    await ctx.sleep(DEAD_FOR_MS);
    const stillInDoubt =
      (await preparedAt(ctx, 'catalog', heldIds)).length + (await preparedAt(ctx, 'payment', heldIds)).length;
    ctx.log(
      `${((Date.now() - killedAt) / 1000).toFixed(1)} s later: ${stillInDoubt} still in doubt — no participant may decide alone`,
    );

    ctx.step('start the coordinator: its recovery re-sends COMMIT from its log');
    await control(ctx, 'start', 'order');
    const restartedAt = Date.now();
    const twoPhaseLoadDone = await twoPhaseLoadRun.stop();
    const ended = await waitAllEnded(ctx, held, 30_000, 100);
    const twoPhaseOthers = await waitAllEnded(
      ctx,
      twoPhaseLoadDone.flatMap((c) => (c.placed ? [c.placed] : [])),
      60_000,
      200,
    );
    const afterCatalog = await preparedAt(ctx, 'catalog', heldIds);
    const afterPayment = await preparedAt(ctx, 'payment', heldIds);
    const reservations = await Promise.all(heldIds.map((id) => reservationOf(ctx, id)));
    const lockedSeconds = ended.map((e) => (Date.parse(e.order.updatedAt) - e.acceptedAt) / 1000);
    ctx.log(
      `orders: ${describeTally(tally(ended.map(outcome)))}, confirmed ${describeSeconds(ended.map((e) => (Date.parse(e.order.updatedAt) - restartedAt) / 1000))} after the restart`,
    );
    ctx.log(
      `throughput without faults: saga ${saga.perSecond.toFixed(2)} orders/s, two-phase ${twoPhase.perSecond.toFixed(2)} orders/s; ` +
        `under the crash the product was locked ${describeSeconds(lockedSeconds)} (checkout to commit)`,
    );
    ctx.log(`the gateway's breaker to order: ${await waitCheckoutPath(ctx, emptyCart)}`);
    const twoPhaseIncident: Incident = {
      mode: 'two-phase',
      held: ended,
      load: twoPhaseLoadDone,
      others: twoPhaseOthers,
      stuckFrom: twoPhaseStuckFrom,
      killedAt,
      restartedAt,
      seenWhileDown: seen,
    };
    ctx.step('side by side: the same crash of order, the same load of the same products');
    for (const line of comparisonTable(sagaIncident, twoPhaseIncident)) ctx.log(line);

    const allConfirmed = (list: EndedOrder[]) => list.every((e) => e.order.status === 'CONFIRMED');
    const endedAt = (e: EndedOrder) => Date.parse(e.order.updatedAt);
    const firstReserve = (e: EndedOrder) => attemptsOf(e.order, 'reserve_stock')[0]?.outcome ?? 'none';
    const sagaOthers = sagaIncident.others;
    // The other checkouts two-phase accepted while the held transactions were stuck (before the kill).
    const blockedOthers = twoPhaseOthers.filter((e) => e.acceptedAt < killedAt);
    const blockedWaits = blockedOthers.map(reserveWaitMs).filter(Number.isFinite);
    const twoPhaseBlocks =
      blockedOthers.length > 0 &&
      blockedOthers.every(
        (e) =>
          (e.order.status === 'CANCELLED' && (e.order.cancelReason ?? '').startsWith('two_phase_aborted:')) ||
          endedAt(e) >= restartedAt,
      ) &&
      !blockedOthers.some((e) => e.order.status === 'CONFIRMED' && endedAt(e) < restartedAt) &&
      blockedWaits.some((ms) => ms >= LOCK_TIMEOUT_MS * 0.9);
    const sagaDoesNotBlock =
      sagaOthers.length > 0 &&
      allConfirmed(sagaOthers) &&
      sagaOthers.every((e) => firstReserve(e) === 'SUCCEEDED') &&
      midSaga === SHOPPERS &&
      allConfirmed(sagaIncident.held);
    return [
      check(
        'the same crash of order under the same load: two-phase blocks the other checkouts of the held products, the saga does not',
        twoPhaseBlocks && sagaDoesNotBlock,
        `saga: ${sagaOthers.length} other checkouts accepted: ${describeTally(tally(sagaOthers.map(outcome)))}; ` +
          `their first reserve attempt ${describeTally(tally(sagaOthers.map(firstReserve)))}, reserve step ${describeMs(sagaOthers.map(reserveWaitMs).filter(Number.isFinite))}`,
        `saga: held ${midSaga} of ${SHOPPERS} mid-saga, then ${describeTally(tally(sagaIncident.held.map(outcome)))}`,
        `two-phase: ${blockedOthers.length} other checkouts accepted before the kill: ${describeTally(tally(blockedOthers.map(outcome)))}; ` +
          `reserve step (the wait for the held rows) ${describeMs(blockedWaits)}; confirmed before the coordinator was back: ` +
          `${blockedOthers.filter((e) => e.order.status === 'CONFIRMED' && endedAt(e) < restartedAt).length}`,
        `accepted while order was down: saga ${acceptedPerSecond(attemptsIn(sagaIncident.load, sagaKilledAt, sagaRestartedAt), sagaKilledAt, sagaRestartedAt)}, ` +
          `two-phase ${acceptedPerSecond(attemptsIn(twoPhaseLoadDone, killedAt, restartedAt), killedAt, restartedAt)} — order is both the coordinator and the checkout's entry`,
      ),
      check(
        "after the saga's crash the audit passes (the run's own audit after the two-phase crash follows)",
        sagaAudit.ok,
        sagaAudit.ok ? `${sagaAudit.results.length} invariants hold` : `failed: ${sagaAuditFailed.join('; ')}`,
      ),
      check(
        'both modes check out the same carts: every order CONFIRMED',
        allConfirmed(saga.ended) && allConfirmed(twoPhase.ended),
        `saga: checkout to CONFIRMED ${describeMs(saga.ms)}, ${saga.perSecond.toFixed(2)} orders/s`,
        `two-phase: ${describeMs(twoPhase.ms)}, ${twoPhase.perSecond.toFixed(2)} orders/s`,
      ),
      check(
        'with the coordinator dead, both participants hold every transaction in doubt (pg_prepared_xacts), ask in vain, and still hold after a while',
        decided === SHOPPERS &&
          catalogInDoubt.length === SHOPPERS &&
          paymentInDoubt.length === SHOPPERS &&
          [asked.catalog, asked.payment].every(
            (c) => c.unreachable >= SHOPPERS && c.committed === 0 && c.rolledBack === 0,
          ) &&
          stillInDoubt === 2 * SHOPPERS,
        `catalog: ${catalogInDoubt.map((p) => p.transactionId).join(', ')}`,
        `asked the dead coordinator: catalog ${describeAsked(asked.catalog)}; payment ${describeAsked(asked.payment)}`,
        `payment: ${paymentInDoubt.length} prepared; ${DEAD_FOR_MS / 1000} s later ${stillInDoubt} of ${2 * SHOPPERS} still there`,
        `the shoppers saw: ${describeTally(tally(seen))}`,
      ),
      check(
        'the held rows block another checkout of the product: it waits for the lock, then its transaction aborts',
        blockedEnd?.order.status === 'CANCELLED' &&
          // The catalog gives up on the lock (a conflict), or — on a slow machine — order's call deadline first.
          ['two_phase_aborted:SHOP_CONFLICT', 'two_phase_aborted:SHOP_TIMEOUT'].includes(
            blockedEnd.order.cancelReason ?? '',
          ) &&
          blockedMs >= LOCK_TIMEOUT_MS * 0.9,
        `${blockedEnd ? outcome(blockedEnd) : 'no order'} after waiting ${Math.round(blockedMs)} ms (lock timeout ${LOCK_TIMEOUT_MS} ms)`,
      ),
      check(
        'the restarted coordinator finishes them from its log: every order CONFIRMED, nothing left prepared, stock committed',
        allConfirmed(ended) &&
          afterCatalog.length === 0 &&
          afterPayment.length === 0 &&
          reservations.every((r) => r === 'COMMITTED'),
        `orders: ${describeTally(tally(ended.map(outcome)))}; reservations: ${describeTally(tally(reservations.map((r) => r ?? 'none')))}`,
        `left in doubt: catalog ${afterCatalog.length}, payment ${afterPayment.length}`,
        `confirmed ${describeSeconds(ended.map((e) => (Date.parse(e.order.updatedAt) - restartedAt) / 1000))} after the restart`,
      ),
    ];
  },
});
