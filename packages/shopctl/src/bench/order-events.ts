// `shopctl order-events`: what following an order costs, polling vs streaming
// (docs/patterns/streaming.md). For each mode of the gateway's order events (PUT
// /api/v1/admin/order-events) it places orders whose payment step is slowed, follows each on
// its Server-Sent Events until it ends, and reports the gateway's calls to order per followed
// order and how late each saga change reached the browser. A measurement, not a test: it
// prints numbers and judges nothing.
import { randomUUID } from 'node:crypto';
import { messageOf, resolveAdminToken, type Shopper } from '../api';
import { type CliIo, parseDuration, parseOptions, UsageError } from '../command';
import { shopTarget } from '../exercises/command';
import { describeMs, quantile, retryAfterMs, scrape, sumSamples } from '../exercises/support';
import type { ShopTarget } from '../exercises/types';

export const ORDER_EVENTS_USAGE = `usage: shopctl order-events [--orders 10] [--payment-latency 1500ms] [--json]
  Follows --orders orders on GET /api/v1/orders/{id}/events with the gateway polling order every
  500 ms, then with order's WatchOrder stream, with payment's Authorize slowed by
  --payment-latency so each order stays PENDING a while. Prints, per mode, the gateway's calls
  to order per followed order (GetOrder reads, WatchOrder streams) and the delay from each saga
  change (its timeline time) to its event at the client. Leaves the mode as it found it.`;

export type OrderEventsMode = 'polling' | 'streaming';

export interface ModeFigures {
  mode: OrderEventsMode;
  orders: number;
  getOrderPerOrder: number;
  watchesPerOrder: number;
  /** Delay from a timeline change to its SSE event, ms. */
  delaysMs: number[];
  /** Per order: delay of the first change after the stream opened, ms. */
  firstUpdateMs: number[];
}

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
  receivedAt: number;
}

/** Reads an SSE stream until it ends (the order ended) or `signal` aborts. */
async function follow(url: string, token: string, signal: AbortSignal): Promise<SseEvent[]> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET ${url} answered ${res.status}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    const now = Date.now();
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = '';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown>, receivedAt: now });
      end = buffer.indexOf('\n\n');
    }
  }
  return events;
}

/** When an entry of the timeline happened: its end, or its start while it runs. */
function changedAt(step: Record<string, unknown>): number {
  const at = (step.finishedAt as string | null) || (step.startedAt as string | null);
  return at ? Date.parse(at) : Number.NaN;
}

async function orderCalls(target: ShopTarget): Promise<{ getOrder: number; watches: number }> {
  const page = await scrape(target.gatewayUrl);
  return {
    getOrder: sumSamples(page, 'shop_grpc_client_handling_seconds_count', { target: 'order', method: 'GetOrder' }),
    watches: sumSamples(page, 'shop_gateway_order_watches_total'),
  };
}

/** Places `orders` orders and follows each to its end in `mode`. */
export async function measureMode(
  target: ShopTarget,
  mode: OrderEventsMode,
  options: { orders: number; productId: string; signal: AbortSignal },
): Promise<ModeFigures> {
  await target.admin.request('gateway', 'PUT', '/api/v1/admin/order-events', { body: { mode } });
  // One at a time: registration hashes a password, and a busy machine would time out a burst.
  const shoppers: Shopper[] = [];
  for (let i = 0; i < options.orders; i++) {
    const shopper = await target.shop.newShopper({ emailPrefix: 'order-events', name: 'order events bench' });
    await shopper.addToCart(options.productId, 1);
    shoppers.push(shopper);
  }
  const before = await orderCalls(target);
  const runs = await Promise.all(
    shoppers.map(async (shopper) => {
      const idempotencyKey = `order-events-${randomUUID()}`;
      let orderId: string;
      for (;;) {
        try {
          ({ orderId } = await shopper.checkout({ idempotencyKey }));
          break;
        } catch (err) {
          // Shed (503) or answered late (504): again with the same key, as a client should.
          const wait = retryAfterMs(err);
          if (wait === undefined || options.signal.aborted) throw err;
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
      const openedAt = Date.now();
      const events = await follow(
        `${shopper.api.baseUrl}/orders/${encodeURIComponent(orderId)}/events`,
        shopper.token,
        AbortSignal.any([options.signal, AbortSignal.timeout(60_000)]),
      );
      return { openedAt, events };
    }),
  );
  const after = await orderCalls(target);
  const delaysMs: number[] = [];
  const firstUpdateMs: number[] = [];
  for (const { openedAt, events } of runs) {
    let first = true;
    for (const e of events) {
      if (e.event !== 'step') continue;
      const at = changedAt(e.data);
      // Only changes made while the stream was open: the first answer's history is no update.
      if (!Number.isFinite(at) || at < openedAt) continue;
      const delay = Math.max(0, e.receivedAt - at);
      delaysMs.push(delay);
      if (first) firstUpdateMs.push(delay);
      first = false;
    }
  }
  return {
    mode,
    orders: options.orders,
    getOrderPerOrder: (after.getOrder - before.getOrder) / options.orders,
    watchesPerOrder: (after.watches - before.watches) / options.orders,
    delaysMs,
    firstUpdateMs,
  };
}

export function describeFigures(f: ModeFigures): string {
  return (
    `${f.mode.padEnd(9)} ${f.orders} orders: ${f.getOrderPerOrder.toFixed(1)} GetOrder + ${f.watchesPerOrder.toFixed(1)} WatchOrder calls per followed order; ` +
    `first update ${describeMs(f.firstUpdateMs)}; every change ${describeMs(f.delaysMs)}`
  );
}

export async function orderEventsCommand(argv: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  let orders = 10;
  let latencyMs = 1_500;
  let json = false;
  try {
    const { values, flags, positional } = parseOptions(argv, {
      valued: ['orders', 'payment-latency'],
      flags: ['json', 'help'],
    });
    if (flags.has('help')) {
      io.out(`${ORDER_EVENTS_USAGE}\n`);
      return 0;
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
    if (values.orders !== undefined) orders = Number(values.orders);
    if (!Number.isInteger(orders) || orders < 1 || orders > 200) throw new UsageError('--orders must be 1…200');
    if (values['payment-latency'] !== undefined)
      latencyMs = parseDuration(values['payment-latency'], '--payment-latency');
    json = flags.has('json');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`shopctl order-events: ${err.message}\n${ORDER_EVENTS_USAGE}\n`);
    return 2;
  }
  const token = resolveAdminToken(undefined, io.env);
  if (!token) {
    io.err('shopctl order-events: no admin token (set ADMIN_TOKEN or start the local stack)\n');
    return 2;
  }
  const target = shopTarget(io.env, token);
  const { mode: was } = await target.admin.request<{ mode: OrderEventsMode }>(
    'gateway',
    'GET',
    '/api/v1/admin/order-events',
  );
  const results: ModeFigures[] = [];
  try {
    const product = await target.admin.request<{ id: string }>('catalog', 'POST', '/v1/admin/products', {
      body: {
        name: `order events bench product (${randomUUID().slice(0, 8)})`,
        category: 'exercise',
        price: { amount: 1500, currency: 'USD' },
        stock: 4 * orders,
      },
    });
    await target.admin.chaosSet('payment', {
      kind: 'grpc',
      target: 'payment.v1.PaymentService/Authorize',
      fault: { type: 'latency', ms: latencyMs },
      durationSeconds: 120,
    });
    for (const mode of ['polling', 'streaming'] as const) {
      const figures = await measureMode(target, mode, { orders, productId: product.id, signal });
      results.push(figures);
      if (!json) io.out(`${describeFigures(figures)}\n`);
    }
  } catch (err) {
    io.err(`shopctl order-events: ${messageOf(err)}\n`);
    return 1;
  } finally {
    await target.admin.chaosClear('payment').catch(() => undefined);
    await target.admin
      .request('gateway', 'PUT', '/api/v1/admin/order-events', { body: { mode: was } })
      .catch(() => undefined);
  }
  if (json) {
    io.out(
      `${JSON.stringify(
        results.map((r) => ({
          ...r,
          firstUpdateP50Ms: quantile(r.firstUpdateMs, 0.5),
          changeP50Ms: quantile(r.delaysMs, 0.5),
          changeP95Ms: quantile(r.delaysMs, 0.95),
        })),
        null,
        2,
      )}\n`,
    );
  }
  return 0;
}
