// Exercise 5: Kafka goes down while orders confirm. With the transactional outbox the events
// wait in the services' outbox tables and drain when Kafka is back — nothing lost. With the
// dual write (order publishing directly) the confirmations are lost: carts stay full, the
// catalog does not count the sales, the audit fails, until order re-emits them
// (docs/exercises/05-kafka-down-outbox.md).
import type { Shopper } from '../api';
import {
  auditNow,
  clearances,
  control,
  counter,
  describeBacklog,
  invariant,
  outboxes,
  requireQuietMessaging,
  waitCleared,
  waitFor,
  waitOutboxesDrained,
} from './messaging-support';
import { registerExercise } from './registry';
import {
  checkoutAll,
  describeTally,
  type EndedOrder,
  productInStock,
  shoppersWithCart,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

const SHOPPERS = 3;
/** How long the backlog is watched growing while Kafka is down. */
const DOWN_FOR_MS = 5_000;
const LOST = 'shop_outbox_direct_publish_total';

interface OutboxPhase {
  ended: EndedOrder[];
  /** order's unpublished rows right after the orders ended, and DOWN_FOR_MS later. */
  backlogAtEnd: number;
  backlogLater: number;
  oldestLater: number;
  lastError: string | null;
  backlogDescribed: string;
  /** Seconds from Kafka ready to every outbox empty, and from then to every cart cleared; null: never. */
  drainSeconds: number | null;
  clearedSeconds: number | null;
}

interface DirectPhase {
  ended: EndedOrder[];
  lost: number;
  /** Outbox rows order wrote while publishing directly (should be none). */
  orderRowsWritten: number;
  notCleared: string[];
  stillFull: number;
  /** A later order, through the outbox again: seconds until its cart was cleared (null: never). */
  sentinelClearedSeconds: number | null;
  auditFailed: boolean;
  auditEvidence: string[];
  republished: string[];
  repairedSeconds: number | null;
  auditAfterRepair: boolean;
}

/** `4.2 s`, or `never` for a wait that timed out. */
function seconds(value: number | null): string {
  return value === null ? 'never' : `${value.toFixed(1)} s`;
}

function rowsOf(outbox: { published: number; unpublished: number }): number {
  return outbox.published + outbox.unpublished;
}

async function cartItems(shoppers: Shopper[]): Promise<number[]> {
  return Promise.all(shoppers.map(async (s) => (await s.getCart()).itemCount));
}

/** The design: Kafka dies, orders confirm, their events wait in the outboxes and drain afterwards. */
async function outboxPhase(ctx: ExerciseContext, productId: string): Promise<OutboxPhase> {
  ctx.step('AFTER: the outbox — Kafka is killed, orders confirm anyway, their events wait');
  const shoppers = await shoppersWithCart(ctx, SHOPPERS, productId);
  ctx.defer('start Kafka (if it is down)', () => control(ctx, 'start', ['kafka']));
  await control(ctx, 'kill', ['kafka']);
  const placed = await checkoutAll(ctx, shoppers);
  const ended = await waitAllEnded(ctx, placed, 75_000);
  ctx.log(`orders without Kafka: ${describeTally(tally(ended.map((e) => e.order.status)))} (the saga calls gRPC)`);
  const atEnd = await outboxes(ctx);
  await ctx.sleep(DOWN_FOR_MS);
  const later = await outboxes(ctx);
  const backlogDescribed = describeBacklog(later);
  ctx.log(`unpublished outbox rows ${DOWN_FOR_MS / 1000} s later: ${backlogDescribed}`);
  if (later.order?.lastError) ctx.log(`order's relay: ${later.order.lastError.slice(0, 120)}`);

  await control(ctx, 'start', ['kafka']);
  const drainSeconds = await waitOutboxesDrained(ctx, 90_000);
  ctx.log(`every outbox drained: ${seconds(drainSeconds)} after Kafka was ready`);
  const confirmed = ended.filter((e) => e.order.status === 'CONFIRMED').map((e) => e.orderId);
  const clearedSeconds = await waitCleared(ctx, confirmed, 60_000);
  ctx.log(`the cart cleared all ${confirmed.length} confirmed orders: ${seconds(clearedSeconds)} later`);
  return {
    ended,
    backlogAtEnd: atEnd.order?.unpublished ?? 0,
    backlogLater: later.order?.unpublished ?? 0,
    oldestLater: later.order?.oldestUnpublishedAgeSeconds ?? 0,
    lastError: later.order?.lastError ?? null,
    backlogDescribed,
    drainSeconds,
    clearedSeconds,
  };
}

/** The dual write: order publishes straight to Kafka, which is down; the confirmations are lost. Then the repair. */
async function directPhase(ctx: ExerciseContext, productId: string): Promise<DirectPhase> {
  ctx.step('BEFORE: the dual write — order publishes directly to Kafka, which is down');
  const shoppers = await shoppersWithCart(ctx, SHOPPERS, productId);
  const lostBefore = await counter(ctx, 'order', LOST, { outcome: 'lost' });
  const rowsBefore = rowsOf(await ctx.admin.outbox('order'));
  ctx.defer('switch order back to publish mode outbox', () => ctx.admin.setPublishMode('order', 'outbox'));
  await ctx.admin.setPublishMode('order', 'direct');
  ctx.log('PUT order /admin/outbox/mode {"mode":"direct"}');
  await control(ctx, 'kill', ['kafka']);
  const placed = await checkoutAll(ctx, shoppers);
  const ended = await waitAllEnded(ctx, placed, 75_000);
  ctx.log(`orders without Kafka: ${describeTally(tally(ended.map((e) => e.order.status)))}`);
  // Each order sent two events directly (created, then confirmed or cancelled); each send gives up
  // after the producer's bounded retries and is counted lost.
  const lostNow = async () => (await counter(ctx, 'order', LOST, { outcome: 'lost' })) - lostBefore;
  await waitFor(
    ctx,
    'the direct sends failing',
    async () => ((await lostNow()) >= 2 * SHOPPERS ? true : undefined),
    60_000,
  ).catch(() => undefined);
  const lost = await lostNow();
  ctx.log(`order: ${lost} events lost (${LOST}{outcome="lost"}); the orders' state committed all the same`);
  const orderRowsWritten = rowsOf(await ctx.admin.outbox('order')) - rowsBefore;
  await ctx.admin.setPublishMode('order', 'outbox');
  await control(ctx, 'start', ['kafka']);
  await waitOutboxesDrained(ctx, 90_000);

  // A later order goes through the outbox and reaches the cart: the pipeline works again, so
  // what has not arrived by then is not late, it is gone.
  const sentinel = await waitAllEnded(ctx, await checkoutAll(ctx, await shoppersWithCart(ctx, 1, productId)), 60_000);
  const sentinelClearedSeconds = await waitCleared(ctx, [sentinel[0]?.orderId ?? ''], 60_000);
  ctx.log(`a later order (outbox again) reached the cart: ${seconds(sentinelClearedSeconds)} after confirming`);
  const confirmed = ended.filter((e) => e.order.status === 'CONFIRMED').map((e) => e.orderId);
  const cleared = await clearances(ctx);
  const notCleared = confirmed.filter((id) => !cleared.has(id));
  const stillFull = (await cartItems(shoppers)).filter((n) => n > 0).length;
  ctx.log(
    `dual-write orders: ${notCleared.length} of ${confirmed.length} confirmed never reached the cart; ${stillFull} carts still full`,
  );
  const report = await auditNow(ctx);
  const messaging = invariant(report, 6);
  const auditFailed = messaging?.verdict === 'FAIL';
  const auditEvidence = [
    `audit invariant 6: ${messaging?.verdict} ${Object.entries(messaging?.counts ?? {})
      .filter(([k]) => k === 'notReachedCart' || k === 'catalogUncounted')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    ...(messaging?.details ?? []).slice(0, 2).map((d) => `  ${d}`),
  ];
  for (const line of auditEvidence) ctx.log(line);

  ctx.step('REPAIR: order re-emits the end events its outbox never had');
  const { republished, orderIds } = await ctx.admin.republishOrders();
  ctx.log(`POST order /v1/admin/orders/republish → republished ${republished}`);
  const repairedSeconds = await waitCleared(ctx, confirmed, 60_000);
  await waitOutboxesDrained(ctx, 60_000);
  const repaired = await waitFor(
    ctx,
    'the audit passing after the repair',
    async () => ((await auditNow(ctx)).ok ? true : undefined),
    60_000,
    2_000,
  ).catch(() => false);
  ctx.log(
    `the cart cleared the repaired orders: ${seconds(repairedSeconds)} after the republish; audit ${repaired ? 'passes' : 'still FAILs'}`,
  );
  return {
    ended,
    lost,
    orderRowsWritten,
    notCleared,
    stillFull,
    sentinelClearedSeconds,
    auditFailed,
    auditEvidence,
    republished: orderIds,
    repairedSeconds,
    auditAfterRepair: repaired,
  };
}

export const exercise05 = registerExercise({
  number: 5,
  slug: 'kafka-down-outbox',
  title: 'Kafka is down: the outbox keeps every event, the dual write loses them',
  pattern: 'transactional outbox',
  doc: 'docs/exercises/05-kafka-down-outbox.md',
  checkout: {
    modes: 'orchestrated',
    why: 'its first check is that orders confirm with Kafka down because the saga calls gRPC; a choreographed checkout is its events, so it waits for Kafka (as the system test kafka-outage, run once for that reason)',
  },
  async run(ctx) {
    const product = await productInStock(ctx, 2 * SHOPPERS + 1);
    ctx.log(`product ${product.id} (${product.available} available); ${SHOPPERS} fresh shoppers per phase`);
    await requireQuietMessaging(ctx);
    const after = await outboxPhase(ctx, product.id);
    const before = await directPhase(ctx, product.id);
    const afterConfirmed = after.ended.filter((e) => e.order.status === 'CONFIRMED').length;
    const beforeConfirmed = before.ended.filter((e) => e.order.status === 'CONFIRMED');
    return [
      check(
        'orders confirm while Kafka is down: the saga does not need it',
        afterConfirmed === SHOPPERS && beforeConfirmed.length === SHOPPERS,
        `outbox: ${describeTally(tally(after.ended.map((e) => e.order.status)))}; dual write: ${describeTally(tally(before.ended.map((e) => e.order.status)))}`,
      ),
      check(
        'with the outbox the events wait: the backlogs hold them, growing older, while Kafka is down',
        after.backlogLater >= 2 * SHOPPERS && after.oldestLater >= DOWN_FOR_MS / 1000,
        `order: ${after.backlogAtEnd} unpublished when the orders had ended, ${after.backlogLater} after ${DOWN_FOR_MS / 1000} s more, the oldest ${Math.round(after.oldestLater)} s old`,
        `every service: ${after.backlogDescribed}`,
        ...(after.lastError ? [`order's last relay error: ${after.lastError.slice(0, 100)}`] : []),
      ),
      check(
        'with the outbox nothing is lost: the backlog drains by itself once Kafka is back and every cart is cleared',
        after.drainSeconds !== null && after.clearedSeconds !== null,
        `every outbox empty ${seconds(after.drainSeconds)} after Kafka was ready; all ${afterConfirmed} confirmed orders cleared their carts ${seconds(after.clearedSeconds)} after that`,
      ),
      check(
        'with the dual write the confirmations are lost: carts stay full and the audit fails',
        before.lost >= 2 * SHOPPERS &&
          before.orderRowsWritten === 0 &&
          before.notCleared.length === beforeConfirmed.length &&
          before.stillFull === SHOPPERS &&
          before.sentinelClearedSeconds !== null &&
          before.auditFailed,
        `order counted ${before.lost} events lost and wrote ${before.orderRowsWritten} outbox rows`,
        `${before.notCleared.length} of ${beforeConfirmed.length} confirmed orders never reached the cart, ${before.stillFull} of ${SHOPPERS} carts still full — ` +
          `while a later order (outbox) was cleared ${seconds(before.sentinelClearedSeconds)} after confirming`,
        ...before.auditEvidence,
      ),
      check(
        "order's republish repairs the loss: the end events go out through the outbox, carts clear, the audit passes",
        beforeConfirmed.every((e) => before.republished.includes(e.orderId)) &&
          before.repairedSeconds !== null &&
          before.auditAfterRepair,
        `republished ${before.republished.length} end event(s), including all ${beforeConfirmed.length} lost confirmations; carts cleared ${seconds(before.repairedSeconds)} later`,
        `audit after the repair: ${before.auditAfterRepair ? 'every invariant holds' : 'still FAILs'}`,
      ),
    ];
  },
});
