// Service registry and client-side discovery (docs/reference.md#discovery): an instance registers
// itself at start and leaves before it stops; callers ask for the healthy instances of a
// service and spread calls over them round robin. Two registries: `static` (addresses from
// config: kind's Service DNS, tests, the embedded mode) and `consul` (compose).
import { EventEmitter } from 'node:events';
import Consul from 'consul';
import { errorText, ShopError } from './errors';
import type { Logger } from './logging';
import { backoffDelay, sleep } from './resilience';

/** One reachable instance of a service. */
export interface Instance {
  id: string;
  service: string;
  address: string;
  /** The registered port: the HTTP port under Consul, the dialled port for static entries. */
  port: number;
  /** Free-form metadata; `grpc_port` holds the gRPC port when it differs from `port`. */
  meta?: Record<string, string>;
}

/** What an instance registers about itself. */
export interface Registration extends Instance {
  /** The gRPC port, published in meta as `grpc_port`. */
  grpcPort?: number;
  tags?: string[];
  check?: HealthCheckSettings;
}

export interface HealthCheckSettings {
  /** Full check URL; by default `http://<address>:<port><path>`. */
  url?: string;
  /** Path of the readiness endpoint; `/readyz` by default. */
  path?: string;
  intervalMs?: number;
  timeoutMs?: number;
  /** Consul removes the instance after it has been critical this long. */
  deregisterCriticalAfterMs?: number;
}

/** The meta key holding an instance's gRPC port. */
export const GRPC_PORT_META = 'grpc_port';

export type InstancesListener = (instances: Instance[]) => void;

export interface ServiceRegistry {
  /** Announces this process; under Consul with an HTTP check on its readiness URL. */
  register(instance: Registration): Promise<void>;
  /** Withdraws what `register` announced (first step of shutdown). */
  deregister(): Promise<void>;
  /** Healthy instances of `service`, from a cache kept fresh in the background. */
  instances(service: string): Promise<Instance[]>;
  /** Calls `listener` with the current list (once known) and on every change; returns an unsubscribe function. */
  watch?(service: string, listener: InstancesListener): () => void;
  close(): void;
}

/** `host:port` a gRPC client dials for this instance. */
export function grpcAddressOf(instance: Instance): string {
  const port = instance.meta?.[GRPC_PORT_META] ?? String(instance.port);
  const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
  return `${host}:${port}`;
}

/** Stable order, so round robin over successive lists behaves predictably. */
function byId(a: Instance, b: Instance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// Round robin

/** Round-robin choice of an instance, per service. */
export class RoundRobin {
  private readonly cursors = new Map<string, number>();

  constructor(private readonly registry?: Pick<ServiceRegistry, 'instances'>) {}

  /** The next healthy instance of `service`; SHOP_DEPENDENCY_UNAVAILABLE when there is none. */
  async pick(service: string): Promise<Instance> {
    if (!this.registry) throw new Error('RoundRobin.pick needs a registry; use next(service, list)');
    return this.next(service, await this.registry.instances(service));
  }

  /** The next instance from a list the caller already has. */
  next(service: string, list: readonly Instance[]): Instance {
    if (list.length === 0) {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `no healthy instance of ${service}`, { service });
    }
    const cursor = this.cursors.get(service) ?? 0;
    this.cursors.set(service, (cursor + 1) % Number.MAX_SAFE_INTEGER);
    return list[cursor % list.length]!;
  }
}

// ---------------------------------------------------------------------------------------
// Static registry

/**
 * Addresses from configuration (`STATIC_SERVICES`, parsed by config.ts): in kind these are
 * Kubernetes Service names, in tests and the embedded mode loopback ports. Nothing is
 * registered; every listed address counts as healthy (the caller's breaker copes when not).
 */
export class StaticRegistry implements ServiceRegistry {
  private services: Record<string, Instance[]> = {};
  private readonly listeners = new Map<string, Set<InstancesListener>>();

  constructor(services: Record<string, readonly string[]> = {}) {
    for (const [service, addresses] of Object.entries(services)) this.set(service, addresses);
  }

  /** Replaces the addresses of one service (tests, and the embedded mode as ports get bound). */
  set(service: string, addresses: readonly string[]): void {
    this.services[service] = addresses.map((hostPort) => parseHostPort(service, hostPort)).sort(byId);
    for (const listener of this.listeners.get(service) ?? []) listener(this.list(service));
  }

  async register(): Promise<void> {}

  async deregister(): Promise<void> {}

  async instances(service: string): Promise<Instance[]> {
    return this.list(service);
  }

  watch(service: string, listener: InstancesListener): () => void {
    const set = this.listeners.get(service) ?? new Set();
    this.listeners.set(service, set);
    set.add(listener);
    listener(this.list(service));
    return () => set.delete(listener);
  }

  close(): void {
    this.listeners.clear();
  }

  private list(service: string): Instance[] {
    return [...(this.services[service] ?? [])];
  }
}

function parseHostPort(service: string, hostPort: string): Instance {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(hostPort);
  if (!m) throw new Error(`"${hostPort}" (service ${service}) is not host:port`);
  return { id: `${service}@${hostPort}`, service, address: m[1]!, port: Number(m[2]) };
}

// ---------------------------------------------------------------------------------------
// Consul registry

export interface ConsulRegistryOptions {
  /** Agent address, e.g. `CONSUL_URL` (`http://127.0.0.1:8500`). */
  url: string;
  logger: Logger;
  /** Longest a blocking query waits for a change (Consul's `wait`); 30 s by default. */
  blockingWaitMs?: number;
  /** Time allowed for non-blocking requests (register, deregister); 5 s by default. */
  requestTimeoutMs?: number;
  /** Backoff while the agent is unreachable: full jitter between 0 and base·2^n, capped. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Defaults for the registration's HTTP check. */
  check?: HealthCheckSettings;
  /** Consul ACL token, when the agent requires one. */
  token?: string;
}

/**
 * The part of the consul client we use. Its typings omit options the client supports and we
 * need (`timeout`, and `ctx` to abort a blocking query and get the response headers).
 */
interface ConsulClient {
  agent: {
    service: {
      register(options: Record<string, unknown>): Promise<unknown>;
      deregister(options: Record<string, unknown>): Promise<unknown>;
    };
  };
  health: { service(options: Record<string, unknown>): Promise<unknown> };
  destroy(): void;
}

interface HealthEntry {
  Service?: { ID?: string; Service?: string; Address?: string; Port?: number; Meta?: Record<string, string> | null };
  Node?: { Address?: string };
}

/**
 * Registration and discovery through a Consul agent's HTTP API.
 *
 * Discovery keeps one watch per service: a loop of blocking queries on
 * `/v1/health/service/<name>?passing=true&index=<last X-Consul-Index>&wait=<blockingWaitMs>`,
 * so a change (an instance registered, failing its check, deregistered) reaches callers as
 * soon as Consul knows it, without polling. When the agent cannot be reached the last known
 * list keeps being served, a warning is logged, and the loop retries with backoff.
 *
 * Events: `unreachable` (service, error) when a query fails, `reachable` (service) when one
 * succeeds again.
 */
export class ConsulRegistry extends EventEmitter implements ServiceRegistry {
  private readonly consul: ConsulClient;
  private readonly watches = new Map<string, ServiceWatch>();
  private registeredId: string | undefined;
  private closed = false;

  constructor(private readonly options: ConsulRegistryOptions) {
    super();
    const url = new URL(options.url);
    const secure = url.protocol === 'https:';
    this.consul = new Consul({
      host: url.hostname,
      port: url.port ? Number(url.port) : secure ? 443 : 80,
      secure,
      ...(options.token ? { defaults: { token: options.token } } : {}),
    }) as unknown as ConsulClient;
  }

  async register(instance: Registration): Promise<void> {
    const check = { ...this.options.check, ...instance.check };
    const checkUrl = check.url ?? `http://${hostForUrl(instance.address)}:${instance.port}${check.path ?? '/readyz'}`;
    const meta: Record<string, string> = { ...instance.meta };
    if (instance.grpcPort !== undefined) meta[GRPC_PORT_META] = String(instance.grpcPort);
    await this.request('register', () =>
      this.consul.agent.service.register({
        name: instance.service,
        id: instance.id,
        address: instance.address,
        port: instance.port,
        tags: instance.tags ?? [],
        meta,
        check: {
          name: `Service '${instance.service}' check`,
          http: checkUrl,
          interval: goDuration(check.intervalMs ?? 10_000),
          timeout: goDuration(check.timeoutMs ?? 2_000),
          deregistercriticalserviceafter: goDuration(check.deregisterCriticalAfterMs ?? 60_000),
        },
        timeout: this.requestTimeout,
      }),
    );
    this.registeredId = instance.id;
    this.options.logger.info({ service: instance.service, id: instance.id, check: checkUrl }, 'registered in consul');
  }

  async deregister(): Promise<void> {
    const id = this.registeredId;
    if (!id) return;
    await this.request('deregister', () => this.consul.agent.service.deregister({ id, timeout: this.requestTimeout }));
    this.registeredId = undefined;
    this.options.logger.info({ id }, 'deregistered from consul');
  }

  async instances(service: string): Promise<Instance[]> {
    return this.watchOf(service).current();
  }

  watch(service: string, listener: InstancesListener): () => void {
    return this.watchOf(service).subscribe(listener);
  }

  /** Stops every watch and aborts its pending blocking query. Does not deregister. */
  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.consul.destroy();
  }

  private get requestTimeout(): number {
    return this.options.requestTimeoutMs ?? 5_000;
  }

  private watchOf(service: string): ServiceWatch {
    if (this.closed) throw new Error('the service registry is closed');
    let w = this.watches.get(service);
    if (!w) {
      w = new ServiceWatch(service, this.consul, this.options, this);
      this.watches.set(service, w);
      w.start();
    }
    return w;
  }

  private async request<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `consul ${what} failed: ${errorText(err)}`, undefined, {
        cause: err,
      });
    }
  }
}

/** The blocking-query loop for one service and its cached healthy list. */
class ServiceWatch {
  private list: Instance[] | undefined;
  private index = '0';
  private stopped = false;
  private unreachable = false;
  private readonly listeners = new Set<InstancesListener>();
  /** Callers waiting for a first list; settled by the next query outcome. */
  private waiters: { resolve: (l: Instance[]) => void; reject: (e: unknown) => void }[] = [];
  private readonly abort = new AbortController();
  /** papi (the consul client's HTTP layer) aborts a request when its ctx emits `cancel`. */
  private readonly ctx = Object.assign(new EventEmitter(), { includeResponse: true });

  constructor(
    private readonly service: string,
    private readonly consul: ConsulClient,
    private readonly options: ConsulRegistryOptions,
    private readonly events: EventEmitter,
  ) {
    this.ctx.setMaxListeners(0);
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.ctx.emit('cancel');
    const err = new ShopError('SHOP_SHUTTING_DOWN', 'the service registry is closed');
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  current(): Promise<Instance[]> {
    if (this.list) return Promise.resolve([...this.list]);
    if (this.unreachable) return Promise.reject(this.unavailable());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  subscribe(listener: InstancesListener): () => void {
    this.listeners.add(listener);
    if (this.list) listener([...this.list]);
    return () => this.listeners.delete(listener);
  }

  private async loop(): Promise<void> {
    const waitMs = this.options.blockingWaitMs ?? 30_000;
    const base = this.options.retryBaseDelayMs ?? 200;
    const max = this.options.retryMaxDelayMs ?? 15_000;
    let failures = 0;
    while (!this.stopped) {
      try {
        const [res, body] = (await this.consul.health.service({
          service: this.service,
          passing: true,
          // After a failure ask without blocking: refresh at once and learn that Consul is back.
          index: failures > 0 ? '0' : this.index,
          wait: goDuration(waitMs),
          // Consul may answer up to wait/16 late; allow that and a margin before giving up.
          timeout: waitMs + Math.ceil(waitMs / 16) + 2_000,
          ctx: this.ctx,
        })) as [{ headers: Record<string, string | undefined> }, HealthEntry[]];
        if (this.stopped) return;
        failures = 0;
        this.reachable();
        const previous = BigInt(this.index);
        const next = safeBigInt(res.headers['x-consul-index']);
        // Consul's rules for blocking queries: reset when the index goes backwards or is not positive.
        this.index = next === undefined || next <= 0n || next < previous ? '0' : String(next);
        this.update(toInstances(this.service, body));
        // A reset or unmoved index may answer at once again: pace the loop rather than spin.
        if (this.index === '0' || next === previous) await sleep(base, this.abort.signal);
      } catch (err) {
        if (this.stopped) return;
        failures++;
        this.fail(err, failures);
        await sleep(backoffDelay(failures, base, max) + 1, this.abort.signal);
      }
    }
  }

  private update(fresh: Instance[]): void {
    const changed = !this.list || !sameInstances(this.list, fresh);
    this.list = fresh;
    for (const w of this.waiters.splice(0)) w.resolve([...fresh]);
    if (!changed) return;
    this.options.logger.debug({ service: this.service, instances: fresh.map((i) => i.id) }, 'instances changed');
    for (const listener of this.listeners) {
      try {
        listener([...fresh]);
      } catch (err) {
        this.options.logger.error({ err, service: this.service }, 'an instances listener failed');
      }
    }
  }

  private reachable(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    this.options.logger.info({ service: this.service }, 'consul reachable again');
    this.events.emit('reachable', this.service);
  }

  private fail(err: unknown, attempt: number): void {
    if (!this.unreachable) {
      this.unreachable = true;
      this.options.logger.warn(
        { service: this.service, err: errorText(err), known: this.list?.map((i) => i.id) ?? null },
        'consul unreachable; serving the last known instances and retrying with backoff',
      );
      this.events.emit('unreachable', this.service, err);
    } else {
      this.options.logger.debug({ service: this.service, attempt, err: errorText(err) }, 'consul still unreachable');
    }
    for (const w of this.waiters.splice(0)) w.reject(this.unavailable(err));
  }

  private unavailable(cause?: unknown): ShopError {
    return new ShopError(
      'SHOP_DEPENDENCY_UNAVAILABLE',
      `no known instances of ${this.service}: the service registry is unreachable`,
      { service: this.service },
      { cause },
    );
  }
}

function toInstances(service: string, body: HealthEntry[] | undefined): Instance[] {
  return (body ?? [])
    .map((entry): Instance => {
      const s = entry.Service ?? {};
      // An empty service address means "the node's address" in Consul.
      const address = s.Address || entry.Node?.Address || '127.0.0.1';
      return {
        id: s.ID ?? `${service}@${address}:${s.Port}`,
        service: s.Service ?? service,
        address,
        port: s.Port ?? 0,
        ...(s.Meta && Object.keys(s.Meta).length > 0 ? { meta: { ...s.Meta } } : {}),
      };
    })
    .sort(byId);
}

function sameInstances(a: readonly Instance[], b: readonly Instance[]): boolean {
  return a.length === b.length && a.every((x, i) => JSON.stringify(x) === JSON.stringify(b[i]));
}

function safeBigInt(value: string | undefined): bigint | undefined {
  if (!value || !/^\d+$/.test(value)) return undefined;
  return BigInt(value);
}

/** Milliseconds as a Go duration string, the format Consul parses (`1500ms`, `30s`). */
export function goDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

// ---------------------------------------------------------------------------------------
// Factory

export interface RegistrySettings {
  /** `REGISTRY_MODE` */
  mode: 'static' | 'consul';
  /** `STATIC_SERVICES`, parsed */
  staticServices?: Record<string, string[]>;
  /** `CONSUL_URL` */
  consulUrl?: string;
  logger: Logger;
  check?: HealthCheckSettings;
}

/** The registry the configuration asks for. */
export function createServiceRegistry(settings: RegistrySettings): ServiceRegistry {
  if (settings.mode === 'static') return new StaticRegistry(settings.staticServices ?? {});
  return new ConsulRegistry({
    url: settings.consulUrl ?? 'http://127.0.0.1:8500',
    logger: settings.logger,
    ...(settings.check ? { check: settings.check } : {}),
  });
}
