// `shopctl load`: an open-loop load generator for the shopper's path through the gateway.
//
// Open loop: arrival i is due at start + i/rate, whatever the responses do. A slow shop does
// not slow the arrivals down (a closed loop would, and so hide the latency it causes —
// "coordinated omission"); instead requests pile up in flight, and past `maxInFlight` an
// arrival is dropped and counted. Each arrival is one operation drawn from the mix:
//   browse   product list, text search or product detail (signed in: the gateway's rate
//            limit then counts per user, not per address)
//   cart     add an in-stock product to a user's cart (only the `products` given, when some are:
//            a test brings its own and never buys up the catalogue a user plays with)
//   checkout check out a user's cart with a test card (a user whose cart is empty first
//            gets an item, recorded as a cart operation)
// Latencies go into HdrHistograms (microseconds, 3 significant digits).
import * as hdr from 'hdr-histogram-js';
import {
  ApiError,
  ApiUnreachableError,
  type Card,
  messageOf,
  type Product,
  ShopApi,
  type Shopper,
  TEST_CARDS,
} from './api';
import { type CliIo, formatDuration, formatTable, parseDuration, parseOptions, UsageError } from './command';

export const OPERATIONS = ['browse', 'cart', 'checkout'] as const;
export type Operation = (typeof OPERATIONS)[number];
/** Relative weights of the operations; `browse=10,cart=3,checkout=1` by default. */
export type Mix = Record<Operation, number>;

export const DEFAULT_MIX: Mix = { browse: 10, cart: 3, checkout: 1 };

export interface LoadOptions {
  /** Arrivals per second. */
  rate: number;
  durationMs: number;
  /** Users registered before the load starts, each arrival acting as one of them (default 20). */
  users?: number;
  mix?: Mix;
  /** Requests in flight at most; an arrival beyond it is dropped (default max(50, 10 × rate)). */
  maxInFlight?: number;
  /** Deadline per request (default 10 s). */
  requestTimeoutMs?: number;
  card?: Card;
  /**
   * Product ids the cart operations add (and so checkouts buy); default: any in-stock product
   * the run has seen. Browsing still reads the whole catalogue.
   */
  products?: string[];
  /** Addresses (SHOPLAB_GATEWAY_URL). */
  env?: NodeJS.ProcessEnv;
  /** Progress snapshots every `progressEveryMs` (default 1 s). */
  onProgress?: (progress: LoadProgress) => void;
  progressEveryMs?: number;
  /** Ends the load early (the summary covers what ran). */
  signal?: AbortSignal;
}

export interface LoadProgress {
  elapsedMs: number;
  /** Arrivals sent (dropped ones excluded). */
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  inFlight: number;
  /** Responses per second since the previous snapshot. */
  currentRps: number;
  /** p95 latency (ms) of the responses since the previous snapshot; null when there were none. */
  recentP95Ms: number | null;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface OperationSummary {
  /** Requests completed (ok + errors). */
  count: number;
  ok: number;
  /** Failures by kind: `409 SHOP_OUT_OF_STOCK`, `503 SHOP_CHAOS_INJECTED`, `timeout`, `unreachable`. */
  errors: Record<string, number>;
  /** Completed requests per second over the run. */
  throughput: number;
  /** Of every completed request, in ms; null when none completed. */
  latencyMs: LatencySummary | null;
}

export interface LoadSummary {
  startedAt: string;
  /** Wall time of the run, in-flight requests drained included. */
  elapsedMs: number;
  rate: number;
  durationMs: number;
  users: number;
  mix: Mix;
  maxInFlight: number;
  /** Arrivals due by the clock; sent + dropped. */
  scheduled: number;
  sent: number;
  dropped: number;
  ok: number;
  errors: number;
  operations: Record<Operation, OperationSummary>;
  /** Orders accepted by checkout (202), in order. */
  orderIds: string[];
  /** True when `signal` ended the run early. */
  aborted: boolean;
}

// ---------------------------------------------------------------------------------------------
// Pure parts: mix, schedule, recorder

/** `browse=10,cart=3,checkout=1` (any subset; missing operations weigh 0) → a Mix. */
export function parseMix(text: string): Mix {
  const mix: Mix = { browse: 0, cart: 0, checkout: 0 };
  for (const part of text.split(',')) {
    const [name, weight, ...rest] = part.split('=').map((s) => s.trim());
    if (!(OPERATIONS as readonly string[]).includes(name ?? '') || weight === undefined || rest.length > 0) {
      throw new UsageError(`--mix '${part}' is not <operation>=<weight> (operations: ${OPERATIONS.join(', ')})`);
    }
    const w = Number(weight);
    if (!Number.isFinite(w) || w < 0 || weight === '') throw new UsageError(`--mix weight '${weight}' must be ≥ 0`);
    mix[name as Operation] = w;
  }
  if (OPERATIONS.every((op) => mix[op] === 0)) throw new UsageError('--mix needs a weight above 0');
  return mix;
}

/** The operation for a uniform random number in [0, 1), by the mix's weights. */
export function pickOperation(mix: Mix, random: number): Operation {
  const total = OPERATIONS.reduce((sum, op) => sum + mix[op], 0);
  let point = random * total;
  for (const op of OPERATIONS) {
    if (point < mix[op]) return op;
    point -= mix[op];
  }
  return OPERATIONS.filter((op) => mix[op] > 0).at(-1) as Operation;
}

/** How many arrivals are due `elapsedMs` after the start at `rate`/s within `durationMs`: arrival i is due at i/rate. */
export function arrivalsDue(elapsedMs: number, rate: number, durationMs: number): number {
  if (elapsedMs < 0) return 0;
  const total = Math.ceil((durationMs * rate) / 1000 - 1e-9);
  return Math.min(total, Math.floor((elapsedMs * rate) / 1000 + 1e-9) + 1);
}

/** The kind of a failure, for the error table. */
export function errorKind(err: unknown): string {
  if (err instanceof ApiError) return `${err.status}${err.code ? ` ${err.code}` : ''}`;
  if (err instanceof ApiUnreachableError) return err.timedOut ? 'timeout' : 'unreachable';
  return err instanceof Error ? err.name : 'error';
}

function newHistogram(): hdr.Histogram {
  // Microseconds from 1 µs to 1 h; the JS implementation (no WebAssembly) is plenty here.
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

function latencyOf(h: hdr.Histogram): LatencySummary | null {
  if (h.totalCount === 0) return null;
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** Counts and latencies per operation, plus a window histogram that progress snapshots reset. */
export class LoadRecorder {
  private readonly ops = new Map<Operation, { ok: number; errors: Map<string, number>; histogram: hdr.Histogram }>();
  private window = newHistogram();
  private windowCount = 0;
  sent = 0;
  dropped = 0;
  inFlight = 0;
  readonly orderIds: string[] = [];

  constructor() {
    for (const op of OPERATIONS) this.ops.set(op, { ok: 0, errors: new Map(), histogram: newHistogram() });
  }

  /** One completed request; `error` undefined for a success. */
  record(op: Operation, latencyMs: number, error?: string): void {
    const entry = this.ops.get(op) as { ok: number; errors: Map<string, number>; histogram: hdr.Histogram };
    const us = Math.max(1, Math.round(latencyMs * 1000));
    entry.histogram.recordValue(us);
    this.window.recordValue(us);
    this.windowCount++;
    if (error === undefined) entry.ok++;
    else entry.errors.set(error, (entry.errors.get(error) ?? 0) + 1);
  }

  get ok(): number {
    return [...this.ops.values()].reduce((sum, e) => sum + e.ok, 0);
  }

  get errors(): number {
    return [...this.ops.values()].reduce((sum, e) => sum + [...e.errors.values()].reduce((a, b) => a + b, 0), 0);
  }

  /** A progress snapshot; resets the window (current rps and recent p95 cover the time since the last one). */
  snapshot(elapsedMs: number, sinceLastMs: number): LoadProgress {
    const progress: LoadProgress = {
      elapsedMs,
      sent: this.sent,
      ok: this.ok,
      errors: this.errors,
      dropped: this.dropped,
      inFlight: this.inFlight,
      currentRps: sinceLastMs > 0 ? Math.round((this.windowCount * 10_000) / sinceLastMs) / 10 : 0,
      recentP95Ms: this.windowCount > 0 ? Math.round(this.window.getValueAtPercentile(95) / 10) / 100 : null,
    };
    this.window = newHistogram();
    this.windowCount = 0;
    return progress;
  }

  operations(elapsedMs: number): Record<Operation, OperationSummary> {
    const out = {} as Record<Operation, OperationSummary>;
    for (const op of OPERATIONS) {
      const e = this.ops.get(op) as { ok: number; errors: Map<string, number>; histogram: hdr.Histogram };
      const count = e.histogram.totalCount;
      out[op] = {
        count,
        ok: e.ok,
        errors: Object.fromEntries([...e.errors.entries()].sort((a, b) => b[1] - a[1])),
        throughput: elapsedMs > 0 ? Math.round((count * 10_000) / elapsedMs) / 10 : 0,
        latencyMs: latencyOf(e.histogram),
      };
    }
    return out;
  }
}

/** The clock the scheduler reads and sleeps on (a fake one in tests). */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface OpenLoopOptions {
  rate: number;
  durationMs: number;
  maxInFlight: number;
  clock: Clock;
  /** Starts arrival `index`; its promise settles when the request is done (never awaited by the schedule). */
  launch: (index: number) => Promise<void>;
  recorder: Pick<LoadRecorder, 'sent' | 'dropped' | 'inFlight'>;
  signal?: AbortSignal;
  /** How often the scheduler wakes up at most (default 5 ms). */
  tickMs?: number;
}

/**
 * Launches every arrival when the clock says it is due, without waiting for earlier ones;
 * over `maxInFlight` an arrival is dropped. Resolves when the last arrival is launched (or
 * dropped) and every launched one has settled.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<{ scheduled: number; aborted: boolean }> {
  const { rate, durationMs, clock, recorder } = options;
  const start = clock.now();
  const total = arrivalsDue(durationMs, rate, durationMs);
  const pending = new Set<Promise<void>>();
  let next = 0;
  while (next < total && !options.signal?.aborted) {
    const due = arrivalsDue(clock.now() - start, rate, durationMs);
    for (; next < due; next++) {
      if (recorder.inFlight >= options.maxInFlight) {
        recorder.dropped++;
        continue;
      }
      recorder.sent++;
      recorder.inFlight++;
      const done = options
        .launch(next)
        .catch(() => undefined)
        .finally(() => {
          recorder.inFlight--;
          pending.delete(done);
        });
      pending.add(done);
    }
    if (next >= total) break;
    const nextDueAt = start + (next * 1000) / rate;
    await clock.sleep(Math.max(0, Math.min(options.tickMs ?? 5, nextDueAt - clock.now())));
  }
  await Promise.all([...pending]);
  return { scheduled: next, aborted: options.signal?.aborted === true && next < total };
}

// ---------------------------------------------------------------------------------------------
// The shop side: users, products, operations

interface LoadUser {
  shopper: Shopper;
  /** Items added and not yet checked out (as far as this run knows). */
  cartItems: number;
  checkingOut: boolean;
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The shop-facing half of a run: the users, what the catalog has, and the three operations. */
class ShopWorkload {
  private products: Product[] = [];
  /** The products carts get, when the run was given some (else any product seen in stock). */
  private cartProducts: Product[] | undefined;
  private words: string[] = [];
  private readonly users: LoadUser[] = [];

  constructor(
    private readonly api: ShopApi,
    private readonly recorder: LoadRecorder,
    private readonly card: Card,
    private readonly random: () => number = Math.random,
  ) {}

  /** Registers the users and reads the catalog once (and the given products, which must exist). */
  async prepare(users: number, productIds?: string[]): Promise<void> {
    const page = await this.api.listProducts({ limit: 100 });
    this.learn(page.items);
    if (productIds && productIds.length > 0) {
      this.cartProducts = await Promise.all(productIds.map((id) => this.api.getProduct(id)));
      this.learn(this.cartProducts);
    }
    if (this.products.length === 0) throw new Error('the catalog lists no products');
    await forEachLimited(
      Array.from({ length: users }, (_, i) => i),
      8,
      async () => {
        this.users.push({
          shopper: await this.api.newShopper({ emailPrefix: 'load', name: 'Load Shopper' }),
          cartItems: 0,
          checkingOut: false,
        });
      },
    );
  }

  async run(op: Operation): Promise<void> {
    if (op === 'browse') return this.browse();
    if (op === 'cart') {
      await this.addToCart(this.anyUser());
      return;
    }
    return this.checkout();
  }

  private learn(products: Product[]): void {
    const known = new Map(this.products.map((p) => [p.id, p]));
    for (const p of products) known.set(p.id, p);
    this.products = [...known.values()];
    this.words = [...new Set(this.products.flatMap((p) => p.name.toLowerCase().match(/[a-z]{4,}/g) ?? []))];
  }

  private pick<T>(items: T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  private anyUser(): LoadUser {
    return this.pick(this.users);
  }

  private async timed<T>(op: Operation, call: () => Promise<T>): Promise<T | undefined> {
    const started = performance.now();
    try {
      const result = await call();
      this.recorder.record(op, performance.now() - started);
      return result;
    } catch (err) {
      this.recorder.record(op, performance.now() - started, errorKind(err));
      return undefined;
    }
  }

  private async browse(): Promise<void> {
    const user = this.anyUser().shopper;
    const kind = Math.floor(this.random() * 3);
    if (kind === 0) {
      const page = await this.timed('browse', () => user.listProducts({ limit: 20 }));
      if (page) this.learn(page.items);
    } else if (kind === 1) {
      await this.timed('browse', () => user.listProducts({ q: this.pick(this.words), limit: 20 }));
    } else {
      const product = await this.timed('browse', () => user.getProduct(this.pick(this.products).id));
      if (product) this.learn([product]);
    }
  }

  private async addToCart(user: LoadUser): Promise<boolean> {
    const candidates = this.cartProducts ?? this.products;
    const inStock = candidates.filter((p) => (p.available ?? 1) > 0);
    const product = this.pick(inStock.length > 0 ? inStock : candidates);
    const cart = await this.timed('cart', () => user.shopper.addToCart(product.id, 1));
    if (cart) user.cartItems = cart.itemCount;
    return cart !== undefined;
  }

  private async checkout(): Promise<void> {
    const ready = this.users.filter((u) => u.cartItems > 0 && !u.checkingOut);
    const idle = this.users.filter((u) => !u.checkingOut);
    const user = ready.length > 0 ? this.pick(ready) : idle.length > 0 ? this.pick(idle) : undefined;
    if (!user) {
      this.recorder.record('checkout', 0, 'no idle user');
      return;
    }
    user.checkingOut = true;
    try {
      if (user.cartItems === 0 && !(await this.addToCart(user))) return;
      const accepted = await this.timed('checkout', () => user.shopper.checkout({ card: this.card }));
      if (accepted) {
        this.recorder.orderIds.push(accepted.orderId);
        user.cartItems = 0;
      }
    } finally {
      user.checkingOut = false;
    }
  }
}

/** A load run started in the background. */
export interface LoadHandle {
  /** Resolves when the run is over (its duration passed, or stop() was called). */
  readonly summary: Promise<LoadSummary>;
  /** Ends the run early; resolves its summary. */
  stop(): Promise<LoadSummary>;
}

/**
 * Starts a load run and returns at once (users are registered first, inside the run).
 * Rejects `summary` only when the run cannot start (no catalog, registration fails).
 */
export function startLoad(options: LoadOptions): LoadHandle {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const summary = runLoad({ ...options, signal });
  return {
    summary,
    stop: () => {
      controller.abort();
      return summary;
    },
  };
}

/** Runs the load to its end (or until `signal` aborts) and summarizes it. */
export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  validateLoadOptions(options);
  const users = options.users ?? 20;
  const mix = options.mix ?? DEFAULT_MIX;
  const maxInFlight = options.maxInFlight ?? Math.max(50, Math.ceil(options.rate * 10));
  const api = new ShopApi({ env: options.env ?? process.env, timeoutMs: options.requestTimeoutMs ?? 10_000 });
  const recorder = new LoadRecorder();
  const workload = new ShopWorkload(api, recorder, options.card ?? TEST_CARDS.ok);
  await workload.prepare(users, options.products);

  const startedAt = new Date();
  const start = performance.now();
  let lastProgress = start;
  const every = options.progressEveryMs ?? 1000;
  const timer = options.onProgress
    ? setInterval(() => {
        const now = performance.now();
        options.onProgress?.(recorder.snapshot(now - start, now - lastProgress));
        lastProgress = now;
      }, every)
    : undefined;
  let result: { scheduled: number; aborted: boolean };
  try {
    result = await runOpenLoop({
      rate: options.rate,
      durationMs: options.durationMs,
      maxInFlight,
      clock: realClock,
      recorder,
      ...(options.signal ? { signal: options.signal } : {}),
      launch: () => workload.run(pickOperation(mix, Math.random())),
    });
  } finally {
    clearInterval(timer);
  }
  const elapsedMs = performance.now() - start;
  return {
    startedAt: startedAt.toISOString(),
    elapsedMs: Math.round(elapsedMs),
    rate: options.rate,
    durationMs: options.durationMs,
    users,
    mix,
    maxInFlight,
    scheduled: result.scheduled,
    sent: recorder.sent,
    dropped: recorder.dropped,
    ok: recorder.ok,
    errors: recorder.errors,
    operations: recorder.operations(elapsedMs),
    orderIds: [...recorder.orderIds],
    aborted: result.aborted,
  };
}

/** `--products id1,id2` → the ids (at least one, no empty ones). */
export function parseProducts(text: string): string[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.length === 0 || ids.some((id) => id === '')) throw new UsageError(`--products '${text}' is not ID,ID,…`);
  return [...new Set(ids)];
}

function validateLoadOptions(options: LoadOptions): void {
  if (!(options.rate > 0 && options.rate <= 10_000)) throw new UsageError('--rate must be in (0, 10000] per second');
  if (!(options.durationMs > 0)) throw new UsageError('--duration must be more than zero');
  const users = options.users ?? 20;
  if (!Number.isInteger(users) || users < 1 || users > 1000) throw new UsageError('--users must be 1–1000');
  if (options.maxInFlight !== undefined && !(Number.isInteger(options.maxInFlight) && options.maxInFlight >= 1)) {
    throw new UsageError('--max-in-flight must be a whole number ≥ 1');
  }
}

// ---------------------------------------------------------------------------------------------
// The command

export const LOAD_USAGE = `usage: shopctl load --rate 20 --duration 60s [--users 20] [--mix browse=10,cart=3,checkout=1]
                   [--products ID,ID…] [--max-in-flight N] [--json]
  Open-loop load on the gateway's public API: --rate arrivals per second for --duration,
  never waiting for responses; over --max-in-flight (default max(50, 10 × rate)) an arrival
  is dropped and counted. browse = product list/search/detail, cart = add an in-stock
  product (one of --products when given), checkout = check a user's cart out with a test
  card. --users are registered first.
  Progress on stderr; at the end a summary per operation (stdout; --json for the object).
  Ctrl-C ends the run early and still prints the summary. Gateway: $SHOPLAB_GATEWAY_URL or
  http://127.0.0.1:8080.
Exit status: 0 the run completed, 1 it could not start, 2 bad input.`;

/** One progress line: elapsed, sent, ok, errors, in flight, current rps, recent p95. */
export function formatProgress(p: LoadProgress): string {
  return (
    `${formatDuration(Math.round(p.elapsedMs / 1000) * 1000).padStart(5)}  sent ${p.sent}  ok ${p.ok}  ` +
    `errors ${p.errors}  in flight ${p.inFlight}${p.dropped ? `  dropped ${p.dropped}` : ''}  ` +
    `${p.currentRps} rps  p95 ${p.recentP95Ms === null ? '-' : `${Math.round(p.recentP95Ms)}ms`}`
  );
}

/** The human summary: totals, one row per operation, errors by kind, order ids. */
export function formatSummary(s: LoadSummary): string {
  const lines = [
    `load: ${s.rate}/s for ${formatDuration(s.durationMs)}${s.aborted ? ' (stopped early)' : ''}, ${s.users} users, ` +
      `mix browse=${s.mix.browse},cart=${s.mix.cart},checkout=${s.mix.checkout}; ran ${formatDuration(s.elapsedMs)}`,
    `sent ${s.sent}  ok ${s.ok}  errors ${s.errors}  dropped ${s.dropped} (max in flight ${s.maxInFlight})`,
    '',
    formatTable([
      ['OPERATION', 'COUNT', 'OK', 'ERRORS', 'RPS', 'P50', 'P90', 'P99', 'MAX'],
      ...OPERATIONS.map((op) => {
        const o = s.operations[op];
        const l = o.latencyMs;
        const ms = (v: number | undefined) => (v === undefined ? '-' : `${v >= 10 ? Math.round(v) : v.toFixed(1)}ms`);
        const errors = o.count - o.ok;
        return [
          op,
          String(o.count),
          String(o.ok),
          String(errors),
          String(o.throughput),
          ms(l?.p50),
          ms(l?.p90),
          ms(l?.p99),
          ms(l?.max),
        ];
      }),
    ]),
  ];
  const errorLines = OPERATIONS.flatMap((op) =>
    Object.entries(s.operations[op].errors).map(([kind, n]) => `  ${op}: ${n} × ${kind}`),
  );
  if (errorLines.length > 0) lines.push('', 'errors:', ...errorLines);
  lines.push('', `orders created: ${s.orderIds.length}${s.orderIds.length ? ` (${s.orderIds.join(' ')})` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** `shopctl load …`; returns the exit status. */
export async function loadCommand(argv: string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  let options: LoadOptions;
  let json: boolean;
  try {
    const { positional, values, flags } = parseOptions(argv, {
      valued: ['rate', 'duration', 'users', 'mix', 'max-in-flight', 'products'],
      flags: ['json', 'help'],
    });
    if (flags.has('help')) {
      io.out(`${LOAD_USAGE}\n`);
      return 0;
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
    if (values.rate === undefined || values.duration === undefined)
      throw new UsageError('--rate and --duration are required');
    const number = (name: string, text: string | undefined) => {
      if (text === undefined) return undefined;
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} '${text}' is not a number`);
      return n;
    };
    const users = number('users', values.users);
    const maxInFlight = number('max-in-flight', values['max-in-flight']);
    const products = values.products === undefined ? undefined : parseProducts(values.products);
    options = {
      rate: number('rate', values.rate) as number,
      durationMs: parseDuration(values.duration, '--duration'),
      ...(users !== undefined ? { users } : {}),
      ...(values.mix !== undefined ? { mix: parseMix(values.mix) } : {}),
      ...(maxInFlight !== undefined ? { maxInFlight } : {}),
      ...(products !== undefined ? { products } : {}),
      env: io.env,
      ...(signal ? { signal } : {}),
    };
    validateLoadOptions(options);
    json = flags.has('json');
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shopctl load: ${err.message}\n\n${LOAD_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const tty = io.errIsTty === true;
  let last = '';
  options.progressEveryMs = tty ? 1000 : 5000;
  options.onProgress = (p) => {
    const line = formatProgress(p);
    if (tty) io.err(`\r${line.padEnd(last.length)}`);
    else io.err(`${line}\n`);
    last = line;
  };
  io.err(`load: registering ${options.users ?? 20} users …\n`);
  let summary: LoadSummary;
  try {
    summary = await runLoad(options);
  } catch (err) {
    io.err(`${tty && last ? '\n' : ''}shopctl load: could not run: ${messageOf(err)}\n`);
    return 1;
  }
  if (tty && last) io.err('\n');
  io.out(json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
  return 0;
}
