// Exercise 18: the checkout as one distributed transaction (two-phase commit), and what it costs
// when its coordinator dies between prepare and commit: the participants' transactions stay in
// doubt in pg_prepared_xacts, holding the product's rows locked (another checkout of it waits,
// then gives up), until the coordinator is back and recovers them
// (docs/exercises/18-two-phase-coordinator-crash.md, docs/patterns/two-phase-commit.md).
import type { Shopper } from '../api';
import { registerExercise } from './registry';
import {
  checkoutAll,
  control,
  describeMs,
  describeSeconds,
  describeTally,
  type EndedOrder,
  type PlacedOrder,
  productInStock,
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

type Mode = 'orchestrated' | 'two-phase';

interface PreparedRow {
  transactionId: string;
  orderId: string;
  ageMs: number;
}

async function setMode(ctx: ExerciseContext, mode: Mode): Promise<void> {
  await ctx.admin.request('order', 'PUT', '/v1/admin/checkout-mode', { body: { mode } });
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
  await setMode(ctx, mode);
  const started = Date.now();
  const placed = await checkoutAll(ctx, shoppers);
  const ended = await waitAllEnded(ctx, placed, 30_000, 100);
  const seconds = (Date.now() - started) / 1000;
  return { ended, perSecond: ended.length / seconds, ms: ended.map((e) => e.secondsToEnd * 1000) };
}

const outcome = (e: EndedOrder) =>
  e.order.cancelReason ? `${e.order.status} (${e.order.cancelReason})` : e.order.status;

export const exercise18 = registerExercise({
  number: 18,
  slug: 'two-phase-coordinator-crash',
  title: 'Two-phase commit: the coordinator dies between prepare and commit',
  pattern: 'two-phase commit (a distributed transaction), for contrast with the saga',
  doc: 'docs/exercises/18-two-phase-coordinator-crash.md',
  async run(ctx) {
    const products: string[] = [];
    for (let i = 0; i < SHOPPERS; i++) products.push((await productInStock(ctx, 5)).id);
    const shoppers = await Promise.all(products.map(async (id) => (await shoppersWithCart(ctx, 1, id))[0] as Shopper));
    // The newcomer wants the product the first held transaction locks.
    const [newcomer] = await shoppersWithCart(ctx, 1, products[0] as string);
    if (!newcomer) throw new Error('no shopper');
    ctx.defer('checkout mode back to orchestrated', () => setMode(ctx, 'orchestrated'));
    ctx.defer('start the order service (if it is not running)', () => control(ctx, 'start', 'order'));

    ctx.step(`the same ${SHOPPERS} checkouts, once as a saga and once as a two-phase commit (no faults)`);
    const saga = await batch(ctx, 'orchestrated', shoppers);
    await refill(shoppers, products);
    const twoPhase = await batch(ctx, 'two-phase', shoppers);
    ctx.log(`saga: ${describeTally(tally(saga.ended.map(outcome)))}, checkout to CONFIRMED ${describeMs(saga.ms)}`);
    ctx.log(
      `two-phase: ${describeTally(tally(twoPhase.ended.map(outcome)))}, checkout to CONFIRMED ${describeMs(twoPhase.ms)}`,
    );

    ctx.step('two-phase checkouts held by the chaos hook after COMMIT is logged, before anyone hears it');
    await refill(shoppers, products);
    ctx.defer('chaos hook off', () => setPause(ctx, 'none', 0).catch(() => undefined));
    await setPause(ctx, 'decided', 120_000);
    await setMode(ctx, 'two-phase');
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

    ctx.step('another shopper checks out the first held product meanwhile');
    await setMode(ctx, 'two-phase');
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

    ctx.step('SIGKILL the coordinator (order) while the participants are in doubt');
    await control(ctx, 'kill', 'order');
    const killedAt = Date.now();
    const catalogInDoubt = await preparedAt(ctx, 'catalog', heldIds);
    const paymentInDoubt = await preparedAt(ctx, 'payment', heldIds);
    ctx.log(
      `in doubt: catalog ${catalogInDoubt.length}, payment ${paymentInDoubt.length} prepared transactions ` +
        `(e.g. ${catalogInDoubt[0]?.transactionId ?? 'none'}, ${describeSeconds(catalogInDoubt.map((p) => p.ageMs / 1000))} old)`,
    );
    const seen = await Promise.all(
      held.map((p) =>
        p.shopper.getOrder(p.orderId).then(
          (o) => o.status,
          (err: { status?: number }) => `unreadable (${err.status ?? 'no answer'})`,
        ),
      ),
    );
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
    const ended = await waitAllEnded(ctx, held, 30_000, 100);
    const afterCatalog = await preparedAt(ctx, 'catalog', heldIds);
    const afterPayment = await preparedAt(ctx, 'payment', heldIds);
    const reservations = await Promise.all(heldIds.map((id) => reservationOf(ctx, id)));
    const lockedSeconds = ended.map((e) => (Date.parse(e.order.updatedAt) - e.acceptedAt) / 1000);
    ctx.log(
      `orders: ${describeTally(tally(ended.map(outcome)))}, confirmed ${describeSeconds(ended.map((e) => (Date.parse(e.order.updatedAt) - restartedAt) / 1000))} after the restart`,
    );
    ctx.log(
      'compared with the saga under a coordinator crash (exercise 4): the saga holds no row lock and nothing is in doubt —',
    );
    ctx.log(
      '  its reservation and authorization are committed rows; the shopper waits the same way (PENDING), but no other checkout does',
    );
    ctx.log(
      `throughput without faults: saga ${saga.perSecond.toFixed(2)} orders/s, two-phase ${twoPhase.perSecond.toFixed(2)} orders/s; ` +
        `under the crash the product was locked ${describeSeconds(lockedSeconds)} (checkout to commit)`,
    );

    const allConfirmed = (list: EndedOrder[]) => list.every((e) => e.order.status === 'CONFIRMED');
    return [
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
