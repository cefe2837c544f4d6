// Exercise 9: the order history is a read side of its own (CQRS). Its order.events consumer is
// slowed by a chaos fault while this run's shoppers check out: the order pages are current at
// once, the history lags, and the gateway's /orders/history says so; the fault cleared, the
// history catches up. Then the read model is dropped and rebuilt from the topics, and must equal
// what it was (docs/exercises/09-cqrs-lag-rebuild.md).
import { requestJson } from '../api';
import { formatProgress, HistoryApi, type HistoryDocument } from '../history';
import { waitFor } from './messaging-support';
import { registerExercise } from './registry';
import { checkoutAll, productInStock, shoppersWithCart, waitAllEnded } from './support';
import { check, type ExerciseContext } from './types';

const TOPIC = 'order.events';
const ORDERS = 3;
/**
 * The history's order.events consumer is held (a chaos `hang`) until the checks of the lag are
 * taken, then released: on a slow machine a fixed latency could let an order through before the
 * gateway is asked, and the check would depend on timing.
 */
const HOLD_SECONDS = 120;

interface HistoryAnswer {
  orders: HistoryDocument[];
  freshness: string;
  behind: { orderId: string; status: string; historyStatus: string | null } | null;
  lag: { events: number; seconds: number | null } | null;
}

/** Every document the search returns (orders whose order.created is in), paged. */
async function searchCount(history: HistoryApi): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: { orders: unknown[]; nextCursor: string | null } = await requestJson(
      'GET',
      `${history.baseUrl}/v1/history/orders?${query}`,
    );
    count += page.orders.length;
    cursor = page.nextCursor;
  } while (cursor);
  return count;
}

/** The documents of `orderIds`, whole (null: not in the history). */
async function documentsOf(history: HistoryApi, orderIds: string[]): Promise<Map<string, HistoryDocument | null>> {
  return new Map(await Promise.all(orderIds.map(async (id) => [id, await history.document(id)] as const)));
}

function sameDocuments(a: Map<string, HistoryDocument | null>, b: Map<string, HistoryDocument | null>): string[] {
  const differ: string[] = [];
  for (const [id, doc] of a) if (JSON.stringify(doc) !== JSON.stringify(b.get(id))) differ.push(id);
  return differ;
}

function chaos(ctx: ExerciseContext, history: HistoryApi, method: 'PUT' | 'DELETE', body?: unknown) {
  return requestJson<{ id?: string }>(method, `${history.adminUrl}/admin/chaos`, {
    token: ctx.adminToken,
    ...(body !== undefined ? { body } : {}),
  });
}

export const exercise09 = registerExercise({
  number: 9,
  slug: 'cqrs-lag-rebuild',
  title: 'CQRS: the history lags behind the order pages, catches up, and is rebuilt from the events',
  pattern: 'CQRS (read model, eventual consistency, rebuild)',
  doc: 'docs/exercises/09-cqrs-lag-rebuild.md',
  checkout: {
    modes: 'orchestrated',
    why: "not about checkout outcomes: the history read model's lag and rebuild",
  },
  async run(ctx) {
    const history = new HistoryApi(ctx.env, ctx.adminToken);
    const product = await productInStock(ctx, ORDERS);
    const shoppers = await shoppersWithCart(ctx, ORDERS, product.id);
    const first = shoppers[0];
    if (!first) throw new Error('no shopper was created');

    ctx.step(`a fault in the history's ${TOPIC} consumer: held until released (at most ${HOLD_SECONDS} s)`);
    ctx.defer("clear the history's consumer fault", () => chaos(ctx, history, 'DELETE'));
    const rule = await chaos(ctx, history, 'PUT', {
      kind: 'consumer',
      target: TOPIC,
      fault: { type: 'hang' },
      durationSeconds: HOLD_SECONDS,
    });
    ctx.log(`PUT history :7086/admin/chaos consumer ${TOPIC} hang → rule ${rule.id}`);

    const ended = await waitAllEnded(ctx, await checkoutAll(ctx, shoppers), 60_000);
    const ids = ended.map((e) => e.orderId);
    const pagesCurrentAfter = Math.max(...ended.map((e) => e.secondsToEnd));
    const whileSlow = await documentsOf(history, ids);
    const behindNow = ended.filter((e) => whileSlow.get(e.orderId)?.status !== e.order.status);
    const lagNow = await history.lag();
    const view = await requestJson<HistoryAnswer>('GET', `${ctx.gatewayUrl}/api/v1/orders/history`, {
      token: first.token,
    });
    ctx.log(`order pages: ${ended.map((e) => e.order.status).join(', ')} within ${pagesCurrentAfter.toFixed(1)} s`);
    ctx.log(
      `history: ${behindNow.length} of ${ids.length} not current; lag ${lagNow.map((t) => `${t.topic} ${t.events} events / ${t.seconds ?? '?'} s`).join(', ')}`,
    );
    ctx.log(
      `gateway /orders/history for shopper 1: freshness "${view.freshness}", behind ${JSON.stringify(view.behind)}`,
    );

    ctx.step('clear the fault: the history catches up');
    const clearedAt = Date.now();
    await chaos(ctx, history, 'DELETE');
    const caughtUp = await waitFor(
      ctx,
      'every order of this run current in the history',
      async () => {
        const docs = await documentsOf(history, ids);
        return ended.every((e) => docs.get(e.orderId)?.status === e.order.status) ? docs : undefined;
      },
      60_000,
    ).catch(() => undefined);
    const catchUpSeconds = (Date.now() - clearedAt) / 1000;
    const after = await requestJson<HistoryAnswer>('GET', `${ctx.gatewayUrl}/api/v1/orders/history`, {
      token: first.token,
    });
    ctx.log(`caught up ${caughtUp ? `${catchUpSeconds.toFixed(1)} s after the fault was cleared` : 'never'}`);

    ctx.step('rebuild the read model from the topics: it must equal what it was');
    const before = await documentsOf(history, ids);
    const countBefore = await searchCount(history);
    const started = await history.startRebuild();
    ctx.log(`rebuild of generation ${started.generation} started (${started.targetEvents} messages in the topics)`);
    let lastLogged = 0;
    // The rebuild reads every message the topics hold, so its time grows with the shop: 80 000
    // messages took most of 100 s on a 2-core machine that also runs the rest of the shop.
    const done = await history.awaitRebuild({
      timeoutMs: 240_000,
      pollMs: 500,
      progress: (s) => {
        if (Date.now() - lastLogged < 5_000) return;
        lastLogged = Date.now();
        ctx.log(formatProgress(s));
      },
    });
    ctx.log(`rebuild ${done.state}: ${formatProgress(done)}`);
    // Events written while it ran (other shoppers) may still be applied by the live consumers.
    const rebuilt = await waitFor(
      ctx,
      "this run's documents back after the rebuild",
      async () => {
        const docs = await documentsOf(history, ids);
        return [...docs.values()].every((d) => d !== null) ? docs : undefined;
      },
      30_000,
    ).catch(() => documentsOf(history, ids));
    const countAfter = await searchCount(history);
    const differ = sameDocuments(before, rebuilt);

    return [
      check(
        'while the history is held back, the order pages are current and the history is behind, and says so',
        behindNow.length > 0 &&
          lagNow.some((t) => t.events > 0) &&
          view.freshness === 'being updated' &&
          view.behind !== null &&
          ids.includes(view.behind.orderId),
        `order pages final ${pagesCurrentAfter.toFixed(1)} s after checkout; history then: ${behindNow.length} of ${ids.length} not current`,
        `lag: ${lagNow.map((t) => `${t.topic} ${t.events} events, ${t.seconds ?? '?'} s`).join('; ')}`,
        `gateway: freshness "${view.freshness}", behind ${JSON.stringify(view.behind)}`,
      ),
      check(
        'the fault cleared, the history catches up: every order with its status, the gateway current',
        caughtUp !== undefined && after.freshness === 'current',
        `caught up ${catchUpSeconds.toFixed(1)} s after the fault was cleared`,
        `gateway: freshness "${after.freshness}", ${after.orders.length} order(s) for shopper 1`,
      ),
      check(
        'the rebuild replays the topics and gives the same read model: same documents, same count',
        done.state === 'done' && differ.length === 0 && countAfter === countBefore,
        `rebuild: ${done.eventsApplied} events, ${done.documents} documents in ${done.elapsedSeconds.toFixed(1)} s`,
        `this run's ${ids.length} documents: ${differ.length === 0 ? 'identical, field for field' : `differ: ${differ.join(', ')}`}`,
        `searchable documents: ${countBefore} before, ${countAfter} after`,
      ),
    ];
  },
});
