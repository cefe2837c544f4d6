// What several exercises do: shoppers with a product in their cart, checkouts, waiting for
// orders to end, reading a counter from a /metrics page, and summarising measurements.
import { ApiError, type Card, type Order, type SagaStep, type Shopper, WaitTimeoutError } from '../api';
import { type ControlAction, type ControlTarget, runControl } from '../control';
import type { ExerciseContext } from './types';

/**
 * A product of the exercise's own, made for this run through the catalog's admin API with
 * `atLeast` units and a margin (docs/adr/0015-tests-own-their-data.md): an exercise never buys
 * from the seeded catalogue, so it runs the same whatever the shop has sold, and leaves the
 * products a user plays with alone. The name says which run made it.
 */
export async function productInStock(
  ctx: ExerciseContext,
  atLeast: number,
): Promise<{ id: string; available: number }> {
  const stock = ownStock(atLeast);
  const product = await ctx.admin.request<{ id: string; available: number }>('catalog', 'POST', '/v1/admin/products', {
    body: {
      name: `Exercise ${ctx.exercise.number} product (${ctx.runId})`,
      category: EXERCISE_CATEGORY,
      price: { amount: 1500, currency: 'USD' },
      stock,
    },
  });
  if (product.available !== stock) {
    throw new Error(`the catalog made product ${product.id} with ${product.available} units, not ${stock}`);
  }
  return { id: product.id, available: product.available };
}

/** The category of the exercises' own products (GET /api/v1/products?category=exercise lists them). */
export const EXERCISE_CATEGORY = 'exercise';

/** Units an exercise's product starts with: what it buys, twice over, and never fewer than 10. */
export function ownStock(atLeast: number): number {
  if (!Number.isInteger(atLeast) || atLeast < 0)
    throw new RangeError(`atLeast must be a whole number ≥ 0, not ${atLeast}`);
  return Math.max(10, 2 * atLeast);
}

/** `n` fresh shoppers (this run's own users), each with `quantity` of `productId` in the cart. */
export async function shoppersWithCart(
  ctx: ExerciseContext,
  n: number,
  productId: string,
  quantity = 1,
): Promise<Shopper[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const shopper = await ctx.shop.newShopper({ emailPrefix: ctx.runId, name: `exercise ${ctx.exercise.number}` });
      await shopper.addToCart(productId, quantity);
      return shopper;
    }),
  );
}

/** An order placed by an exercise: who placed it and when the gateway accepted it. */
export interface PlacedOrder {
  shopper: Shopper;
  orderId: string;
  acceptedAt: number;
}

/**
 * Every shopper checks out at once; resolves when all were accepted (202). As a client should, a
 * checkout the shop sheds (503 SHOP_BULKHEAD_FULL, docs/adr/0016-checkout-load-shedding.md) or
 * answers too late (504: the outcome is unknown) is sent again with the same Idempotency-Key
 * after the Retry-After it was given (1 s for a 504), for up to `patienceMs` (default 60 s).
 */
export async function checkoutAll(
  ctx: ExerciseContext,
  shoppers: Shopper[],
  options: { card?: Card; patienceMs?: number } = {},
): Promise<PlacedOrder[]> {
  return Promise.all(
    shoppers.map(async (shopper, i) => {
      const idempotencyKey = `${ctx.runId}-${i}-${Date.now()}`;
      const giveUpAt = Date.now() + (options.patienceMs ?? 60_000);
      for (;;) {
        try {
          const { orderId } = await shopper.checkout({
            idempotencyKey,
            ...(options.card ? { card: options.card } : {}),
          });
          return { shopper, orderId, acceptedAt: Date.now() };
        } catch (err) {
          const wait = retryAfterMs(err);
          if (wait === undefined || Date.now() + wait > giveUpAt) throw err;
          await ctx.sleep(wait);
        }
      }
    }),
  );
}

/** How long to wait before sending a refused checkout again, or undefined when it must not be. */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof ApiError)) return undefined;
  if (err.status === 504) return 1_000;
  if (err.status !== 503 || err.code !== 'SHOP_BULKHEAD_FULL') return undefined;
  const seconds = Number(err.problem?.retryAfterSeconds);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1_000;
}

/** An order that ended, with the time from acceptance to the moment it was seen final. */
export interface EndedOrder extends PlacedOrder {
  order: Order;
  secondsToEnd: number;
}

/**
 * Waits until every order is CONFIRMED or CANCELLED (polling each every `pollMs`), or throws
 * naming the ones still pending after `timeoutMs`.
 */
export async function waitAllEnded(
  ctx: ExerciseContext,
  placed: PlacedOrder[],
  timeoutMs: number,
  pollMs = 250,
): Promise<EndedOrder[]> {
  const deadline = Date.now() + timeoutMs;
  const ended = new Map<string, EndedOrder>();
  let lastSeen = new Map<string, string>();
  while (ended.size < placed.length) {
    const seen = new Map<string, string>();
    await Promise.all(
      placed
        .filter((p) => !ended.has(p.orderId))
        .map(async (p) => {
          try {
            const order = await p.shopper.getOrder(p.orderId);
            seen.set(p.orderId, order.status);
            if (order.status === 'CONFIRMED' || order.status === 'CANCELLED') {
              ended.set(p.orderId, { ...p, order, secondsToEnd: (Date.now() - p.acceptedAt) / 1000 });
            }
          } catch (err) {
            seen.set(p.orderId, `unreadable (${(err as Error).message.slice(0, 80)})`);
          }
        }),
    );
    lastSeen = seen;
    if (ended.size === placed.length) break;
    if (Date.now() > deadline) {
      const pending = placed.filter((p) => !ended.has(p.orderId));
      throw new WaitTimeoutError(
        `${pending.length} of ${placed.length} orders did not end within ${Math.round(timeoutMs / 1000)} s: ` +
          pending
            .slice(0, 3)
            .map((p) => `${p.orderId} (${lastSeen.get(p.orderId) ?? 'not read'})`)
            .join(', '),
      );
    }
    await ctx.sleep(pollMs);
  }
  return placed.map((p) => ended.get(p.orderId) as EndedOrder);
}

/** The timeline entries of one step (`authorize_payment`), with how long each attempt took. */
export function attemptsOf(order: Order, step: string): (SagaStep & { ms: number | null; code: string | null })[] {
  return order.timeline
    .filter((s) => s.step === step)
    .map((s) => ({
      ...s,
      ms: s.startedAt && s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : null,
      code: s.error ? (/^(SHOP_[A-Z_]+)/.exec(s.error)?.[1] ?? null) : null,
    }));
}

/** The value at quantile `q` (0–1) of `values` (nearest rank); NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** `p50 0.41 s, p95 0.80 s, max 0.93 s (n=12)` for durations in seconds. */
export function describeSeconds(values: number[]): string {
  if (values.length === 0) return 'none measured';
  const f = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} s`;
  return `p50 ${f(quantile(values, 0.5))}, p95 ${f(quantile(values, 0.95))}, max ${f(Math.max(...values))} (n=${values.length})`;
}

/** `p50 12 ms, p95 31 ms, max 803 ms (n=240)` for durations in milliseconds. */
export function describeMs(values: number[]): string {
  if (values.length === 0) return 'none measured';
  const f = (v: number) => `${Math.round(v)} ms`;
  return `p50 ${f(quantile(values, 0.5))}, p95 ${f(quantile(values, 0.95))}, max ${f(Math.max(...values))} (n=${values.length})`;
}

/** Counts of each value: `{CONFIRMED: 9, CANCELLED: 3}`. */
export function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** `CONFIRMED 9, CANCELLED 3`. */
export function describeTally(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

/**
 * The sum of every sample of `name` in a Prometheus text page whose labels include `labels`
 * (`{fault: 'latency'}`). Enough for the counters the exercises compare before and after.
 */
export function sumSamples(page: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      have.set(l[1] as string, l[2] as string);
    }
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}

/** A process's /metrics page (`baseUrl` is `http://host:port`). */
export async function scrape(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (res.status !== 200) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}`);
  return res.text();
}

/**
 * `shopctl stop|start|kill <target>` from inside an exercise (its script's lines go to the
 * exercise log); throws when the script fails. An order service started again is put back at
 * the run's checkout mode (ctx.orderStarted).
 */
export async function control(ctx: ExerciseContext, action: ControlAction, target: ControlTarget): Promise<void> {
  const lines: string[] = [];
  const keep = (text: string) => {
    for (const line of text.split('\n')) if (line.trim()) lines.push(line.trim());
  };
  const code = await runControl(action, [target], { env: ctx.env, out: keep, err: keep });
  for (const line of lines) ctx.log(line);
  if (code !== 0) throw new Error(`shopctl ${action} ${target} failed (exit status ${code})`);
  if (action === 'start' && target === 'order') await ctx.orderStarted();
}

/** One product's stock row from the catalog (`GET /v1/admin/stock`). */
export async function stockOf(
  ctx: ExerciseContext,
  productId: string,
): Promise<{ available: number; reserved: number; sold: number }> {
  const stock = await ctx.admin.request<{
    products: { id: string; available: number; reserved: number; sold: number }[];
  }>('catalog', 'GET', '/v1/admin/stock');
  const row = stock.products.find((p) => p.id === productId);
  if (!row) throw new Error(`the catalog has no stock row for ${productId}`);
  return { available: row.available, reserved: row.reserved, sold: row.sold };
}

/** The catalog's reservation of an order (RESERVED, COMMITTED, RELEASED, …), or null when it has none. */
export async function reservationOf(ctx: ExerciseContext, orderId: string): Promise<string | null> {
  try {
    const r = await ctx.admin.request<{ status: string }>(
      'catalog',
      'GET',
      `/v1/admin/reservations/${encodeURIComponent(orderId)}`,
    );
    return r.status;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw err;
  }
}

/** What the payment service holds for each order (`GET /v1/admin/payments/summary`); absent = never authorized. */
export async function paymentsByOrder(
  ctx: ExerciseContext,
  orderIds: string[],
): Promise<Map<string, { captured: number; refunded: number; captureCount: number; payments: number }>> {
  const summary = await ctx.admin.request<{
    orders: { orderId: string; captured: number; refunded: number; captureCount: number; paymentIds: string[] }[];
  }>('payment', 'GET', '/v1/admin/payments/summary');
  const wanted = new Set(orderIds);
  const out = new Map<string, { captured: number; refunded: number; captureCount: number; payments: number }>();
  for (const o of summary.orders) {
    if (!wanted.has(o.orderId)) continue;
    const sum = out.get(o.orderId) ?? { captured: 0, refunded: 0, captureCount: 0, payments: 0 };
    sum.captured += o.captured;
    sum.refunded += o.refunded;
    sum.captureCount += o.captureCount;
    sum.payments += o.paymentIds.length;
    out.set(o.orderId, sum);
  }
  return out;
}
