// Exercise 13: CAP and PACELC made visible. The catalog is cut off (a chaos `hang` on its gRPC):
// product pages still answer from the gateway's cache, marked degraded (availability), while
// checkout refuses at once with a problem and reserves nothing (consistency). Then, with no
// partition, the "else" of PACELC: a product read live from the catalog against one from the
// gateway's memory (`Cache-Control: max-stale`), and how stale the remembered one is
// (docs/exercises/13-partition-cap-pacelc.md, docs/patterns/cap-pacelc.md).
import { ApiError, type FaultRuleInput, requestJson, type Shopper } from '../api';
import { registerExercise } from './registry';
import {
  describeMs,
  productInStock,
  quantile,
  scrape,
  shoppersWithCart,
  stockOf,
  sumSamples,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

/** Every gRPC method of the catalog held until cleared: the catalog is cut off from its callers. */
export const CATALOG_PARTITION: FaultRuleInput = {
  kind: 'grpc',
  target: 'catalog.v1.CatalogService/*',
  fault: { type: 'hang' },
  durationSeconds: 60,
};
/** The gateway's deadline for the order service (ORDER_DEADLINE_MS): a checkout answered later is a 504, outcome unknown. */
const GATEWAY_ORDER_DEADLINE_MS = 2_000;
const PAGE_READS = 8;
const CHECKOUT_TRIES = 3;
const PAGE_READS_WITHOUT_FALLBACK = 3;
const SAMPLES = 20;
/** What a refusal for want of the catalog says: the dependency failed, or the breaker in front of it is open. */
const REFUSAL_CODES = new Set(['SHOP_DEPENDENCY_UNAVAILABLE', 'SHOP_CIRCUIT_OPEN']);
/**
 * A read refused under the partition: a 503 once the gateway's breaker to the catalog is open, a
 * 504 while it still waits out each call's deadline — whether the breaker has opened by then
 * depends on how many failed calls its 10 s window still holds, not on the page's choice.
 */
const READ_REFUSALS = new Set([...REFUSAL_CODES, 'SHOP_TIMEOUT']);
const PAGE_ROUTE = '/api/v1/products/:id';

interface PageRead {
  status: number;
  ms: number;
  body: { name?: string; available?: number | null; degraded?: string[] } | null;
  etag: string | null;
  age: number | null;
  cacheControl: string | null;
}

/** GET /api/v1/products/{id} as the shopper, with the answer's caching headers. */
async function readPage(
  ctx: ExerciseContext,
  shopper: Shopper,
  id: string,
  headers: Record<string, string> = {},
): Promise<PageRead> {
  const started = performance.now();
  const res = await fetch(`${ctx.gatewayUrl}/api/v1/products/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${shopper.token}`, ...headers },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  const age = res.headers.get('age');
  return {
    status: res.status,
    ms,
    body: text ? JSON.parse(text) : null,
    etag: res.headers.get('etag'),
    age: age === null ? null : Number(age),
    cacheControl: res.headers.get('cache-control'),
  };
}

interface Refusal {
  status: number;
  code: string | null;
  detail: string | null;
  ms: number;
}

/** One checkout that is expected to be refused; what came back and how long it took. */
async function refusedCheckout(shopper: Shopper, key: string): Promise<Refusal> {
  const started = performance.now();
  try {
    const accepted = await shopper.checkout({ idempotencyKey: key });
    return { status: 202, code: `accepted as ${accepted.orderId}`, detail: null, ms: performance.now() - started };
  } catch (err) {
    const ms = performance.now() - started;
    if (!(err instanceof ApiError)) return { status: 0, code: null, detail: (err as Error).message, ms };
    return { status: err.status, code: err.problem?.code ?? null, detail: err.problem?.detail ?? null, ms };
  }
}

/** Checks out, retrying (same Idempotency-Key) while the catalog's breakers are still closing after the partition. */
async function checkoutWhenHealed(ctx: ExerciseContext, shopper: Shopper): Promise<string> {
  const key = `${ctx.runId}-healed`;
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    try {
      return (await shopper.checkout({ idempotencyKey: key })).orderId;
    } catch (err) {
      const code = err instanceof ApiError ? err.problem?.code : undefined;
      const retry = code !== undefined && (REFUSAL_CODES.has(code) || code === 'SHOP_BULKHEAD_FULL');
      if (!retry || Date.now() > giveUpAt) throw err;
      await ctx.sleep(1_000);
    }
  }
}

/** The product page's fallback on the gateway's cache (the before/after switch of this exercise). */
async function setFallback(ctx: ExerciseContext, fallback: boolean): Promise<void> {
  await ctx.admin.request('gateway', 'PUT', '/api/v1/admin/product-cache', { body: { fallback } });
}

function problemCode(read: PageRead): string | undefined {
  return (read.body as { code?: string } | null)?.code;
}

async function cacheCounters(ctx: ExerciseContext) {
  const page = await scrape(ctx.gatewayUrl);
  return {
    conditional: sumSamples(page, 'shop_http_conditional_requests_total', { route: PAGE_ROUTE }),
    notModified: sumSamples(page, 'shop_http_not_modified_total', { route: PAGE_ROUTE }),
    bytesSaved: sumSamples(page, 'shop_http_cache_bytes_saved_total', { route: PAGE_ROUTE }),
  };
}

const ms = (v: number) => `${Math.round(v)} ms`;

export const exercise13 = registerExercise({
  number: 13,
  slug: 'partition-cap-pacelc',
  title:
    'CAP and PACELC: the catalog cut off — pages stay available, checkout stays consistent; then latency or consistency',
  pattern: 'CAP, PACELC (availability vs consistency under partition, latency vs consistency else), HTTP caching',
  doc: 'docs/exercises/13-partition-cap-pacelc.md',
  checkout: {
    modes: 'orchestrated',
    why: "its checkout checks are the saga's calls to a catalog that hangs; the rest is about reads",
  },
  async run(ctx) {
    const product = await productInStock(ctx, 1);
    const [shopper] = await shoppersWithCart(ctx, 1, product.id);
    if (!shopper) throw new Error('no shopper was created');
    ctx.log(`product ${product.id} (${product.available} available); one shopper with 1 in the cart`);

    ctx.step('the product page through the gateway: an ETag, and a conditional GET');
    const countersBefore = await cacheCounters(ctx);
    const first = await readPage(ctx, shopper, product.id);
    const revalidated = first.etag
      ? await readPage(ctx, shopper, product.id, { 'if-none-match': first.etag })
      : undefined;
    const countersAfter = await cacheCounters(ctx);
    ctx.log(`200 ETag ${first.etag} Cache-Control "${first.cacheControl}" (${ms(first.ms)})`);
    ctx.log(`If-None-Match ${first.etag} → ${revalidated?.status ?? 'not sent'} (${ms(revalidated?.ms ?? 0)})`);

    ctx.step('partition: every catalog gRPC method held (chaos hang)');
    ctx.defer('clear the catalog partition', () => ctx.admin.chaosClear('catalog'));
    await ctx.admin.chaosSet('catalog', CATALOG_PARTITION);
    ctx.log(`PUT catalog :7082/admin/chaos grpc ${CATALOG_PARTITION.target} hang`);
    const stockBefore = await stockOf(ctx, product.id);
    const pages: PageRead[] = [];
    for (let i = 0; i < PAGE_READS; i++) pages.push(await readPage(ctx, shopper, product.id));
    ctx.log(
      `product page ×${PAGE_READS}: ${pages.map((p) => `${p.status}${p.body?.degraded ? ` degraded ${JSON.stringify(p.body.degraded)}` : ''}`).join(', ')}`,
    );
    ctx.log(`latency ${describeMs(pages.map((p) => p.ms))}; Age ${pages.map((p) => p.age ?? '-').join(', ')} s`);
    const refusals: Refusal[] = [];
    for (let i = 0; i < CHECKOUT_TRIES; i++) refusals.push(await refusedCheckout(shopper, `${ctx.runId}-cut-${i}`));
    for (const r of refusals) ctx.log(`checkout → ${r.status} ${r.code ?? ''} "${r.detail ?? ''}" in ${ms(r.ms)}`);
    ctx.log(
      'BEFORE, for contrast: the product page without its fallback (PUT /api/v1/admin/product-cache {"fallback":false})',
    );
    ctx.defer('let product pages fall back on the cache again', () => setFallback(ctx, true));
    await setFallback(ctx, false);
    const refusedPages: PageRead[] = [];
    for (let i = 0; i < PAGE_READS_WITHOUT_FALLBACK; i++) refusedPages.push(await readPage(ctx, shopper, product.id));
    await setFallback(ctx, true);
    ctx.log(
      `product page ×${PAGE_READS_WITHOUT_FALLBACK} without the fallback: ${refusedPages.map((p) => `${p.status} ${problemCode(p) ?? ''}`).join(', ')}; fallback on again`,
    );
    const list = await fetch(`${ctx.gatewayUrl}/api/v1/products?category=exercise&limit=5`, {
      headers: { authorization: `Bearer ${shopper.token}` },
      signal: AbortSignal.timeout(10_000),
    });
    ctx.log(`product list (not kept by the gateway) → ${list.status}`);
    await list.body?.cancel();
    const orders = await requestJson<{ items: unknown[] }>('GET', `${ctx.gatewayUrl}/api/v1/orders`, {
      token: shopper.token,
    });
    const stockDuring = await stockOf(ctx, product.id);
    ctx.log(`the shopper's orders: ${orders.items.length}; stock ${JSON.stringify(stockDuring)}`);

    ctx.step('heal the partition: live again');
    await ctx.admin.chaosClear('catalog');
    const healedAt = Date.now();
    let live: PageRead | undefined;
    let liveAfterSeconds = 0;
    while (Date.now() - healedAt < 30_000) {
      const read = await readPage(ctx, shopper, product.id);
      if (read.status === 200 && read.age === null && !read.body?.degraded) {
        live = read;
        liveAfterSeconds = (Date.now() - healedAt) / 1000;
        break;
      }
      await ctx.sleep(500);
    }
    ctx.log(
      live
        ? `live stock again ${liveAfterSeconds.toFixed(1)} s after the fault was cleared`
        : 'still not live after 30 s',
    );

    ctx.step(`no partition, the "else": ${SAMPLES} reads live against ${SAMPLES} from the gateway's memory`);
    const liveMs: number[] = [];
    const cachedMs: number[] = [];
    const cachedAges: (number | null)[] = [];
    const liveAges: (number | null)[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const l = await readPage(ctx, shopper, product.id);
      liveMs.push(l.ms);
      liveAges.push(l.age);
      const c = await readPage(ctx, shopper, product.id, { 'cache-control': 'max-stale' });
      cachedMs.push(c.ms);
      cachedAges.push(c.age);
    }
    ctx.log(`live (catalog asked): ${describeMs(liveMs)}`);
    ctx.log(`Cache-Control: max-stale (gateway's memory): ${describeMs(cachedMs)}`);

    ctx.step('how stale the memory is: one unit bought, read from memory and live');
    const remembered = await readPage(ctx, shopper, product.id);
    const rememberedAt = Date.now();
    const orderId = await checkoutWhenHealed(ctx, shopper);
    const expected = (remembered.body?.available ?? 0) - 1;
    let reserved = false;
    for (const until = Date.now() + 30_000; Date.now() < until; await ctx.sleep(200)) {
      if ((await stockOf(ctx, product.id)).available === expected) {
        reserved = true;
        break;
      }
    }
    const fromMemory = await readPage(ctx, shopper, product.id, { 'cache-control': 'max-stale' });
    const fromCatalog = await readPage(ctx, shopper, product.id);
    ctx.log(
      `memory: ${fromMemory.body?.available} available, Age ${fromMemory.age} s (remembered ${((Date.now() - rememberedAt) / 1000).toFixed(1)} s ago), ${ms(fromMemory.ms)}`,
    );
    ctx.log(`catalog: ${fromCatalog.body?.available} available, ${ms(fromCatalog.ms)}`);
    const [ended] = await waitAllEnded(ctx, [{ shopper, orderId, acceptedAt: Date.now() }], 60_000);
    ctx.log(`order ${orderId}: ${ended?.order.status}`);

    const saved = countersAfter.bytesSaved - countersBefore.bytesSaved;
    return [
      check(
        'the product page is cacheable: a strong ETag, and the same ETag back is a 304 with no body',
        first.status === 200 &&
          /^"[^"]+"$/.test(first.etag ?? '') &&
          (first.cacheControl ?? '').includes('max-age') &&
          revalidated?.status === 304 &&
          revalidated.body === null,
        `200 with ETag ${first.etag}, Cache-Control "${first.cacheControl}"; If-None-Match → ${revalidated?.status} with no body`,
        `the gateway's counters for product pages meanwhile (every client's): ${countersAfter.conditional - countersBefore.conditional} conditional, ` +
          `${countersAfter.notModified - countersBefore.notModified} answered 304, ${saved} bytes not sent`,
      ),
      check(
        "partitioned, the product page stays available: answered from the gateway's cache, marked degraded",
        pages.every(
          (p) =>
            p.status === 200 &&
            p.body?.name !== undefined &&
            p.body.available === null &&
            JSON.stringify(p.body.degraded) === '["stock"]' &&
            p.age !== null &&
            p.cacheControl === 'no-store',
        ),
        `${pages.filter((p) => p.status === 200).length} of ${PAGE_READS} answered 200, ` +
          `${pages.filter((p) => p.body?.degraded).length} degraded: ["stock"] with available null, Age ${pages.map((p) => p.age ?? '-').join('/')} s, Cache-Control "${pages[0]?.cacheControl}"`,
        `latency ${describeMs(pages.map((p) => p.ms))} (each waits out the gateway's 800 ms catalog deadline, or less once its breaker to the catalog opens)`,
      ),
      check(
        'switched off, the same page chooses consistency instead: refused like the list',
        refusedPages.every((p) => (p.status === 503 || p.status === 504) && READ_REFUSALS.has(problemCode(p) ?? '')),
        `without the fallback: ${refusedPages.map((p) => `${p.status} ${problemCode(p)} in ${ms(p.ms)}`).join(', ')}`,
        'the availability of the page is a choice the gateway makes, not a property of the network',
      ),
      check(
        'partitioned, checkout stays consistent: refused with a problem before the deadline, nothing ordered or reserved',
        refusals.every((r) => r.status === 503 && r.code !== null && REFUSAL_CODES.has(r.code)) &&
          refusals.every((r) => r.ms < GATEWAY_ORDER_DEADLINE_MS) &&
          orders.items.length === 0 &&
          stockDuring.available === stockBefore.available &&
          stockDuring.reserved === stockBefore.reserved,
        ...refusals.map((r) => `${r.status} ${r.code} "${r.detail}" in ${ms(r.ms)}`),
        `each answered before the gateway's ${GATEWAY_ORDER_DEADLINE_MS} ms order deadline (a 504 would leave the outcome unknown)`,
        `orders of the shopper: ${orders.items.length}; stock available ${stockBefore.available} → ${stockDuring.available}, reserved ${stockBefore.reserved} → ${stockDuring.reserved}`,
      ),
      check(
        'the partition healed, the page is live again',
        live !== undefined,
        live
          ? `live ${liveAfterSeconds.toFixed(1)} s after clearing: ${live.body?.available} available, no Age`
          : 'never live in 30 s',
      ),
      check(
        'else (no partition): the memory answers without the catalog and is stale by what was bought; live is current',
        cachedAges.every((a) => a !== null) &&
          liveAges.every((a) => a === null) &&
          reserved &&
          fromMemory.body?.available === remembered.body?.available &&
          fromMemory.age !== null &&
          fromCatalog.body?.available === expected &&
          ended?.order.status === 'CONFIRMED',
        `latency, live: ${describeMs(liveMs)}; from memory: ${describeMs(cachedMs)} ` +
          `(p50 ${ms(quantile(liveMs, 0.5) - quantile(cachedMs, 0.5))} saved per read; measured, not judged)`,
        `after one unit was reserved: memory says ${fromMemory.body?.available} (Age ${fromMemory.age} s), the catalog ${fromCatalog.body?.available}`,
        `every memory answer carried Age, no live one did; the order ${ended?.order.status}`,
      ),
    ];
  },
});
