// The typed HTTP client every shopctl command and exercise talks to the shop through:
//  - `ShopApi`: the shopper's path through the gateway's public API (/api/v1), one `Shopper`
//    (a registered, logged-in user) at a time;
//  - `AdminApi`: each service's own admin endpoints (/admin/chaos, /admin/breakers,
//    /admin/outbox, /admin/consumers) on its admin listener, behind the admin token.
// Every call has a deadline (AbortSignal.timeout); a non-2xx answer is an ApiError carrying the
// status and the problem+json document, no answer at all is an ApiUnreachableError.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ConsumersReport, type OutboxReport, SERVICES, type Service } from '@shoplab/audit';
import type { Money } from '@shoplab/contracts';
import { messageOf } from './error-text';

export { messageOf };

// ---------------------------------------------------------------------------------------------
// Configuration: addresses and the admin token

/** Every process with an HTTP port: the five services and the gateway. */
export const TARGET_SERVICES = [...SERVICES, 'gateway'] as const;
export type ServiceName = (typeof TARGET_SERVICES)[number];

/** The gateway's local port (infra/local/services.sh). */
export const GATEWAY_PORT = 8080;

/**
 * Every process's local admin listener (ADMIN_PORT in infra/local/services.sh): its `/admin/…`,
 * `/v1/admin/…` and `/api/v1/admin/…` routes answer there only, 404 on its HTTP port
 * (docs/architecture.md#trust-boundaries). 7080 and the HTTP port's last digits.
 */
export const LOCAL_ADMIN_PORTS = {
  gateway: 7080,
  user: 7081,
  catalog: 7082,
  cart: 7083,
  payment: 7084,
  order: 7085,
  history: 7086,
  shipping: 7087,
  'legacy-shipping': 7089,
  'card-network': 7090,
} as const;

/** A process with an admin listener: the services of TARGET_SERVICES and the others. */
export type AdminTarget = keyof typeof LOCAL_ADMIN_PORTS;

/** The services' local HTTP ports (infra/local/services.sh). */
export const LOCAL_PORTS: Record<Service, number> = {
  user: 8081,
  catalog: 8082,
  cart: 8083,
  payment: 8084,
  order: 8085,
};

/** `SHOPLAB_<SVC>_URL` from `env`, else `http://127.0.0.1:<local port>`. */
export function localBaseUrl(service: Service, env: NodeJS.ProcessEnv = process.env): string {
  return env[`SHOPLAB_${service.toUpperCase()}_URL`]?.replace(/\/+$/, '') ?? `http://127.0.0.1:${LOCAL_PORTS[service]}`;
}

/** True for `user`, `catalog`, `cart`, `payment`, `order` and `gateway`. */
export function isServiceName(name: string): name is ServiceName {
  return (TARGET_SERVICES as readonly string[]).includes(name);
}

/**
 * `http://host:port` of a service: `SHOPLAB_<SERVICE>_URL` (gateway: `SHOPLAB_GATEWAY_URL`),
 * else its local port on 127.0.0.1.
 */
export function serviceBaseUrl(service: ServiceName, env: NodeJS.ProcessEnv = process.env): string {
  if (service === 'gateway') {
    return env.SHOPLAB_GATEWAY_URL?.replace(/\/+$/, '') ?? `http://127.0.0.1:${GATEWAY_PORT}`;
  }
  return localBaseUrl(service as Service, env);
}

/**
 * Where a process's admin routes are: `SHOPLAB_<SERVICE>_ADMIN_URL` (`-` written `_`:
 * SHOPLAB_CARD_NETWORK_ADMIN_URL); else the address `SHOPLAB_<SERVICE>_URL` names (a deployment
 * that sets it without an admin URL runs the service without ADMIN_PORT: its admin routes on that
 * one port); else its local admin listener (LOCAL_ADMIN_PORTS: 127.0.0.1:7080 for the gateway,
 * :7081 for user, …).
 */
export function adminBaseUrl(service: AdminTarget, env: NodeJS.ProcessEnv = process.env): string {
  const key = `SHOPLAB_${service.toUpperCase().replace(/-/g, '_')}`;
  const explicit = env[`${key}_ADMIN_URL`] ?? env[`${key}_URL`];
  if (explicit) return explicit.replace(/\/+$/, '');
  return `http://127.0.0.1:${LOCAL_ADMIN_PORTS[service]}`;
}

/** `KEY=value` lines (optionally `export KEY="value"`) of a secrets file. */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!match?.[1]) continue;
    let value = (match[2] ?? '').trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    vars[match[1]] = value;
  }
  return vars;
}

/** The local stack's state directory: $SHOPLAB_STATE, else $XDG_STATE_HOME/shoplab, else ~/.local/state/shoplab. */
export function shoplabStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHOPLAB_STATE ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'shoplab');
}

/** The admin token: `--token`, else $ADMIN_TOKEN, else the local stack's secrets file. */
export function resolveAdminToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag) return flag;
  if (env.ADMIN_TOKEN) return env.ADMIN_TOKEN;
  try {
    return parseEnvFile(readFileSync(join(shoplabStateDir(env), 'secrets.env'), 'utf8')).ADMIN_TOKEN || undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

/** RFC 9457 problem details as every ShopLab service answers them (`code` is the stable error code). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

function isProblem(body: unknown): body is Problem {
  const b = body as Partial<Problem> | null;
  return typeof b === 'object' && b !== null && typeof b.code === 'string' && typeof b.status === 'number';
}

/** The server answered with a status outside 2xx. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** The problem+json document, when the body was one. */
  readonly problem: Problem | undefined;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    /** The parsed JSON body (or the text when it was not JSON). */
    readonly body: unknown,
  ) {
    const problem = isProblem(body) ? body : undefined;
    const what = problem ? `${problem.code}: ${problem.detail ?? problem.title}` : summarize(body);
    super(`${method} ${url} answered ${status}${what ? ` (${what})` : ''}`);
    this.problem = problem;
  }

  /** The problem's stable error code (`SHOP_OUT_OF_STOCK`), if any. */
  get code(): string | undefined {
    return this.problem?.code;
  }
}

/** No answer: connection refused, reset, or the deadline passed (`timedOut`). */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
  readonly timedOut: boolean;

  constructor(
    readonly method: string,
    readonly url: string,
    cause: unknown,
  ) {
    super(`${method} ${url} failed: ${messageOf(cause)}`, { cause });
    this.timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
  }
}

/** A wait (`waitForOrder`) ran out of time. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

// ---------------------------------------------------------------------------------------------
// The HTTP call underneath

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Bearer token for `authorization`. */
  token?: string;
  /** Deadline of this call in ms (default: the client's). */
  timeoutMs?: number;
}

/** Default deadline of one call. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** One JSON request; resolves the parsed body of a 2xx answer, throws ApiError or ApiUnreachableError. */
export async function requestJson<T = unknown>(method: string, url: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    text = await res.text();
  } catch (err) {
    throw new ApiUnreachableError(method, url, err);
  }
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  if (res.status < 200 || res.status >= 300) throw new ApiError(method, url, res.status, body);
  return body as T;
}

export interface ApiOptions {
  /** Where the addresses (`SHOPLAB_*_URL`) and the token (ADMIN_TOKEN, SHOPLAB_STATE) come from. */
  env?: NodeJS.ProcessEnv;
  /** Default deadline per call (ms). */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// The shopper's API (gateway /api/v1)

/** Money in integer minor units with an ISO 4217 code: the shop's one definition (@shoplab/contracts). */
export type { Money };

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price: Money;
  /** Units in stock now; null when the gateway could not ask the catalog. */
  available: number | null;
  imageUrl: string | null;
  degraded?: string[];
}

export interface ProductPage {
  items: Product[];
  nextCursor: string | null;
}

export interface Cart {
  lines: { productId: string; name: string | null; quantity: number; unitPrice: Money; available: number | null }[];
  total: Money;
  itemCount: number;
  version: number;
  degraded?: string[];
}

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED' | 'UNKNOWN';

export interface SagaStep {
  /** `step`: a saga step's attempt; `event`: a payment event the order service received. */
  kind?: 'step' | 'event';
  step: string;
  attempt: number;
  outcome: string;
  error: string | null;
  traceId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Logical clocks (null on entries from before them): docs/patterns/logical-clocks.md. */
  lamport?: number | null;
  hlc?: string | null;
}

/** How an order's timeline is ordered: by each service's wall clock, or by the hybrid logical clock. */
export type TimelineSort = 'wall' | 'hlc';

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  total: Money;
  cancelReason: string | null;
  paymentId: string | null;
  timeline: SagaStep[];
  lines: { productId: string; name: string; quantity: number; unitPrice: Money; lineTotal: Money }[];
  createdAt: string;
  updatedAt: string;
  degraded?: string[];
}

export interface Card {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
}

/** Test cards of the payment service (services/payment/README.md). */
export const TEST_CARDS = {
  ok: { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2035, cvc: '123' },
  declined: { number: '4000 0000 0000 0002', expMonth: 12, expYear: 2035, cvc: '123' },
  insufficientFunds: { number: '4000 0000 0000 9995', expMonth: 12, expYear: 2035, cvc: '123' },
} as const satisfies Record<string, Card>;

export interface CheckoutAccepted {
  orderId: string;
  status: string;
  /** The Idempotency-Key sent (a retry with it returns the same order). */
  idempotencyKey: string;
}

export interface ProductQuery {
  q?: string;
  category?: string;
  limit?: number;
  cursor?: string;
}

/** The public API through the gateway. Sign-up and sign-in give a Shopper for the rest. */
export class ShopApi {
  readonly baseUrl: string;
  readonly timeoutMs: number;

  constructor(options: ApiOptions = {}) {
    this.baseUrl = `${serviceBaseUrl('gateway', options.env ?? process.env)}/api/v1`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** A call to `/api/v1<path>`. */
  request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return requestJson<T>(method, `${this.baseUrl}${path}`, { timeoutMs: this.timeoutMs, ...options });
  }

  /** Registers a fresh user (unique email) and logs in; the Shopper carries the token. */
  async newShopper(options: { emailPrefix?: string; password?: string; name?: string } = {}): Promise<Shopper> {
    const email = `${options.emailPrefix ?? 'shopctl'}-${randomUUID()}@example.com`;
    const password = options.password ?? `pw-${randomUUID()}`;
    const registered = await this.request<{ user: { id: string } }>('POST', '/auth/register', {
      body: { email, password, name: options.name ?? 'shopctl shopper' },
    });
    const { token } = await this.request<{ token: string }>('POST', '/auth/login', { body: { email, password } });
    return new Shopper(this, registered.user.id, email, token);
  }

  /** A page of products; `q` searches the text, `category` filters. */
  listProducts(query: ProductQuery = {}, token?: string): Promise<ProductPage> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString() ? `?${params}` : '';
    return this.request<ProductPage>('GET', `/products${qs}`, { ...(token ? { token } : {}) });
  }

  /** One product with its live stock. */
  getProduct(id: string, token?: string): Promise<Product> {
    return this.request<Product>('GET', `/products/${encodeURIComponent(id)}`, { ...(token ? { token } : {}) });
  }
}

/** A registered, logged-in user; every call carries its token. */
export class Shopper {
  constructor(
    readonly api: ShopApi,
    readonly userId: string,
    readonly email: string,
    readonly token: string,
  ) {}

  /** Product list/search signed in (the gateway's rate limit then counts per user, not per address). */
  listProducts(query: ProductQuery = {}): Promise<ProductPage> {
    return this.api.listProducts(query, this.token);
  }

  getProduct(id: string): Promise<Product> {
    return this.api.getProduct(id, this.token);
  }

  getCart(): Promise<Cart> {
    return this.api.request<Cart>('GET', '/cart', { token: this.token });
  }

  addToCart(productId: string, quantity = 1): Promise<Cart> {
    return this.api.request<Cart>('POST', '/cart/items', { token: this.token, body: { productId, quantity } });
  }

  /** Checks the cart out (202; the saga runs on). A fresh Idempotency-Key unless one is given. */
  async checkout(options: { card?: Card; idempotencyKey?: string } = {}): Promise<CheckoutAccepted> {
    const idempotencyKey = options.idempotencyKey ?? `shopctl-${randomUUID()}`;
    const accepted = await this.api.request<{ orderId: string; status: string }>('POST', '/checkout', {
      token: this.token,
      headers: { 'idempotency-key': idempotencyKey },
      body: { card: options.card ?? TEST_CARDS.ok },
    });
    return { orderId: accepted.orderId, status: accepted.status, idempotencyKey };
  }

  /** The order; its timeline by wall time (default) or, `sort: 'hlc'`, in causal order. */
  getOrder(orderId: string, options: { sort?: TimelineSort } = {}): Promise<Order> {
    const query = options.sort ? `?sort=${options.sort}` : '';
    return this.api.request<Order>('GET', `/orders/${encodeURIComponent(orderId)}${query}`, { token: this.token });
  }

  /**
   * Polls the order until it is CONFIRMED or CANCELLED; throws WaitTimeoutError (with the last
   * status seen) when `timeoutMs` (default 60 s) passes first. Failed polls are retried until then.
   */
  async waitForOrder(orderId: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<Order> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let last: Order | undefined;
    let lastError: unknown;
    for (;;) {
      try {
        last = await this.getOrder(orderId);
        if (last.status === 'CONFIRMED' || last.status === 'CANCELLED') return last;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() >= deadline) {
        const seen = last ? `status ${last.status}` : `no answer (${messageOf(lastError)})`;
        throw new WaitTimeoutError(`order ${orderId} did not reach CONFIRMED or CANCELLED in time: ${seen}`);
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The operator's API (each service's /admin endpoints)

/** Where a fault applies (packages/chassis/src/chaos.ts): a kind of call, or the service's clock. */
export const FAULT_KINDS = ['http', 'grpc', 'consumer', 'relay', 'client', 'clock'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type FaultSpec =
  | { type: 'latency'; ms: number }
  | { type: 'error'; rate: number }
  | { type: 'fail' }
  | { type: 'hang' }
  /** Kind `clock` only: the wall clock offset by `ms` (negative: behind). */
  | { type: 'skew'; ms: number };

/** A rule as PUT /admin/chaos takes it. */
export interface FaultRuleInput {
  kind: FaultKind;
  /** HTTP route (`GET /v1/products`), gRPC method, topic, `outbox`, downstream, or a `*` glob. */
  target: string;
  fault: FaultSpec;
  /** Lifetime; the service's default is 300 s. */
  durationSeconds?: number;
}

/** An active rule as GET /admin/chaos lists it. */
export interface FaultRule {
  id: string;
  kind: FaultKind;
  target: string;
  fault: FaultSpec;
  createdAt: string;
  expiresAt: string;
}

export interface BreakerInfo {
  caller: string;
  target: string;
  state: 'closed' | 'open' | 'half-open';
  enabled: boolean;
  stats: Record<string, number>;
}

export interface BreakersReport {
  /** The process-wide switch (reported by the gateway). */
  enabled?: boolean;
  items: BreakerInfo[];
}

/** GET /admin/outbox; `mode` is reported by services that can switch to direct publishing. */
export type OutboxStatus = OutboxReport & { mode?: 'outbox' | 'direct'; relay?: RelayMode };

/** How an outbox relay finds rows: `poll` the table, `wal` the write-ahead log (ADR 35). */
export type RelayMode = 'poll' | 'wal';

/** `GET /admin/outbox/relay`: the relay's mode, its stream, and its slot as pg_replication_slots shows it. */
export interface RelayStatus {
  mode: RelayMode;
  tailing: boolean;
  slot: {
    name: string;
    active: boolean;
    confirmedFlushLsn: string | null;
    currentLsn: string;
    retainedBytes: number;
  } | null;
}

/**
 * The admin endpoints of every service, called on each service's admin listener (adminBaseUrl;
 * the gateway included: it has the chassis' /admin routes too), with the admin token.
 */
export class AdminApi {
  readonly env: NodeJS.ProcessEnv;
  readonly token: string;
  readonly timeoutMs: number;

  /** Throws when no admin token is given and none can be found (see resolveAdminToken). */
  constructor(options: ApiOptions & { token?: string } = {}) {
    this.env = options.env ?? process.env;
    const token = resolveAdminToken(options.token, this.env);
    if (!token) throw new Error('no admin token (pass --token, set ADMIN_TOKEN, or start the local stack)');
    this.token = token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Any admin call on a service: `request('order', 'POST', '/v1/admin/orders/republish')`. */
  request<T = unknown>(service: ServiceName, method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return requestJson<T>(method, `${adminBaseUrl(service, this.env)}${path}`, {
      timeoutMs: this.timeoutMs,
      token: this.token,
      ...options,
    });
  }

  /** Adds a fault rule to the service; answers the rule with its id and expiry. */
  chaosSet(service: ServiceName, rule: FaultRuleInput): Promise<FaultRule> {
    return this.request<FaultRule>(service, 'PUT', '/admin/chaos', { body: rule });
  }

  /** The service's active fault rules. */
  async chaosList(service: ServiceName): Promise<FaultRule[]> {
    return (await this.request<{ items: FaultRule[] }>(service, 'GET', '/admin/chaos')).items;
  }

  /** Clears one rule (by id; ApiError 404 when the service has no such rule) or all; answers how many. */
  async chaosClear(service: ServiceName, id?: string): Promise<number> {
    const path = id ? `/admin/chaos/${encodeURIComponent(id)}` : '/admin/chaos';
    return (await this.request<{ cleared: number }>(service, 'DELETE', path)).cleared;
  }

  /** The service's circuit breakers (caller → target, state, rolling stats). */
  breakers(service: ServiceName): Promise<BreakersReport> {
    return this.request<BreakersReport>(service, 'GET', '/admin/breakers');
  }

  /**
   * Turns the gateway's breakers on or off (pass-through) via /api/v1/admin/breakers; on another
   * service PUT /admin/breakers (ApiError 404 where the service has no such switch).
   */
  setBreakersEnabled(enabled: boolean, service: ServiceName = 'gateway'): Promise<BreakersReport> {
    const path = service === 'gateway' ? '/api/v1/admin/breakers' : '/admin/breakers';
    return this.request<BreakersReport>(service, 'PUT', path, { body: { enabled } });
  }

  /** The service's outbox: rows published and waiting, the oldest wait, the last relay error. */
  outbox(service: Service): Promise<OutboxStatus> {
    return this.request<OutboxStatus>(service, 'GET', '/admin/outbox');
  }

  /**
   * Switches how the service's events leave it (ADR 13): `outbox` (the default) or `direct`, the
   * dual write the exercises use as their "before" (fire-and-forget to Kafka, no outbox row).
   */
  async setPublishMode(service: Service, mode: 'outbox' | 'direct'): Promise<'outbox' | 'direct'> {
    return (await this.request<{ mode: 'outbox' | 'direct' }>(service, 'PUT', '/admin/outbox/mode', { body: { mode } }))
      .mode;
  }

  /**
   * Switches how the service's outbox relay finds rows (ADR 35): `poll` (the table, the default)
   * or `wal` (its write-ahead log, through a replication slot). Resolves once the switch is done.
   */
  async setRelayMode(service: Service, mode: RelayMode): Promise<RelayMode> {
    return (await this.request<{ mode: RelayMode }>(service, 'PUT', '/admin/outbox/relay', { body: { mode } })).mode;
  }

  /** The service's relay mode, whether it streams, and its replication slot (pg_replication_slots). */
  relayStatus(service: Service): Promise<RelayStatus> {
    return this.request<RelayStatus>(service, 'GET', '/admin/outbox/relay');
  }

  /** Has the service's relay publish its `last` most recently published outbox rows again (a duplicate delivery). */
  replayOutbox(service: Service, last: number): Promise<{ replayed: number; eventIds: string[] }> {
    return this.request(service, 'POST', '/admin/outbox/replay', { body: { last } });
  }

  /** order: re-emits the end event of every ended order that has none in its outbox (the dual write's repair). */
  republishOrders(): Promise<{ republished: number; orderIds: string[] }> {
    return this.request('order', 'POST', '/v1/admin/orders/republish');
  }

  /** Event ids applied per consumer group, and duplicates in the ledger. */
  consumers(service: Service): Promise<ConsumersReport> {
    return this.request<ConsumersReport>(service, 'GET', '/admin/consumers');
  }
}

function summarize(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return (text ?? '').slice(0, 200);
}
