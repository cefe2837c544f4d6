// The bench's figures P1–P4 and P6 (docs/benchmarks.md), each measured side by side with its
// baseline in the same run: the machines this runs on are shared and noisy, so an absolute time
// only means something beside the thing it is compared with.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { cartV1, orderV1, userV1 } from '@shoplab/contracts';
import { ApiError, type Order, requestJson, shoplabStateDir, TEST_CARDS } from '../api';
import { callMetadata, unary } from '../grpc-call';
import { errorKind } from '../load';
import { type CpuAccount, clockTicksPerSecond, cpuAccount, shopProcessRoots, takeCpuSnapshot } from './cpu';
import {
  closedLoopThroughput,
  histogramBuckets,
  Latencies,
  proportionalMb,
  quantileBetween,
  residentMb,
  timed,
} from './measure';

/** Where the bench sends its requests. */
export interface BenchTarget {
  /** A gateway of the bench's own (scripts/bench.sh starts one with the rate limit raised), no trailing slash. */
  gatewayUrl: string;
  /** `http://127.0.0.1:8082` … of each backing service (their REST, /metrics). */
  serviceUrl: (service: 'user' | 'catalog' | 'cart' | 'payment' | 'order') => string;
  /** `http://127.0.0.1:7082` … of each backing service's admin listener (its admin APIs). */
  adminUrl: (service: 'user' | 'catalog' | 'cart' | 'payment' | 'order') => string;
  /** `127.0.0.1:9081` … of the services the gateway calls over gRPC. */
  grpcAddress: (service: 'user' | 'cart' | 'order') => string;
  adminToken: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

interface BenchShopper {
  userId: string;
  token: string;
}

const api = (target: BenchTarget, path: string) => `${target.gatewayUrl}/api/v1${path}`;

/** A product of the bench's own (docs/adr/0015-tests-own-their-data.md), with `stock` units. */
export async function benchProduct(target: BenchTarget, runId: string, stock: number): Promise<string> {
  const product = await requestJson<{ id: string }>('POST', `${target.adminUrl('catalog')}/v1/admin/products`, {
    token: target.adminToken,
    body: { name: `Bench product (${runId})`, category: 'bench', price: { amount: 1500, currency: 'USD' }, stock },
  });
  return product.id;
}

/**
 * A preparation call (not measured): answered 5xx or not at all, it is tried again, up to 5
 * times — on a busy machine the bench should measure, not give up while setting up.
 */
async function preparing<T>(target: BenchTarget, what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const retriable = !(err instanceof ApiError) || err.status >= 500;
      if (!retriable || attempt >= 5) throw err;
      target.log(`${what} failed (${errorKind(err)}); trying again`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/**
 * Registers `count` shoppers (one password hash each: the token comes with the registration),
 * 4 at a time: a password hash is meant to be slow, and more at once only queue at the user
 * service. A registration answered 5xx or not at all is tried again, up to 5 times.
 */
export async function registerShoppers(target: BenchTarget, runId: string, count: number): Promise<BenchShopper[]> {
  const shoppers: BenchShopper[] = [];
  let next = 0;
  const register = () =>
    preparing(target, 'registering a shopper', async () => {
      const registered = await requestJson<{ user: { id: string }; token: string }>(
        'POST',
        api(target, '/auth/register'),
        {
          body: {
            email: `bench-${runId}-${randomUUID()}@example.com`,
            password: `pw-${randomUUID()}`,
            name: 'Bench shopper',
          },
        },
      );
      return { userId: registered.user.id, token: registered.token };
    });
  await Promise.all(
    Array.from({ length: Math.min(4, count) }, async () => {
      while (next < count) {
        next++;
        shoppers.push(await register());
      }
    }),
  );
  return shoppers;
}

/** Puts one unit of `productId` in each shopper's cart, 16 at a time (each call `preparing`). */
async function fillCarts(target: BenchTarget, shoppers: readonly BenchShopper[], productId: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(16, shoppers.length) }, async () => {
      while (next < shoppers.length) {
        const shopper = shoppers[next++] as BenchShopper;
        await preparing(target, 'filling a cart', () =>
          requestJson('POST', api(target, '/cart/items'), { token: shopper.token, body: { productId, quantity: 1 } }),
        );
      }
    }),
  );
}

// -----------------------------------------------------------------------------------------------
// P1: a composed read ÷ the slowest downstream it calls, measured directly

export interface ComposedReadFigure {
  samples: number;
  gatewayP50Ms: number;
  downstreamP50Ms: Record<'user' | 'order' | 'cart', number>;
  /**
   * The three calls sent at once, straight to their services, without the gateway: what the
   * fan-out alone costs on this machine (three processes answering at once share its cores).
   * `gatewayP50Ms ÷` this is what the gateway adds.
   */
  parallelP50Ms: number;
  /** gateway p50 ÷ the slowest downstream's p50; goal ≤ 1.3. */
  ratio: number;
}

/** The headers the gateway sends with its calls for a user: its credential and the user's token (../grpc-call.ts). */
function asGatewayFor(target: string, userToken: string, env: NodeJS.ProcessEnv): Promise<grpc.Metadata> {
  return callMetadata('gateway', target, env, userToken);
}

/**
 * The gateway's `/me` (profile + last orders + cart, asked for in parallel) at concurrency 1,
 * interleaved with the three gRPC calls it makes, each sent straight to its service.
 */
export async function composedRead(
  target: BenchTarget,
  shopper: BenchShopper,
  samples: number,
): Promise<ComposedReadFigure> {
  const credentials = grpc.credentials.createInsecure();
  const user = new userV1.UserServiceClient(target.grpcAddress('user'), credentials);
  const order = new orderV1.OrderServiceClient(target.grpcAddress('order'), credentials);
  const cart = new cartV1.CartServiceClient(target.grpcAddress('cart'), credentials);
  const md = {
    user: await asGatewayFor('user', shopper.token, target.env),
    order: await asGatewayFor('order', shopper.token, target.env),
    cart: await asGatewayFor('cart', shopper.token, target.env),
  };
  const calls = {
    gateway: () => requestJson('GET', api(target, '/me'), { token: shopper.token }),
    user: () => unary(user, user.getUser, { id: shopper.userId }, md.user),
    order: () => unary(order, order.listOrders, { userId: shopper.userId, limit: 5, cursor: '' }, md.order),
    cart: () =>
      unary(cart, cart.getCart, { userId: shopper.userId }, md.cart).catch((err: grpc.ServiceError) => {
        if (err.code !== grpc.status.NOT_FOUND) throw err; // no cart yet is an answer too
      }),
    parallel: () => Promise.all([calls.user(), calls.order(), calls.cart()]),
  };
  const latencies = {
    gateway: new Latencies(),
    user: new Latencies(),
    order: new Latencies(),
    cart: new Latencies(),
    parallel: new Latencies(),
  };
  try {
    // A call that finds its service restarting (another session's work on a shared machine) is
    // not a sample: it is made again a second later, up to 10 times in the whole figure.
    let retakes = 0;
    const sample = async (name: string, call: () => Promise<unknown>): Promise<number> => {
      for (;;) {
        try {
          return await timed(call);
        } catch (err) {
          const restarting =
            (err as grpc.ServiceError).code === grpc.status.UNAVAILABLE ||
            (err instanceof ApiError && err.status >= 500);
          if (!restarting || retakes++ >= 10) throw err;
          target.log(`P1: ${name} failed (${errorKind(err)}); taking the sample again`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    // Warm up: connections, JIT, the services' caches.
    for (let i = 0; i < 20; i++) for (const [name, call] of Object.entries(calls)) await sample(name, call);
    for (let i = 0; i < samples; i++) {
      for (const [name, call] of Object.entries(calls) as [keyof typeof calls, () => Promise<unknown>][]) {
        latencies[name].record(await sample(name, call));
      }
    }
  } finally {
    user.close();
    order.close();
    cart.close();
  }
  const downstreamP50Ms = {
    user: latencies.user.percentile(50),
    order: latencies.order.percentile(50),
    cart: latencies.cart.percentile(50),
  };
  const gatewayP50Ms = latencies.gateway.percentile(50);
  return {
    samples,
    gatewayP50Ms,
    downstreamP50Ms,
    parallelP50Ms: latencies.parallel.percentile(50),
    ratio: gatewayP50Ms / Math.max(...Object.values(downstreamP50Ms)),
  };
}

// -----------------------------------------------------------------------------------------------
// P3 + P4 + P6 under load: the highest sustained checkout rate

export interface CheckoutStep {
  rate: number;
  seconds: number;
  sent: number;
  accepted: number;
  /** Non-202 answers and failures by kind (`503 SHOP_BULKHEAD_FULL`, `timeout`). */
  errors: Record<string, number>;
  checkoutMs: ReturnType<Latencies['summary']>;
  /** The order's creation → the saga's `confirm` step finishing, from the order's own timeline. */
  toConfirmedMs: ReturnType<Latencies['summary']>;
  notConfirmed: number;
  /** Outbox commit → Kafka publish, every service's relay, as the upper bound of the histogram bucket; null when nothing was published. */
  publishLagP99Ms: number | null;
  /** Highest resident memory of each service seen during the step, MB. */
  residentMb: Record<string, number | null>;
  /** Highest proportional resident memory (Pss: shared pages counted once across processes) of each service during the step, MB. */
  proportionalMb?: Record<string, number | null>;
  /**
   * CPU of every process of the shop and of the bench from the first checkout sent until every
   * order ended, per accepted checkout, and the rate it allows on this machine (cpu.ts); null
   * where /proc cannot tell or nothing was accepted.
   */
  cpu: CpuAccount | null;
  /** POST /checkout p99 ≤ 300 ms, checkout→CONFIRMED p99 ≤ 2 s, no error. */
  sustained: boolean;
}

const SERVICES = ['user', 'catalog', 'cart', 'payment', 'order'] as const;
/** How long each P3 step first measures the shop at rest (cpu.ts, IdleAccount). */
const IDLE_MEASURE_MS = 3000;

/**
 * Memory of each service of the local stack now, from its pid file (`gateway`: the bench's own
 * when given): resident (VmRSS) by default, or what `read` reads (proportionalMb).
 */
export async function serviceMemory(
  target: BenchTarget,
  benchGatewayPid?: number,
  read: (pid: number) => Promise<number | null> = residentMb,
): Promise<Record<string, number | null>> {
  const memory: Record<string, number | null> = {};
  for (const service of ['gateway', ...SERVICES]) {
    let pid: number | undefined = service === 'gateway' ? benchGatewayPid : undefined;
    if (pid === undefined) {
      const text = await readFile(join(shoplabStateDir(target.env), 'run', `${service}.pid`), 'utf8').catch(() => '');
      pid = Number.parseInt(text.trim(), 10);
    }
    memory[service] = Number.isFinite(pid) ? await read(pid) : null;
  }
  return memory;
}

async function publishLagBuckets(target: BenchTarget): Promise<Map<number, number>> {
  const total = new Map<number, number>();
  for (const service of SERVICES) {
    const page = await fetch(`${target.serviceUrl(service)}/metrics`).then((r) => r.text());
    for (const [bound, value] of histogramBuckets(page, 'shop_outbox_publish_lag_seconds')) {
      total.set(bound, (total.get(bound) ?? 0) + value);
    }
  }
  return total;
}

/**
 * One step: `rate` checkouts a second for `seconds`, open loop (arrival i is due at i/rate
 * whatever the answers do), each by a shopper whose cart holds one unit of the bench's product.
 * Then every order is read until it ended, for the time to CONFIRMED.
 */
export async function checkoutStep(
  target: BenchTarget,
  shoppers: readonly BenchShopper[],
  productId: string,
  rate: number,
  seconds: number,
  benchGatewayPid?: number,
): Promise<CheckoutStep> {
  const count = Math.round(rate * seconds);
  if (shoppers.length < count) throw new Error(`the step needs ${count} shoppers, ${shoppers.length} given`);
  const buyers = shoppers.slice(0, count);
  await fillCarts(target, buyers, productId);
  const lagBefore = await publishLagBuckets(target);
  const memory: Record<string, number | null> = {};
  const shared: Record<string, number | null> = {};
  const sampleMemory = async () => {
    for (const [into, read] of [
      [memory, residentMb],
      [shared, proportionalMb],
    ] as const) {
      for (const [service, mb] of Object.entries(await serviceMemory(target, benchGatewayPid, read))) {
        into[service] = Math.max(into[service] ?? 0, mb ?? 0) || null;
      }
    }
  };
  const memoryTimer = setInterval(() => void sampleMemory(), 1000);
  const cpuRoots = await shopProcessRoots(join(shoplabStateDir(target.env), 'run'), benchGatewayPid);
  // The shop at rest just before the step (after a second for the carts' own events to settle):
  // what its processes spend with no checkout, so that the accounting can tell what one adds.
  await new Promise((r) => setTimeout(r, 1000));
  const idleBefore = await takeCpuSnapshot(cpuRoots);
  const idleStarted = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_MEASURE_MS));
  const cpuBefore = await takeCpuSnapshot(cpuRoots);
  const idle =
    idleBefore && cpuBefore
      ? { before: idleBefore, after: cpuBefore, seconds: (performance.now() - idleStarted) / 1000 }
      : undefined;

  const checkoutMs = new Latencies();
  const errors: Record<string, number> = {};
  const orders: { shopper: BenchShopper; orderId: string }[] = [];
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const shopper = buyers[i] as BenchShopper;
      inFlight.push(
        (async () => {
          const t0 = performance.now();
          try {
            const accepted = await requestJson<{ orderId: string }>('POST', api(target, '/checkout'), {
              token: shopper.token,
              headers: { 'idempotency-key': `bench-${randomUUID()}` },
              body: { card: TEST_CARDS.ok },
              timeoutMs: 10_000,
            });
            checkoutMs.record(performance.now() - t0);
            orders.push({ shopper, orderId: accepted.orderId });
          } catch (err) {
            const kind = errorKind(err);
            errors[kind] = (errors[kind] ?? 0) + 1;
          }
        })(),
      );
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(memoryTimer);
  }
  await sampleMemory();

  const toConfirmedMs = new Latencies();
  let notConfirmed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(16, orders.length) }, async () => {
      while (next < orders.length) {
        const { shopper, orderId } = orders[next++] as (typeof orders)[number];
        const order = await waitEnded(target, shopper, orderId);
        const confirmedAt = order?.timeline.find((s) => s.step === 'confirm' && s.outcome === 'SUCCEEDED')?.finishedAt;
        if (order?.status === 'CONFIRMED' && confirmedAt) {
          toConfirmedMs.record(Date.parse(confirmedAt) - Date.parse(order.createdAt));
        } else notConfirmed++;
      }
    }),
  );
  // Every order ended: the work the step's checkouts caused is done (the reads above included).
  const cpuAfter = await takeCpuSnapshot(cpuRoots);
  const measuredSeconds = (performance.now() - started) / 1000;
  const lag = quantileBetween(lagBefore, await publishLagBuckets(target), 0.99);
  const checkout = checkoutMs.summary();
  const confirmed = toConfirmedMs.summary();
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    rate,
    seconds,
    sent: count,
    accepted: orders.length,
    errors,
    checkoutMs: checkout,
    toConfirmedMs: confirmed,
    notConfirmed,
    publishLagP99Ms: lag ? lag.upperBound * 1000 : null,
    residentMb: memory,
    proportionalMb: shared,
    cpu:
      cpuBefore && cpuAfter
        ? cpuAccount(cpuBefore, cpuAfter, {
            checkouts: orders.length,
            seconds: measuredSeconds,
            cores: availableParallelism(),
            ticksPerSecond: clockTicksPerSecond(),
            idle,
          })
        : null,
    sustained: errorCount === 0 && notConfirmed === 0 && checkout.p99 <= 300 && confirmed.p99 <= 2_000,
  };
}

async function waitEnded(target: BenchTarget, shopper: BenchShopper, orderId: string): Promise<Order | undefined> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const order = await requestJson<Order>('GET', api(target, `/orders/${orderId}`), { token: shopper.token }).catch(
      () => undefined,
    );
    if (order && (order.status === 'CONFIRMED' || order.status === 'CANCELLED')) return order;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

// -----------------------------------------------------------------------------------------------
// P2: the gateway's product page ÷ catalog's own, same page, same connections

export interface ListThroughputFigure {
  connections: number;
  seconds: number;
  gatewayRps: number;
  catalogRps: number;
  gatewayErrors: number;
  catalogErrors: number;
  /** gateway ÷ catalog; goal ≥ 0.5. */
  ratio: number;
}

/**
 * `GET /products?limit=20` through the gateway and straight from catalog, each in a closed loop
 * of `connections` for `seconds`, alternated twice (catalog, gateway, catalog, gateway) so a
 * noisy neighbour weighs on both alike; the rates are the means.
 */
export async function listThroughput(
  target: BenchTarget,
  connections: number,
  seconds: number,
): Promise<ListThroughputFigure> {
  const gateway = new URL(target.gatewayUrl);
  const catalog = new URL(target.serviceUrl('catalog'));
  const runs = { gateway: [] as number[], catalog: [] as number[] };
  let gatewayErrors = 0;
  let catalogErrors = 0;
  // Warm up both paths.
  await closedLoopThroughput(catalog.origin, '/v1/products?limit=20', { connections, durationMs: 1000 });
  await closedLoopThroughput(gateway.origin, '/api/v1/products?limit=20', { connections, durationMs: 1000 });
  for (let round = 0; round < 2; round++) {
    const direct = await closedLoopThroughput(catalog.origin, '/v1/products?limit=20', {
      connections,
      durationMs: (seconds * 1000) / 2,
    });
    runs.catalog.push(direct.rps);
    catalogErrors += direct.errors;
    const composed = await closedLoopThroughput(gateway.origin, '/api/v1/products?limit=20', {
      connections,
      durationMs: (seconds * 1000) / 2,
    });
    runs.gateway.push(composed.rps);
    gatewayErrors += composed.errors;
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const gatewayRps = mean(runs.gateway);
  const catalogRps = mean(runs.catalog);
  return { connections, seconds, gatewayRps, catalogRps, gatewayErrors, catalogErrors, ratio: gatewayRps / catalogRps };
}
