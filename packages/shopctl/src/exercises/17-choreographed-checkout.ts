// Exercise 17: the same small checkout mix — a good card, a declined card, an order the stock
// cannot cover — once orchestrated (the saga) and once choreographed (services reacting to each
// other's events), side by side: same outcomes, the latency to the final state, the messages each
// needs and what "where is my order?" costs. Then payment is killed in the middle of choreographed
// checkouts and started again: every order still ends consistently
// (docs/exercises/17-choreographed-checkout.md, docs/patterns/choreography.md).
import { ApiError, type Order, type Shopper, TEST_CARDS } from '../api';
import { registerExercise } from './registry';
import { checkoutSwitch } from './runner';
import {
  checkoutAll,
  control,
  describeSeconds,
  describeTally,
  type EndedOrder,
  paymentsByOrder,
  reservationOf,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

type Mode = 'orchestrated' | 'choreographed';
const MODES: Mode[] = ['orchestrated', 'choreographed'];
/** Units of the mix's product: the hog's 8 and the good card's 1 leave 1, the late order wants 2. */
const STOCK = 10;
const KILL_ORDERS = 4;

interface Role {
  name: 'good card' | 'declined card' | 'big order' | 'out of stock';
  quantity: number;
  declined?: boolean;
}
// biome-ignore format: one line per role
const ROLES: Role[] = [
  { name: 'good card',     quantity: 1 },
  { name: 'declined card', quantity: 1, declined: true },
  { name: 'big order',     quantity: 8 },
  { name: 'out of stock',  quantity: 2 },
];

interface ModeRun {
  mode: Mode;
  /** The run's own product (10 units). */
  productId: string;
  ended: Map<Role['name'], EndedOrder>;
  /** How each order was recorded (the order service's own page). */
  recordedModes: string[];
}

async function newProduct(ctx: ExerciseContext, mode: Mode, stock: number): Promise<string> {
  const product = await ctx.admin.request<{ id: string }>('catalog', 'POST', '/v1/admin/products', {
    body: {
      name: `Exercise 17 ${mode} product (${ctx.runId})`,
      category: 'exercise',
      price: { amount: 1500, currency: 'USD' },
      stock,
    },
  });
  return product.id;
}

/** A shopper of the run's own; a sign-up the gateway's per-address limit refuses (429) is sent again after its Retry-After. */
async function newShopper(ctx: ExerciseContext): Promise<Shopper> {
  const giveUpAt = Date.now() + 70_000;
  for (;;) {
    try {
      return await ctx.shop.newShopper({ emailPrefix: ctx.runId, name: 'exercise 17' });
    } catch (err) {
      const limited = err instanceof ApiError && err.status === 429;
      const seconds = limited ? Number(err.problem?.retryAfterSeconds ?? 1) : Number.NaN;
      const waitMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000;
      if (!limited || Date.now() + waitMs > giveUpAt) throw err;
      ctx.log(`sign-up refused by the gateway's limit (429): again in ${waitMs / 1000} s`);
      await ctx.sleep(waitMs);
    }
  }
}

/** The order as the order service itself shows it (the gateway's page leaves the mode out). */
async function orderPage(
  ctx: ExerciseContext,
  shopper: Shopper,
  orderId: string,
): Promise<Order & { checkoutMode?: string }> {
  const res = await fetch(`${ctx.serviceUrl('order')}/v1/orders/${orderId}`, {
    headers: { authorization: `Bearer ${shopper.token}` },
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`order ${orderId}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Order & { checkoutMode?: string };
}

/**
 * The shopper's cart holds `quantity` of `productId` and nothing of the run's previous product
 * (a cancelled order leaves its cart as it was). The run signs up four shoppers in all: the
 * gateway allows 20 registrations a minute from one address.
 */
async function fillCart(shopper: Shopper, productId: string, quantity: number, previous?: string): Promise<void> {
  if (previous) {
    await shopper.api
      .request('DELETE', `/cart/items/${encodeURIComponent(previous)}`, { token: shopper.token })
      .catch(() => undefined);
  }
  await shopper.addToCart(productId, quantity);
}

/** The mix in one mode: every role's shopper fills the cart first (the stock covers each), then checks out. */
async function runMix(ctx: ExerciseContext, mode: Mode, shopperList: Shopper[], previous?: string): Promise<ModeRun> {
  ctx.step(`${mode}: a good card, a declined card, a big order, then an order the stock no longer covers`);
  await checkoutSwitch(ctx).set(mode);
  const productId = await newProduct(ctx, mode, STOCK);
  const shoppers = new Map<Role['name'], Shopper>();
  for (const [i, role] of ROLES.entries()) {
    const shopper = shopperList[i] as Shopper;
    await fillCart(shopper, productId, role.quantity, previous);
    shoppers.set(role.name, shopper);
  }
  const roleOf = new Map<string, Role['name']>();
  const placeRole = async (role: Role) => {
    const shopper = shoppers.get(role.name) as Shopper;
    const [placed] = await checkoutAll(ctx, [shopper], role.declined ? { card: TEST_CARDS.declined } : {});
    if (placed) roleOf.set(placed.orderId, role.name);
    return placed;
  };
  const first = await Promise.all(ROLES.slice(0, 3).map(placeRole));
  const firstEnded = await waitAllEnded(
    ctx,
    first.filter((p) => p !== undefined),
    30_000,
  );
  const lastPlaced = await placeRole(ROLES[3] as Role);
  const lastEnded = await waitAllEnded(ctx, lastPlaced ? [lastPlaced] : [], 30_000);
  const ended = new Map<Role['name'], EndedOrder>();
  for (const e of [...firstEnded, ...lastEnded]) ended.set(roleOf.get(e.orderId) as Role['name'], e);
  const recordedModes = await Promise.all(
    [...ended.values()].map(async (e) => (await orderPage(ctx, e.shopper, e.orderId)).checkoutMode ?? 'none'),
  );
  for (const [name, e] of ended) {
    ctx.log(
      `${mode} ${name}: ${e.order.status}${e.order.cancelReason ? ` (${e.order.cancelReason})` : ''} in ${e.secondsToEnd.toFixed(2)} s`,
    );
  }
  return { mode, ended, recordedModes, productId };
}

const outcome = (e: EndedOrder | undefined) =>
  e ? `${e.order.status}${e.order.cancelReason ? ` ${e.order.cancelReason}` : ''}` : 'missing';
const events = (o: Order) => o.timeline.filter((s) => s.kind === 'event' || s.step.startsWith('shop.')).length;
const commands = (o: Order) =>
  o.timeline.filter((s) => s.kind !== 'event' && !s.step.startsWith('shop.') && !s.step.startsWith('choreography:'))
    .length;

export const exercise17 = registerExercise({
  number: 17,
  slug: 'choreographed-checkout',
  title: 'Choreography beside orchestration: same outcomes, a different shape',
  pattern: 'choreography vs orchestration',
  doc: 'docs/exercises/17-choreographed-checkout.md',
  checkout: {
    modes: 'orchestrated',
    why: "it sets the checkout mode itself (the same mix in both modes, then choreographed checkouts with payment killed), under order's default choreography deadline: the orchestrated pass runs it",
  },
  async run(ctx) {
    const before = await ctx.admin.request<{ mode: string; available: string[] }>(
      'order',
      'GET',
      '/v1/admin/checkout-mode',
    );
    ctx.defer(`checkout mode back to ${before.mode}`, () => checkoutSwitch(ctx).set(before.mode));
    ctx.log(`checkout mode now: ${before.mode} (available: ${before.available.join(', ')})`);

    const shoppers: Shopper[] = [];
    for (const _ of ROLES) shoppers.push(await newShopper(ctx));
    const runs: ModeRun[] = [];
    for (const mode of MODES) runs.push(await runMix(ctx, mode, shoppers, runs.at(-1)?.productId));
    const [orch, chor] = runs as [ModeRun, ModeRun];

    ctx.step('"where is my order?" in each mode');
    const costOf = async (run: ModeRun) => {
      const e = run.ended.get('good card') as EndedOrder;
      const started = performance.now();
      const page = await orderPage(ctx, e.shopper, e.orderId);
      const pageMs = performance.now() - started;
      // The order page of a choreography knows what the order heard; what the other services did
      // since is on their side: the reservation, the payment.
      const alsoStarted = performance.now();
      await Promise.all([reservationOf(ctx, e.orderId), paymentsByOrder(ctx, [e.orderId])]);
      const participantsMs = performance.now() - alsoStarted;
      return { page, pageMs, participantsMs };
    };
    const orchCost = await costOf(orch);
    const chorCost = await costOf(chor);
    ctx.log(
      `orchestrated: the saga's row and timeline answer it in one read (${orchCost.pageMs.toFixed(0)} ms; ` +
        `${commands(orchCost.page)} command attempts, ${events(orchCost.page)} events on the timeline)`,
    );
    ctx.log(
      `choreographed: the order page shows the events it heard (${chorCost.pageMs.toFixed(0)} ms; ` +
        `${events(chorCost.page)} events, ${commands(chorCost.page)} commands from a conductor); between two events the ` +
        `state is in the catalog and payment: +2 reads (${chorCost.participantsMs.toFixed(0)} ms)`,
    );
    ctx.log(`choreographed timeline: ${chorCost.page.timeline.map((s) => `${s.step}:${s.outcome}`).join(' → ')}`);

    ctx.step(`payment killed in the middle of ${KILL_ORDERS} choreographed checkouts, then started again`);
    await checkoutSwitch(ctx).set('choreographed');
    const killProduct = await newProduct(ctx, 'choreographed', 2 * KILL_ORDERS + 10);
    const killShoppers = shoppers.slice(0, KILL_ORDERS);
    for (const shopper of killShoppers) await fillCart(shopper, killProduct, 1, chor.productId);
    ctx.defer('payment started again', () => control(ctx, 'start', 'payment'));
    const placed = await checkoutAll(ctx, killShoppers);
    await control(ctx, 'kill', 'payment');
    ctx.log(`${placed.length} checkouts accepted; payment killed (SIGKILL)`);
    await ctx.sleep(2_000);
    const midway = await Promise.all(placed.map((p) => reservationOf(ctx, p.orderId)));
    ctx.log(`while payment is down: reservations ${describeTally(tally(midway.map((r) => r ?? 'none')))}`);
    await control(ctx, 'start', 'payment');
    ctx.log('payment started again: its consumer reads on where its group stopped');
    const afterKill = await waitAllEnded(ctx, placed, 40_000);
    const killReservations = await Promise.all(afterKill.map((e) => reservationOf(ctx, e.orderId)));
    const killPayments = await paymentsByOrder(
      ctx,
      afterKill.map((e) => e.orderId),
    );
    const consistent = afterKill.every((e, i) => {
      const p = killPayments.get(e.orderId);
      const r = killReservations[i];
      return e.order.status === 'CONFIRMED'
        ? r === 'COMMITTED' && p?.captureCount === 1 && p.captured === e.order.total.amount
        : r !== 'RESERVED' && (p ? p.captured - p.refunded === 0 : true);
    });

    const roles = ROLES.map((r) => r.name);
    const seconds = (run: ModeRun) => [...run.ended.values()].map((e) => e.secondsToEnd);
    return [
      check(
        'both modes end the same mix the same way',
        roles.every((r) => outcome(orch.ended.get(r)) === outcome(chor.ended.get(r))) &&
          outcome(orch.ended.get('good card')) === 'CONFIRMED' &&
          outcome(orch.ended.get('declined card')) === 'CANCELLED payment_declined' &&
          outcome(orch.ended.get('out of stock')) === 'CANCELLED out_of_stock',
        ...roles.map(
          (r) => `${r}: orchestrated ${outcome(orch.ended.get(r))}, choreographed ${outcome(chor.ended.get(r))}`,
        ),
      ),
      check(
        'each order records the mode it was checked out in',
        orch.recordedModes.every((m) => m === 'orchestrated') && chor.recordedModes.every((m) => m === 'choreographed'),
        `orchestrated run: ${describeTally(tally(orch.recordedModes))}; choreographed run: ${describeTally(tally(chor.recordedModes))}`,
      ),
      check(
        'the choreographed timeline is the events as they arrived, with no conductor’s commands',
        commands(chorCost.page) === 0 &&
          chorCost.page.timeline.some((s) => s.step === 'shop.catalog.stock_reserved.v1') &&
          chorCost.page.timeline.some((s) => s.step === 'shop.catalog.stock_committed.v1') &&
          commands(orchCost.page) > 0,
        `orchestrated good card: ${commands(orchCost.page)} command attempts, ${events(orchCost.page)} events`,
        `choreographed good card: ${commands(chorCost.page)} commands, ${events(chorCost.page)} events`,
        `checkout to final state: orchestrated ${describeSeconds(seconds(orch))}; choreographed ${describeSeconds(seconds(chor))}`,
      ),
      check(
        'payment killed mid-way: every choreographed order still ends consistently',
        afterKill.length === KILL_ORDERS && consistent,
        `orders: ${describeTally(tally(afterKill.map(outcomeOfEnded)))}`,
        `reservations: ${describeTally(tally(killReservations.map((r) => r ?? 'none')))}`,
        `checkout to final state: ${describeSeconds(afterKill.map((e) => e.secondsToEnd))}`,
      ),
    ];
  },
});

function outcomeOfEnded(e: EndedOrder): string {
  return outcome(e);
}
