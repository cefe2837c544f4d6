// What the system tests of the running shop share: calls through the gateway (the public API)
// and to the services' admin APIs, shoppers and products made for one test, chaos rules that are
// always cleared, the local stack's control scripts, and the audit (docs/reference.md#audit) that
// every test ends with. Not a test file itself (no `.e2e.test` suffix).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { promisify } from 'node:util';
import { type EventuallyOptions, eventually } from '@shoplab/chassis/testing';
import {
  type AuditReport,
  adminBaseUrl,
  collectAuditData,
  formatReport,
  localBaseUrl,
  resolveAdminToken,
  runAudit,
  type Service,
  shoplabStateDir,
} from '@shoplab/shopctl';
import { Kafka, logLevel } from 'kafkajs';

export const API = `${process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'}/api/v1`;
/** The gateway's admin API, on its admin listener (404 on the public port): `call` sends `/admin/…` there. */
export const ADMIN_API = `${process.env.GATEWAY_ADMIN_URL ?? adminBaseUrl('gateway')}/api/v1`;
/** The checkout this file was built in (it runs from test/e2e/dist). */
export const REPO_ROOT = resolve(__dirname, '../../..');
export const STATE_DIR = shoplabStateDir();

export const CARDS = {
  ok: { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2035, cvc: '123' },
  /** Refused by the payment service with SHOP_PAYMENT_DECLINED (services/payment README). */
  declined: { number: '4000 0000 0000 0002', expMonth: 12, expYear: 2035, cvc: '123' },
} as const;
export type Card = (typeof CARDS)[keyof typeof CARDS];

// biome-ignore lint/suspicious/noExplicitAny: tests read loosely typed JSON.
export type Json = any;

export interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The admin token: $ADMIN_TOKEN, else the local stack's secrets file (as `shopctl audit` finds it). */
export const ADMIN_TOKEN = resolveAdminToken(undefined, process.env) ?? '';

async function send(
  url: string,
  method: string,
  options: { token?: string | undefined; body?: unknown; headers?: Record<string, string> },
): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: Json = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, headers: res.headers, body };
}

/** A call to the public API (`/api/v1…`) through the gateway. */
export function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return send(`${path.startsWith('/admin/') ? ADMIN_API : API}${path}`, method, options);
}

/**
 * A call to one service's admin API with the admin token (`/admin/…`, `/v1/admin/…`), on its
 * admin listener (shopctl's adminBaseUrl: SHOPLAB_<SERVICE>_ADMIN_URL, else the local one).
 */
export function admin(service: Service, method: string, path: string, body?: unknown): Promise<Answer> {
  return send(`${adminBaseUrl(service)}${path}`, method, { token: ADMIN_TOKEN, body });
}

/** A call to one service's own HTTP port (its API; admin routes answer 404 there), with the admin token. */
export function direct(service: Service, method: string, path: string, body?: unknown): Promise<Answer> {
  return send(`${localBaseUrl(service)}${path}`, method, { token: ADMIN_TOKEN, body });
}

/** `admin()` that must answer `status`; returns the body. */
export async function adminOk(service: Service, method: string, path: string, body?: unknown, status = 200) {
  const answer = await admin(service, method, path, body);
  assert.equal(answer.status, status, `${service} ${method} ${path}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/**
 * The system tests' wait: the chassis' `eventually`, probing every 250 ms for up to 60 s unless
 * told otherwise (a probe that throws is retried; the timeout names its last error).
 */
export function poll<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 250, ...options }: EventuallyOptions = {},
): Promise<T> {
  return eventually(what, probe, { ...options, timeoutMs, intervalMs });
}

/** `phase(name)` reports how long the test took to get there (a diagnostic, not an assertion). */
export function phases(t: { diagnostic(message: string): void }): (name: string) => void {
  const start = Date.now();
  return (name) => t.diagnostic(`${name} after ${((Date.now() - start) / 1000).toFixed(1)} s`);
}

/** Runs `fn` over `items` with at most `limit` at once; results in the order of `items`. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------
// Shoppers, products, carts, checkouts, orders

export interface Shopper {
  id: string;
  email: string;
  token: string;
}

/**
 * Registers `count` new shoppers at the user service itself: the gateway limits anonymous
 * callers per address (RATE_LIMIT_PER_MINUTE), and a test that needs hundreds of users is not
 * testing registration. Each one costs a scrypt hash, so a few at a time.
 */
export async function registerShoppers(count: number, prefix: string, concurrency = 4): Promise<Shopper[]> {
  return mapLimited(Array.from({ length: count }), concurrency, async () => {
    const email = `${prefix}-${randomUUID()}@example.com`;
    const answer = await send(`${localBaseUrl('user')}/v1/auth/register`, 'POST', {
      body: { email, password: 'a long enough password', name: prefix },
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return { id: answer.body.user.id as string, email, token: answer.body.token as string };
  });
}

export interface Product {
  id: string;
  price: { amount: number; currency: string };
  available: number;
}

/** A new product with exactly `stock` units (catalog POST /v1/admin/products), so a test knows its numbers. */
export async function createProduct(stock: number, amount = 1000, category = 'e2e'): Promise<Product> {
  return adminOk(
    'catalog',
    'POST',
    '/v1/admin/products',
    { name: `E2E product ${randomUUID().slice(0, 8)}`, category, price: { amount, currency: 'USD' }, stock },
    201,
  );
}

export interface StockLevel {
  id: string;
  initial: number;
  available: number;
  reserved: number;
  sold: number;
  confirmedUnitsSold: number;
}

/** The catalog's counters per product id. */
export async function stockLevels(): Promise<Map<string, StockLevel>> {
  const body = await adminOk('catalog', 'GET', '/v1/admin/stock');
  return new Map((body.products as StockLevel[]).map((p) => [p.id, p]));
}

export async function stockOf(productId: string): Promise<StockLevel> {
  const level = (await stockLevels()).get(productId);
  assert.ok(level, `no stock for ${productId}`);
  return level;
}

/** The catalog's reservation for an order (its id is the order id), or undefined. */
export async function reservationOf(orderId: string): Promise<{ status: string } | undefined> {
  const answer = await admin('catalog', 'GET', `/v1/admin/reservations/${encodeURIComponent(orderId)}`);
  if (answer.status === 404) return undefined;
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

export interface PaymentRow {
  orderId: string;
  status: string;
  captured: number;
  refunded: number;
  captureCount: number;
  refundCount: number;
}

/** The payment ledger per order id (payment GET /v1/admin/payments/summary). */
export async function paymentsByOrder(): Promise<Map<string, PaymentRow>> {
  const body = await adminOk('payment', 'GET', '/v1/admin/payments/summary');
  return new Map((body.orders as PaymentRow[]).map((p) => [p.orderId, p]));
}

export async function addToCart(shopper: Shopper, productId: string, quantity: number): Promise<void> {
  const answer = await call('POST', '/cart/items', { token: shopper.token, body: { productId, quantity } });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
}

/**
 * POST /checkout as a client should: no answer, a 503, 504 or 429 is sent again with the same
 * Idempotency-Key until it is accepted (a checkout that went through answers with its order).
 */
export async function checkout(shopper: Shopper, card: Card = CARDS.ok, key = randomUUID()): Promise<string> {
  const answer = await poll(
    'the checkout to be accepted',
    async () => {
      const res = await call('POST', '/checkout', {
        token: shopper.token,
        body: { card },
        headers: { 'idempotency-key': key },
      });
      return [429, 503, 504].includes(res.status) ? undefined : res;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return answer.body.orderId as string;
}

export interface TimelineEntry {
  /** `step`: an attempt of a saga step or compensation; `event`: a payment event the order service received. */
  kind?: string;
  step: string;
  attempt: number;
  outcome: string;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** The composed order (lines, status, cancelReason, timeline, payment). */
export async function getOrder(shopper: Shopper, orderId: string): Promise<Json> {
  const answer = await call('GET', `/orders/${orderId}`, { token: shopper.token });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

/** Waits until the order is CONFIRMED or CANCELLED; returns it. */
export async function settledOrder(shopper: Shopper, orderId: string, timeoutMs = 120_000): Promise<Json> {
  return poll(
    `order ${orderId} to be CONFIRMED or CANCELLED`,
    async () => {
      const order = await getOrder(shopper, orderId);
      return order.status === 'CONFIRMED' || order.status === 'CANCELLED' ? order : undefined;
    },
    { timeoutMs },
  );
}

/** Each order's status from the order service's audit list (one call for many orders). */
export async function orderStatuses(since: Date): Promise<Map<string, string>> {
  const body = await adminOk('order', 'GET', `/v1/admin/orders/audit?since=${encodeURIComponent(since.toISOString())}`);
  return new Map((body.orders as { id: string; status: string }[]).map((o) => [o.id, o.status]));
}

/** Waits until every one of `orderIds` is CONFIRMED or CANCELLED; returns their statuses. */
export async function settledStatuses(orderIds: readonly string[], since: Date, timeoutMs = 180_000) {
  return poll(
    `${orderIds.length} orders to be CONFIRMED or CANCELLED`,
    async () => {
      const statuses = await orderStatuses(since);
      return orderIds.every((id) => ['CONFIRMED', 'CANCELLED'].includes(statuses.get(id) ?? '')) ? statuses : undefined;
    },
    { timeoutMs, intervalMs: 1_000 },
  );
}

// ---------------------------------------------------------------------------------------
// The checkout mode under test

/**
 * The checkout mode this run tests (docs/patterns/choreography.md): `SHOPLAB_CHECKOUT_MODE`, or
 * `orchestrated`. scripts/check.sh runs the files about checkout outcomes a second time with
 * `choreographed`: a file that imports this module then has the order service's switch at that
 * mode for its tests (set before each, put back after the last; `stackScript` sets it again when
 * it restarts order, whose switch starts at its configured default), with the same assertions.
 */
export const CHECKOUT_MODE = process.env.SHOPLAB_CHECKOUT_MODE ?? 'orchestrated';

async function setCheckoutMode(mode: string): Promise<void> {
  await adminOk('order', 'PUT', '/v1/admin/checkout-mode', { mode });
}

if (process.env.SHOPLAB_CHECKOUT_MODE) {
  let previous: string | undefined;
  before(async () => {
    previous = (await adminOk('order', 'GET', '/v1/admin/checkout-mode')).mode;
  });
  // Before each test, not once: an order service restarted meanwhile is back at its default.
  beforeEach(() => setCheckoutMode(CHECKOUT_MODE));
  after(async () => {
    if (previous) await setCheckoutMode(previous);
  });
}

/**
 * What a choreographed order's timeline records for each saga step (the events as they arrived
 * and order's own reactions, services/order/src/infrastructure/choreography.consumer.ts), with the
 * outcome the step would have had. validate_user has no counterpart: no service checks the user in
 * this choreography.
 */
const CHOREOGRAPHED_STEPS: Record<string, { step: string; outcome?: string }> = {
  'shop.catalog.stock_reserved.v1': { step: 'reserve_stock', outcome: 'SUCCEEDED' },
  'shop.catalog.stock_refused.v1': { step: 'reserve_stock', outcome: 'REFUSED' },
  'choreography:authorize_payment': { step: 'authorize_payment' },
  'shop.catalog.stock_committed.v1': { step: 'commit_stock', outcome: 'SUCCEEDED' },
  'shop.payment.captured.v1': { step: 'capture_payment', outcome: 'SUCCEEDED' },
  'shop.catalog.stock_released.v1': { step: 'compensate:release_stock', outcome: 'SUCCEEDED' },
  'choreography:confirm': { step: 'confirm' },
  'choreography:cancel': { step: 'cancel' },
};

const isChoreographed = (order: { timeline: TimelineEntry[] }) =>
  order.timeline.some((s) => s.step.startsWith('choreography:') || s.step.startsWith('shop.catalog.'));

/**
 * The saga's attempts on the order's timeline, in time order (without the payment events
 * received). For a choreographed order, the entries that stand for a saga step, named as the
 * step (CHOREOGRAPHED_STEPS): the assertions on steps hold in both modes.
 */
export function sagaSteps(order: { timeline: TimelineEntry[] }): TimelineEntry[] {
  if (!isChoreographed(order)) return order.timeline.filter((s) => s.kind !== 'event');
  return order.timeline.flatMap((s) => {
    const saga = CHOREOGRAPHED_STEPS[s.step];
    return saga ? [{ ...s, kind: 'step', step: saga.step, outcome: saga.outcome ?? s.outcome }] : [];
  });
}

/** Names of the saga's steps that ended with `outcome`, in time order (sagaSteps: both modes). */
export function stepsWith(order: { timeline: TimelineEntry[] }, outcome: string): string[] {
  return sagaSteps(order)
    .filter((s) => s.outcome === outcome)
    .map((s) => s.step);
}

/** The saga's `steps` the mode under test records: in `choreographed`, all but validate_user. */
export function modeSteps(...steps: string[]): string[] {
  return CHECKOUT_MODE === 'choreographed' ? steps.filter((s) => s !== 'validate_user') : steps;
}

/** The compensations on the timeline, each named once, in the order they first ran. */
export function compensationsOf(order: { timeline: TimelineEntry[] }): string[] {
  const names = sagaSteps(order)
    .map((s) => s.step)
    .filter((s) => s.startsWith('compensate:'));
  return [...new Set(names)].map((s) => s.slice('compensate:'.length));
}

/** The shopper's cart lines (GET /cart through the gateway). */
export async function cartLines(shopper: Shopper): Promise<{ productId: string; quantity: number }[]> {
  const answer = await call('GET', '/cart', { token: shopper.token });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.lines.map((l: Json) => ({ productId: l.productId, quantity: l.quantity }));
}

/** The shopper's notifications about orders (user service GET /v1/users/me/notifications). */
export async function orderNotifications(shopper: Shopper): Promise<{ kind: string; orderId: string }[]> {
  const answer = await send(`${localBaseUrl('user')}/v1/users/me/notifications?limit=200`, 'GET', {
    token: shopper.token,
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.items
    .filter((n: Json) => n.orderId !== null)
    .map((n: Json) => ({ kind: n.kind, orderId: n.orderId }));
}

// ---------------------------------------------------------------------------------------
// Messaging: outboxes and consumer ledgers

export const MESSAGING_SERVICES: Service[] = ['user', 'catalog', 'cart', 'payment', 'order'];

export interface Messaging {
  /** Outbox rows not yet / already published, per service. */
  unpublished: Record<string, number>;
  published: Record<string, number>;
  /** Event ids applied, per consumer group (all services). */
  processed: Record<string, number>;
  duplicateIds: number;
}

/** Every service's GET /admin/outbox and GET /admin/consumers. */
export async function messaging(): Promise<Messaging> {
  const result: Messaging = { unpublished: {}, published: {}, processed: {}, duplicateIds: 0 };
  for (const service of MESSAGING_SERVICES) {
    const outbox = await adminOk(service, 'GET', '/admin/outbox');
    result.unpublished[service] = outbox.unpublished;
    result.published[service] = outbox.published;
    const consumers = await adminOk(service, 'GET', '/admin/consumers');
    for (const g of consumers.groups) result.processed[g.group] = g.processed;
    result.duplicateIds += consumers.duplicateIds;
  }
  return result;
}

/**
 * Messages of `topic` each consumer group has not committed yet (summed over partitions), read
 * from Kafka itself: 0 means the group has applied everything published so far.
 */
export async function consumerLag(topic: string, groups: readonly string[]): Promise<Record<string, number>> {
  const kafka = new Kafka({
    clientId: 'shoplab-e2e',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    const ends = new Map((await kafkaAdmin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const lag: Record<string, number> = {};
    for (const groupId of groups) {
      const [committed] = await kafkaAdmin.fetchOffsets({ groupId, topics: [topic] });
      lag[groupId] = (committed?.partitions ?? []).reduce((sum, p) => {
        const end = ends.get(p.partition) ?? 0;
        // -1: nothing committed on that partition yet.
        return sum + end - Math.max(0, Number(p.offset));
      }, 0);
    }
    return lag;
  } finally {
    await kafkaAdmin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------
// Faults and breakers

export interface FaultRule {
  kind: 'http' | 'grpc' | 'consumer' | 'relay' | 'client';
  target: string;
  fault: { type: 'latency'; ms: number } | { type: 'error'; rate: number } | { type: 'fail' } | { type: 'hang' };
  durationSeconds?: number;
}

/** Adds a fault rule on `service` (PUT /admin/chaos); returns its id. Pair it with `clearFaults`. */
export async function injectFault(service: Service, rule: FaultRule): Promise<string> {
  const body = await adminOk(service, 'PUT', '/admin/chaos', { durationSeconds: 300, ...rule }, 201);
  return body.id as string;
}

/** Removes one fault rule before it expires. */
export async function clearFault(service: Service, id: string): Promise<void> {
  await adminOk(service, 'DELETE', `/admin/chaos/${id}`);
}

/** Removes every fault rule of these services (DELETE /admin/chaos). */
export async function clearFaults(...services: Service[]): Promise<void> {
  for (const service of services) await adminOk(service, 'DELETE', '/admin/chaos');
}

/**
 * Waits until every circuit breaker of `service` is closed with no failure left in its rolling
 * window, so one test's faults do not open a breaker on the next test's first failure.
 */
export async function breakersQuiet(service: Service, timeoutMs = 60_000): Promise<void> {
  await poll(
    `the breakers of ${service} to be closed and quiet`,
    async () => {
      const body = await adminOk(service, 'GET', '/admin/breakers');
      const quiet = (body.items as { state: string; stats: Record<string, number> }[]).every(
        (b) => b.state === 'closed' && (b.stats.failures ?? 0) + (b.stats.rejects ?? 0) + (b.stats.timeouts ?? 0) === 0,
      );
      return quiet ? true : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

// ---------------------------------------------------------------------------------------
// The local stack

const exec = promisify(execFile);

/** Runs one of the stack's control scripts (infra/local/infra.sh or services.sh) of this checkout. */
export async function stackScript(script: 'infra.sh' | 'services.sh', ...args: string[]): Promise<string> {
  const { stdout } = await exec('bash', [join(REPO_ROOT, 'infra/local', script), ...args], {
    cwd: REPO_ROOT,
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  // A restarted order service starts at its configured mode: the mode under test again.
  const orderStarted = script === 'services.sh' && args[0] === 'up' && (args.length === 1 || args.includes('order'));
  if (process.env.SHOPLAB_CHECKOUT_MODE && orderStarted) await setCheckoutMode(CHECKOUT_MODE);
  return stdout;
}

/** True when the service answers /readyz. */
export async function ready(service: Service | 'gateway'): Promise<boolean> {
  const url = service === 'gateway' ? API.replace(/\/api\/v1$/, '') : localBaseUrl(service);
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// The audit

/**
 * Runs `shopctl audit`'s checks (collect + runAudit) until every invariant holds — outboxes
 * drain and consumers catch up a moment after the last saga ends — and fails with the report if
 * they do not within `timeoutMs`.
 */
export async function assertAuditPasses(timeoutMs = 120_000): Promise<AuditReport> {
  let last: AuditReport | undefined;
  try {
    return await poll(
      'the audit to pass',
      async () => {
        last = runAudit(await collectAuditData({ adminToken: ADMIN_TOKEN, baseUrl: (s) => adminBaseUrl(s) }));
        return last.ok ? last : undefined;
      },
      { timeoutMs, intervalMs: 1_000 },
    );
  } catch (err) {
    assert.fail(last ? `the audit fails:\n${formatReport(last)}` : (err as Error).message);
  }
}
