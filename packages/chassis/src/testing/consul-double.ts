// ConsulDouble: a test double of Consul — not Consul; Consul cannot run on these machines
// (docs/reference.md#building-offline: no package, its Go modules are not open source). Compose and
// kind run the real image. The double speaks the part of Consul's documented HTTP API
// (developer.hashicorp.com/consul/api-docs) the chassis uses, over real HTTP, and runs real
// HTTP/TCP health checks, so ConsulRegistry is exercised exactly as it talks to an agent.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { errorText } from '../errors';
import type { Logger } from '../logging';

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface ConsulDoubleOptions {
  /** Interface to listen on; 127.0.0.1 by default. */
  host?: string;
  /** Port of the first start; 0 (any free port) by default. Later starts reuse the bound port. */
  port?: number;
  /** Node name reported in health entries. */
  node?: string;
  datacenter?: string;
  logger?: Logger;
}

/** A registered service as the double holds it (for assertions). */
export interface DoubleService {
  id: string;
  name: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  checks: { checkId: string; status: CheckStatus; output: string }[];
}

interface CheckState {
  checkId: string;
  name: string;
  http?: string;
  method: string;
  header: Record<string, string[]>;
  tcp?: string;
  intervalMs: number;
  timeoutMs: number;
  deregisterAfterMs?: number;
  status: CheckStatus;
  output: string;
  criticalSince?: number;
  timer?: NodeJS.Timeout;
  createIndex: number;
  modifyIndex: number;
}

interface ServiceState {
  id: string;
  name: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  checks: CheckState[];
  createIndex: number;
  modifyIndex: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

/**
 * A test double of Consul — not Consul; Consul cannot run on these machines
 * (docs/reference.md#building-offline). A real HTTP server on 127.0.0.1 that follows Consul's
 * documented HTTP API for:
 *
 * - `PUT /v1/agent/service/register` (Name, ID, Address, Port, Tags, Meta, Check/Checks with
 *   HTTP or TCP, Interval, Timeout, DeregisterCriticalServiceAfter; keys in any case, as
 *   Consul's JSON decoding is case-insensitive and the consul npm client sends PascalCase)
 * - `PUT /v1/agent/service/deregister/:id`
 * - `GET /v1/health/service/:name?passing&tag&index&wait` — `[{Node, Service, Checks}]` with
 *   `X-Consul-Index`; a blocking query holds until the service's index passes `index` or
 *   `wait` expires
 * - `GET /v1/agent/services`, `GET /v1/agent/checks`, `GET /v1/status/leader`
 *
 * Checks are real: each check URL is fetched (GET, no keep-alive, like Consul) every
 * interval; 2xx is passing, 429 warning, anything else critical. New checks start critical.
 * A service critical for longer than DeregisterCriticalServiceAfter is removed.
 * Differences from Consul, on purpose for fast tests: the first check runs at once (Consul
 * staggers it within the interval), the reaper runs after every check (Consul: every 30 s,
 * and at least one minute), and there is no wait jitter.
 *
 * `stop()` simulates an outage (listener and connections closed, checks paused, state kept);
 * `start()` comes back on the same port.
 */
export class ConsulDouble {
  private server: http.Server | undefined;
  private boundPort: number;
  private readonly host: string;
  private readonly node: string;
  private readonly datacenter: string;
  private readonly nodeId = randomUUID();
  private readonly services = new Map<string, ServiceState>();
  /** Raft-like index: grows on every change. */
  private index = 1;
  private readonly serviceIndex = new Map<string, number>();
  private readonly changes = new EventEmitter();
  private readonly pending = new Set<() => void>();

  constructor(private readonly options: ConsulDoubleOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.node = options.node ?? 'consul-double';
    this.datacenter = options.datacenter ?? 'dc1';
    this.changes.setMaxListeners(0);
  }

  /** Base URL, e.g. `http://127.0.0.1:41234` (what `CONSUL_URL` would hold). */
  get url(): string {
    return `http://${this.host}:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Starts (or restarts after `stop`) listening; resolves with the base URL. */
  async start(): Promise<string> {
    if (this.server) return this.url;
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(errorText(err));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
    for (const s of this.services.values()) for (const c of s.checks) this.schedule(s, c, 0);
    return this.url;
  }

  /** Simulates an outage: closes the listener and every open connection, pauses checks. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.services.values()) for (const c of s.checks) clearTimeout(c.timer);
    for (const cancel of [...this.pending]) cancel();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Stops and forgets every service. */
  async close(): Promise<void> {
    await this.stop();
    this.services.clear();
  }

  /** What is registered, with check states (for assertions). */
  list(): DoubleService[] {
    return [...this.services.values()].map((s) => ({
      id: s.id,
      name: s.name,
      address: s.address,
      port: s.port,
      tags: [...s.tags],
      meta: { ...s.meta },
      checks: s.checks.map((c) => ({ checkId: c.checkId, status: c.status, output: c.output })),
    }));
  }

  // -------------------------------------------------------------------------------------
  // HTTP API

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://consul');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const deregister = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(path);
    const healthOf = /^\/v1\/health\/service\/(.+)$/.exec(path);

    if (path === '/v1/agent/service/register') {
      requireMethod(method, 'PUT');
      this.register(await readJson(req));
      return sendJson(res, 200, undefined);
    }
    if (deregister) {
      requireMethod(method, 'PUT');
      const id = decodeURIComponent(deregister[1]!);
      if (!this.services.has(id)) {
        throw new HttpError(
          404,
          `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
        );
      }
      this.deregister(id, 'deregistered by request');
      return sendJson(res, 200, undefined);
    }
    if (healthOf) {
      requireMethod(method, 'GET');
      return this.healthService(decodeURIComponent(healthOf[1]!), url.searchParams, res);
    }
    if (path === '/v1/agent/services') {
      requireMethod(method, 'GET');
      const out: Record<string, unknown> = {};
      for (const s of this.services.values()) out[s.id] = this.agentService(s);
      return sendJson(res, 200, out);
    }
    if (path === '/v1/agent/checks') {
      requireMethod(method, 'GET');
      const out: Record<string, unknown> = {};
      for (const s of this.services.values()) for (const c of s.checks) out[c.checkId] = this.checkView(s, c);
      return sendJson(res, 200, out);
    }
    if (path === '/v1/status/leader') {
      requireMethod(method, 'GET');
      return sendJson(res, 200, `${this.host}:8300`);
    }
    throw new HttpError(404, `the Consul double does not implement ${method} ${path}`);
  }

  private register(body: unknown): void {
    const b = lowerKeys(body);
    const name = typeof b.name === 'string' ? b.name : '';
    if (!name) throw new HttpError(400, 'Missing service name');
    const id = typeof b.id === 'string' && b.id ? b.id : name;
    const port = b.port === undefined ? 0 : Number(b.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new HttpError(400, 'Invalid service port');
    const checkBodies = Array.isArray(b.checks) ? b.checks : b.check ? [b.check] : [];
    const index = ++this.index;
    const previous = this.services.get(id);
    const service: ServiceState = {
      id,
      name,
      address: typeof b.address === 'string' ? b.address : '',
      port,
      tags: Array.isArray(b.tags) ? b.tags.map(String) : [],
      meta: isRecord(b.meta) ? Object.fromEntries(Object.entries(b.meta).map(([k, v]) => [k, String(v)])) : {},
      checks: [],
      createIndex: previous?.createIndex ?? index,
      modifyIndex: index,
    };
    service.checks = checkBodies.map((raw, i) => this.parseCheck(service, raw, checkBodies.length > 1 ? i + 1 : 0));
    if (previous) for (const c of previous.checks) clearTimeout(c.timer);
    this.services.set(id, service);
    this.options.logger?.debug({ id, name }, 'consul double: service registered');
    this.changed(name);
    if (previous && previous.name !== name) this.changed(previous.name);
    if (this.server) for (const c of service.checks) this.schedule(service, c, 0);
  }

  private parseCheck(service: ServiceState, raw: unknown, n: number): CheckState {
    const c = lowerKeys(raw);
    const httpUrl = typeof c.http === 'string' && c.http ? c.http : undefined;
    const tcp = typeof c.tcp === 'string' && c.tcp ? c.tcp : undefined;
    if (!httpUrl && !tcp) throw new HttpError(400, 'the Consul double supports HTTP and TCP checks only');
    const intervalMs = parseDuration(c.interval);
    if (!intervalMs || intervalMs <= 0)
      throw new HttpError(400, 'Interval must be > 0 for Script, HTTP, or TCP checks');
    const status = c.status === 'passing' || c.status === 'warning' ? c.status : 'critical';
    const header: Record<string, string[]> = {};
    if (isRecord(c.header)) {
      for (const [k, v] of Object.entries(c.header)) header[k] = Array.isArray(v) ? v.map(String) : [String(v)];
    }
    const deregisterAfterMs = parseDuration(c.deregistercriticalserviceafter);
    return {
      checkId: typeof c.checkid === 'string' && c.checkid ? c.checkid : `service:${service.id}${n ? `:${n}` : ''}`,
      name: typeof c.name === 'string' && c.name ? c.name : `Service '${service.name}' check`,
      ...(httpUrl ? { http: httpUrl } : {}),
      ...(tcp ? { tcp } : {}),
      method: typeof c.method === 'string' && c.method ? c.method : 'GET',
      header,
      intervalMs,
      timeoutMs: parseDuration(c.timeout) ?? 10_000,
      ...(deregisterAfterMs ? { deregisterAfterMs } : {}),
      status,
      output: '',
      ...(status === 'critical' ? { criticalSince: Date.now() } : {}),
      createIndex: service.modifyIndex,
      modifyIndex: service.modifyIndex,
    };
  }

  private deregister(id: string, why: string): void {
    const s = this.services.get(id);
    if (!s) return;
    for (const c of s.checks) clearTimeout(c.timer);
    this.services.delete(id);
    this.index++;
    this.options.logger?.debug({ id, why }, 'consul double: service deregistered');
    this.changed(s.name);
  }

  private async healthService(name: string, query: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const minIndex = query.has('index') ? Number(query.get('index')) : 0;
    if (!Number.isSafeInteger(minIndex) || minIndex < 0) throw new HttpError(400, 'Invalid index');
    const waitParam = query.get('wait');
    const wait = waitParam ? parseDuration(waitParam) : DEFAULT_WAIT_MS;
    if (wait === undefined) throw new HttpError(400, 'Invalid wait time');
    if (minIndex > 0 && this.indexOf(name) <= minIndex) {
      await this.waitForChange(name, minIndex, Math.min(wait, MAX_WAIT_MS), res);
      if (res.destroyed || !this.server) return;
    }
    // `?passing` (any value but false) keeps only entries whose every check passes.
    const passingOnly = query.has('passing') && !/^(false|0)$/i.test(query.get('passing') ?? '');
    const tags = query.getAll('tag');
    const entries = [...this.services.values()]
      .filter((s) => s.name === name)
      .filter((s) => tags.every((t) => s.tags.includes(t)))
      .filter((s) => !passingOnly || s.checks.every((c) => c.status === 'passing'))
      .map((s) => ({
        Node: {
          ID: this.nodeId,
          Node: this.node,
          Address: this.host,
          Datacenter: this.datacenter,
          TaggedAddresses: { lan: this.host, wan: this.host },
          Meta: {},
          CreateIndex: 1,
          ModifyIndex: 1,
        },
        Service: this.agentService(s),
        Checks: [
          {
            Node: this.node,
            CheckID: 'serfHealth',
            Name: 'Serf Health Status',
            Status: 'passing',
            Notes: '',
            Output: 'Agent alive and reachable',
            ServiceID: '',
            ServiceName: '',
            ServiceTags: [],
            Type: '',
            CreateIndex: 1,
            ModifyIndex: 1,
          },
          ...s.checks.map((c) => this.checkView(s, c)),
        ],
      }));
    sendJson(res, 200, entries, { 'X-Consul-Index': String(this.indexOf(name)) });
  }

  private waitForChange(name: string, minIndex: number, waitMs: number, res: http.ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
        res.off('close', done);
        this.pending.delete(done);
        resolve();
      };
      const onChange = (changed: string) => {
        if (changed === name && this.indexOf(name) > minIndex) done();
      };
      const timer = setTimeout(done, waitMs);
      timer.unref();
      this.changes.on('change', onChange);
      // The client gave up (or the connection broke): stop waiting for it.
      res.on('close', done);
      this.pending.add(done);
    });
  }

  /** A service name's index: that of its last change, or the global index if it never existed. */
  private indexOf(name: string): number {
    return this.serviceIndex.get(name) ?? this.index;
  }

  private changed(name: string): void {
    this.serviceIndex.set(name, this.index);
    this.changes.emit('change', name);
  }

  private agentService(s: ServiceState) {
    return {
      ID: s.id,
      Service: s.name,
      Tags: [...s.tags],
      Address: s.address,
      Meta: { ...s.meta },
      Port: s.port,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Datacenter: this.datacenter,
      CreateIndex: s.createIndex,
      ModifyIndex: s.modifyIndex,
    };
  }

  private checkView(s: ServiceState, c: CheckState) {
    return {
      Node: this.node,
      CheckID: c.checkId,
      Name: c.name,
      Status: c.status,
      Notes: '',
      Output: c.output,
      ServiceID: s.id,
      ServiceName: s.name,
      ServiceTags: [...s.tags],
      Type: c.http ? 'http' : 'tcp',
      Interval: formatDuration(c.intervalMs),
      Timeout: formatDuration(c.timeoutMs),
      CreateIndex: c.createIndex,
      ModifyIndex: c.modifyIndex,
    };
  }

  // -------------------------------------------------------------------------------------
  // Health checks

  private schedule(s: ServiceState, c: CheckState, delayMs: number): void {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      void this.runCheck(s, c);
    }, delayMs);
    c.timer.unref();
  }

  private async runCheck(s: ServiceState, c: CheckState): Promise<void> {
    const { status, output } = c.http ? await httpCheck(c) : await tcpCheck(c);
    // The service may have been deregistered, re-registered or the double stopped meanwhile.
    if (this.services.get(s.id) !== s || !this.server) return;
    c.output = output;
    if (status !== c.status) {
      c.status = status;
      c.criticalSince = status === 'critical' ? Date.now() : undefined;
      c.modifyIndex = ++this.index;
      this.options.logger?.debug({ id: s.id, check: c.checkId, status }, 'consul double: check changed');
      this.changed(s.name);
    }
    if (
      c.status === 'critical' &&
      c.deregisterAfterMs !== undefined &&
      c.criticalSince !== undefined &&
      Date.now() - c.criticalSince >= c.deregisterAfterMs
    ) {
      this.deregister(s.id, `critical for more than ${formatDuration(c.deregisterAfterMs)}`);
      return;
    }
    this.schedule(s, c, c.intervalMs);
  }
}

function httpCheck(c: CheckState): Promise<{ status: CheckStatus; output: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | string[]> = {
      'user-agent': 'Consul Health Check',
      accept: 'text/plain, text/*, */*',
      ...c.header,
    };
    const req = http.request(c.http!, { method: c.method, headers, agent: false, timeout: c.timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const output = `HTTP ${c.method} ${c.http}: ${code} ${res.statusMessage ?? ''} Output: ${body.slice(0, 4096)}`;
        const status: CheckStatus = code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
        resolve({ status, output });
      });
      res.on('error', (err) => resolve({ status: 'critical', output: String(err) }));
    });
    req.on('timeout', () => req.destroy(new Error(`request timed out after ${formatDuration(c.timeoutMs)}`)));
    req.on('error', (err) => resolve({ status: 'critical', output: `HTTP ${c.method} ${c.http}: ${err.message}` }));
    req.end();
  });
}

function tcpCheck(c: CheckState): Promise<{ status: CheckStatus; output: string }> {
  return new Promise((resolve) => {
    const [host, port] = splitHostPort(c.tcp!);
    const socket = net.connect({ host, port, timeout: c.timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ status: 'passing', output: `TCP connect ${c.tcp}: Success` });
    });
    socket.once('timeout', () => socket.destroy(new Error('i/o timeout')));
    socket.once('error', (err) => resolve({ status: 'critical', output: `dial tcp ${c.tcp}: ${err.message}` }));
  });
}

function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[|\]$/g, ''), Number(hostPort.slice(i + 1))];
}

function requireMethod(actual: string, expected: string): void {
  if (actual !== expected) throw new HttpError(405, `method ${actual} not allowed`);
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      if (!raw.trim()) return reject(new HttpError(400, 'Request decode failed: empty body'));
      try {
        resolve(JSON.parse(raw));
      } catch (err) {
        reject(new HttpError(400, `Request decode failed: ${(err as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-consul-knownleader': 'true',
    'x-consul-lastcontact': '0',
    ...headers,
  });
  res.end(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object's own keys lower-cased (one level: Meta and Header keep their keys' case). */
function lowerKeys(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw new HttpError(400, 'Request decode failed: expected a JSON object');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`10s`, `1m30s`, `250ms`) in milliseconds; a bare number counts as nanoseconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return value / 1e6;
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) / 1e6;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === value.length ? total : undefined;
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
