// Exercise 6: the same events are delivered twice — what a relay that dies between Kafka's
// acknowledgement and its own commit does. order's relay publishes its last rows again
// (POST /admin/outbox/replay); every consumer recognises the event ids and skips them: no
// cart is cleared twice, no sale counted twice, no buyer e-mailed twice
// (docs/exercises/06-duplicate-delivery.md). Choreographed, the catalog's reactions to
// order.events (group catalog-choreography-order) are checked too: a replayed order.created must
// not reserve the stock again.
import type { Service } from '@shoplab/audit';
import type { Shopper } from '../api';
import {
  clearances,
  counter,
  ORDER_EVENT_GROUPS,
  processedByGroup,
  requireQuietMessaging,
  waitCleared,
  waitFor,
  waitOutboxesDrained,
} from './messaging-support';
import { registerExercise } from './registry';
import { checkoutAll, describeTally, productInStock, shoppersWithCart, tally, waitAllEnded } from './support';
import { check, type ExerciseContext } from './types';

const SHOPPERS = 3;
const DUPLICATES = 'shop_consumer_duplicates_total';

/** What the consumers' effects look like: compared before and after the replay. */
interface Effects {
  /** Events applied per consumer group. */
  processed: Map<string, number>;
  /** The catalog's counters of the product bought. */
  stock: { available: number; sold: number; confirmedUnitsSold?: number };
  /** Our orders' cart clearances (event id each) and the buyers' cart versions. */
  clearanceEvents: string[];
  cartVersions: number[];
  /** Notifications the user service logged for our orders. */
  notifications: number;
}

async function effects(
  ctx: ExerciseContext,
  productId: string,
  orderIds: string[],
  shoppers: Shopper[],
): Promise<Effects> {
  const stock = await ctx.admin.request<{
    products: { id: string; available: number; sold: number; confirmedUnitsSold?: number }[];
  }>('catalog', 'GET', '/v1/admin/stock');
  const product = stock.products.find((p) => p.id === productId);
  if (!product) throw new Error(`the catalog's stock report has no ${productId}`);
  const cleared = await clearances(ctx);
  const notified = await ctx.admin.request<{ items: { orderId: string | null }[] }>(
    'user',
    'GET',
    '/v1/admin/notifications?limit=200',
  );
  return {
    processed: await processedByGroup(ctx),
    stock: { available: product.available, sold: product.sold, confirmedUnitsSold: product.confirmedUnitsSold },
    clearanceEvents: orderIds.map((id) => cleared.get(id)?.eventId ?? 'none'),
    cartVersions: await Promise.all(shoppers.map(async (s) => (await s.getCart()).version)),
    notifications: notified.items.filter((n) => n.orderId !== null && orderIds.includes(n.orderId)).length,
  };
}

/** The order.events consumers of the run's mode: choreographed, also the catalog's reactions. */
function groupsOf(ctx: ExerciseContext): { service: Service; group: string }[] {
  return ctx.checkoutMode === 'choreographed'
    ? [...ORDER_EVENT_GROUPS, { service: 'catalog', group: 'catalog-choreography-order' }]
    : ORDER_EVENT_GROUPS;
}

async function duplicatesByGroup(ctx: ExerciseContext): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { service, group } of groupsOf(ctx)) {
    counts.set(group, await counter(ctx, service, DUPLICATES, { group }));
  }
  return counts;
}

function same<T>(a: T, b: T): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export const exercise06 = registerExercise({
  number: 6,
  slug: 'duplicate-delivery',
  title: 'Events are delivered twice: the idempotent consumers skip them',
  pattern: 'idempotent consumer',
  doc: 'docs/exercises/06-duplicate-delivery.md',
  checkout: { modes: 'both' },
  async run(ctx) {
    const product = await productInStock(ctx, SHOPPERS);
    await requireQuietMessaging(ctx);

    ctx.step(`${SHOPPERS} orders confirm and their events reach every consumer`);
    const shoppers = await shoppersWithCart(ctx, SHOPPERS, product.id);
    const ended = await waitAllEnded(ctx, await checkoutAll(ctx, shoppers), 60_000);
    const confirmed = ended.filter((e) => e.order.status === 'CONFIRMED').map((e) => e.orderId);
    ctx.log(`orders: ${describeTally(tally(ended.map((e) => e.order.status)))}`);
    if ((await waitCleared(ctx, confirmed, 60_000)) === null)
      throw new Error('the confirmed orders never reached the cart');
    if ((await waitOutboxesDrained(ctx, 60_000)) === null) throw new Error('the outboxes do not drain');
    // The user service and the catalog consume the same events; wait until they have them too.
    const orderIds = ended.map((e) => e.orderId);
    const before = await waitFor(
      ctx,
      'the user service notifying every buyer',
      async () => {
        const now = await effects(ctx, product.id, orderIds, shoppers);
        return now.notifications >= ended.length ? now : undefined;
      },
      30_000,
    );
    const duplicatesBefore = await duplicatesByGroup(ctx);
    ctx.log(
      `before: ${product.id} sold ${before.stock.sold}, ${before.notifications} notifications, ` +
        `processed ${[...before.processed].map(([g, n]) => `${g} ${n}`).join(', ')}`,
    );

    ctx.step("order's relay publishes its last rows again (the redelivery after a relay crash)");
    const last = 2 * ended.length; // each order wrote created + confirmed (or cancelled)
    const replay = await ctx.admin.replayOutbox('order', last);
    ctx.log(`POST order /admin/outbox/replay {"last":${last}} → ${replay.replayed} rows published again`);
    const drained = await waitOutboxesDrained(ctx, 60_000);
    const skipped = await waitFor(
      ctx,
      `every order-events consumer skipping ${replay.replayed} duplicates`,
      async () => {
        const now = await duplicatesByGroup(ctx);
        const deltas = new Map([...now].map(([g, n]) => [g, n - (duplicatesBefore.get(g) ?? 0)]));
        return [...deltas.values()].every((d) => d >= replay.replayed) ? deltas : undefined;
      },
      60_000,
    ).catch(async () => {
      const now = await duplicatesByGroup(ctx);
      return new Map([...now].map(([g, n]) => [g, n - (duplicatesBefore.get(g) ?? 0)]));
    });
    ctx.log(`duplicates skipped: ${[...skipped].map(([g, n]) => `${g} +${n}`).join(', ')}`);
    const after = await effects(ctx, product.id, orderIds, shoppers);
    const groups = groupsOf(ctx);
    const services = [...new Set(groups.map((g) => g.service))];
    const duplicateIds = (await Promise.all(services.map((service) => ctx.admin.consumers(service)))).reduce(
      (sum, c) => sum + c.duplicateIds,
      0,
    );

    return [
      check(
        'the relay published the replayed rows again, through Kafka, to every consumer',
        replay.replayed === last && drained !== null,
        `${replay.replayed} of ${last} rows marked unpublished; order's outbox empty again ${drained === null ? 'never' : `${drained.toFixed(1)} s`} later`,
        `event ids: ${replay.eventIds.slice(0, 3).join(', ')}${replay.eventIds.length > 3 ? ', …' : ''}`,
      ),
      check(
        'every consumer group recognised each event id and skipped it',
        [...skipped.values()].every((d) => d >= replay.replayed) &&
          groups.every(({ group }) => after.processed.get(group) === before.processed.get(group)) &&
          duplicateIds === 0,
        ...groups.map(
          ({ service, group }) =>
            `${service} (${group}): ${skipped.get(group) ?? 0} duplicates skipped (${DUPLICATES}); applied ${before.processed.get(group)} → ${after.processed.get(group)}`,
        ),
        `event ids applied twice in any ledger (processed_events): ${duplicateIds}`,
      ),
      check(
        'nothing happened twice: stock counters, carts and notifications are unchanged',
        same(before.stock, after.stock) &&
          same(before.clearanceEvents, after.clearanceEvents) &&
          same(before.cartVersions, after.cartVersions) &&
          before.notifications === after.notifications,
        `catalog ${product.id}: ${JSON.stringify(before.stock)} → ${JSON.stringify(after.stock)}`,
        `carts: cleared once each (clearance events unchanged: ${same(before.clearanceEvents, after.clearanceEvents)}), versions ${before.cartVersions.join(',')} → ${after.cartVersions.join(',')}`,
        `notifications for these orders: ${before.notifications} → ${after.notifications}`,
      ),
    ];
  },
});
