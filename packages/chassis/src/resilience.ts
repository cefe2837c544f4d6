// Resilience primitives every outbound call is built from: a circuit breaker per
// (caller → target) on opossum, a timeout, retries with exponential backoff and full jitter,
// and a bulkhead. Each one turns its own failure into a ShopError with a stable code, so a
// caller handles "the breaker is open" the same way whichever client raised it.
import CircuitBreaker from 'opossum';
import { backoffMs, sleep } from './backoff';
import { GrpcStatus, isTransientGrpcStatus, ShopError } from './errors';
import type { Logger } from './logging';
import type { ServiceMetrics } from './metrics';

export { type BackoffPolicy, backoffMs, sleep } from './backoff';

// ---------------------------------------------------------------------------------------
// Error classification

/** gRPC statuses that mean "the caller asked for something wrong"; the target is healthy. */
const CLIENT_MISTAKE_STATUSES: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.OUT_OF_RANGE,
]);

/** The numeric gRPC status of a grpc-js ServiceError (or anything shaped like one), if any. */
export function grpcStatusOf(err: unknown): number | undefined {
  if (err instanceof ShopError) return err.grpcStatus;
  if (typeof err === 'object' && err !== null && 'code' in err && 'metadata' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/**
 * True for errors that are the caller's fault: they never trip a breaker and are never
 * retried. A ShopError is one when its HTTP status is 4xx (validation, not found, conflict,
 * refused, rate limited: the target answered, and answered correctly); a bare gRPC error when
 * its status is one of the client-mistake statuses.
 */
export function isClientMistake(err: unknown): boolean {
  if (err instanceof ShopError) return err.httpStatus < 500;
  const status = grpcStatusOf(err);
  return status !== undefined && CLIENT_MISTAKE_STATUSES.has(status);
}

/**
 * True when the same call may succeed later: a transient ShopError (a 5xx: unavailable, timed
 * out, bulkhead full), or a transient gRPC status. Never a client's mistake.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ShopError) return err.transient;
  const status = grpcStatusOf(err);
  return status !== undefined && isTransientGrpcStatus(status) && !isClientMistake(err);
}

// ---------------------------------------------------------------------------------------
// Circuit breaker

export type BreakerStateName = 'closed' | 'open' | 'half-open';

/** The value of the `shop_circuit_breaker_state` gauge for each state. */
export const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

export interface BreakerOptions {
  /** The service making the calls. */
  caller: string;
  /** The service (or dependency) being called. */
  target: string;
  /** Time allowed per call before it counts as a timeout; `false` when the call carries its own deadline. */
  timeoutMs: number | false;
  /** Failure share (percent) in the rolling window above which the breaker opens. */
  errorThresholdPercentage: number;
  /** Calls needed in the rolling window before the breaker may open at all. */
  volumeThreshold: number;
  /** Time the breaker stays open before letting one trial call through (half-open). */
  resetTimeoutMs: number;
  /** Length of the rolling statistics window; 10 s by default. */
  rollingCountTimeoutMs?: number;
  /** Which errors count against the target; by default everything except client mistakes. */
  isFailure?: (err: unknown) => boolean;
}

export interface BreakerDeps {
  metrics: Pick<ServiceMetrics, 'breakerState' | 'breakerEvents'>;
  registry: BreakerRegistry;
  logger?: Logger;
}

export interface BreakerStats {
  fires: number;
  failures: number;
  rejects: number;
  timeouts: number;
  successes: number;
}

/** One row of `/admin/breakers`. Stats cover the rolling window. */
export interface BreakerInfo {
  caller: string;
  target: string;
  state: BreakerStateName;
  enabled: boolean;
  stats: BreakerStats;
}

/** A circuit breaker guarding the calls from one caller to one target. */
export class Breaker<A extends unknown[], R> {
  /** The opossum circuit underneath, for its events (`open`, `halfOpen`, `close`, …). */
  readonly circuit: CircuitBreaker<A, R>;

  constructor(
    readonly caller: string,
    readonly target: string,
    circuit: CircuitBreaker<A, R>,
  ) {
    this.circuit = circuit;
  }

  /** Runs the guarded function; an open breaker throws SHOP_CIRCUIT_OPEN, a timeout SHOP_TIMEOUT. */
  async fire(...args: A): Promise<R> {
    try {
      return await this.circuit.fire(...args);
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** An explicit fallback (e.g. a degraded response); it runs on rejects, timeouts and failures. */
  fallback(fn: (...argsAndError: [...A, unknown]) => R | Promise<R>): this {
    this.circuit.fallback(fn as (...args: unknown[]) => R);
    return this;
  }

  get state(): BreakerStateName {
    if (this.circuit.opened) return 'open';
    if (this.circuit.halfOpen) return 'half-open';
    return 'closed';
  }

  get enabled(): boolean {
    return this.circuit.enabled;
  }

  info(): BreakerInfo {
    const s = this.circuit.stats;
    return {
      caller: this.caller,
      target: this.target,
      state: this.state,
      enabled: this.enabled,
      stats: { fires: s.fires, failures: s.failures, rejects: s.rejects, timeouts: s.timeouts, successes: s.successes },
    };
  }

  /** Stops the breaker's timers; later calls fail. */
  shutdown(): void {
    this.circuit.shutdown();
  }

  private translate(err: unknown): unknown {
    const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    const where = { caller: this.caller, target: this.target };
    if (code === 'EOPENBREAKER') {
      return new ShopError('SHOP_CIRCUIT_OPEN', `circuit ${this.caller}→${this.target} is open`, where, {
        cause: err,
      });
    }
    if (code === 'ETIMEDOUT') {
      return new ShopError('SHOP_TIMEOUT', `call ${this.caller}→${this.target} timed out`, where, { cause: err });
    }
    return err;
  }
}

/** Every breaker of a process, for `/admin/breakers` and the "circuit breaker on/off" switch. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, Breaker<never[], unknown>>();
  private enabled = true;

  /** Adds a breaker; there is one per (caller, target), so a second one for the same pair is a bug. */
  add<A extends unknown[], R>(breaker: Breaker<A, R>): void {
    const key = keyOf(breaker.caller, breaker.target);
    if (this.breakers.has(key)) {
      throw new Error(`a circuit breaker for ${key} already exists; share it (registry.get) instead of making another`);
    }
    this.breakers.set(key, breaker as unknown as Breaker<never[], unknown>);
    if (!this.enabled) breaker.circuit.disable();
  }

  get(caller: string, target: string): Breaker<never[], unknown> | undefined {
    return this.breakers.get(keyOf(caller, target));
  }

  list(): BreakerInfo[] {
    return [...this.breakers.values()].map((b) => b.info());
  }

  /** Turns every breaker (present and future) into a pass-through, or back on. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    for (const b of this.breakers.values()) {
      if (enabled) b.circuit.enable();
      else b.circuit.disable();
    }
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Shuts every breaker down (timers included) and forgets them. */
  close(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }
}

function keyOf(caller: string, target: string): string {
  return `${caller}→${target}`;
}

/**
 * A circuit breaker for the calls `caller` makes to `target`. Client mistakes (a ShopError
 * whose gRPC status is INVALID_ARGUMENT, NOT_FOUND, …) are passed on but do not count as
 * failures: a target that correctly says "no such product" is healthy.
 */
export function createBreaker<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
  options: BreakerOptions,
  deps: BreakerDeps,
): Breaker<A, R> {
  const { caller, target } = options;
  const isFailure = options.isFailure ?? ((err: unknown) => !isClientMistake(err));
  const circuit = new CircuitBreaker<A, R>(fn, {
    name: keyOf(caller, target),
    timeout: options.timeoutMs,
    errorThresholdPercentage: options.errorThresholdPercentage,
    volumeThreshold: options.volumeThreshold,
    resetTimeout: options.resetTimeoutMs,
    rollingCountTimeout: options.rollingCountTimeoutMs ?? 10_000,
    // opossum reports a filtered error as a success: the target answered.
    errorFilter: (err: unknown) => !isFailure(err),
  });
  const breaker = new Breaker(caller, target, circuit);
  const labels = { caller, target };
  const { breakerState, breakerEvents } = deps.metrics;
  const count = (event: string) => () => breakerEvents.inc({ ...labels, event });
  const transition = (state: BreakerStateName, event: string) => () => {
    breakerState.set(labels, BREAKER_STATE_VALUE[state]);
    breakerEvents.inc({ ...labels, event });
    deps.logger?.[state === 'open' ? 'warn' : 'info']({ caller, target, state }, `circuit breaker ${state}`);
  };
  breakerState.set(labels, BREAKER_STATE_VALUE.closed);
  circuit.on('open', transition('open', 'open'));
  circuit.on('halfOpen', transition('half-open', 'half_open'));
  circuit.on('close', transition('closed', 'close'));
  circuit.on('reject', count('reject'));
  circuit.on('timeout', count('timeout'));
  circuit.on('failure', count('failure'));
  circuit.on('success', count('success'));
  circuit.on('fallback', count('fallback'));
  deps.registry.add(breaker);
  return breaker;
}

// ---------------------------------------------------------------------------------------
// Timeout

/**
 * Runs `work` with an AbortSignal that fires after `ms`; the returned promise then rejects
 * with SHOP_TIMEOUT at once, whether or not `work` honours the signal.
 */
export function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, what: string): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new ShopError('SHOP_TIMEOUT', `${what} did not finish within ${ms} ms`, { timeoutMs: ms });
      controller.abort(err);
      reject(err);
    }, ms);
    Promise.resolve()
      .then(() => work(controller.signal))
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

// ---------------------------------------------------------------------------------------
// Retry

export interface RetryOptions {
  /** Attempts after the first one. */
  retries: number;
  /** Cap of the first backoff; doubles per attempt. */
  baseDelayMs?: number;
  /** Largest backoff cap. */
  maxDelayMs?: number;
  /** Whether to try again after `err` (attempt counts from 1); transient errors only by default. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait, for logging. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops retrying (the last error is thrown) once aborted. */
  signal?: AbortSignal;
  /** Injected in tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected in tests; Math.random by default. */
  random?: () => number;
}

/**
 * The wait before retry number `attempt` (1-based): "full jitter", a uniform draw from
 * [0, min(max, base·2^(attempt-1))), in whole milliseconds (backoffMs with minShare 0).
 */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(backoffMs(attempt, { initialMs: baseDelayMs, maxMs: maxDelayMs }, random));
}

/**
 * Calls `fn` until it succeeds, `shouldRetry` says no, or `retries` retries are spent; waits
 * with exponential backoff and full jitter in between. Written here rather than with
 * exponential-backoff so the sleep and the randomness can be injected in tests.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 50;
  const max = options.maxDelayMs ?? 2_000;
  const shouldRetry = options.shouldRetry ?? isTransient;
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt > options.retries || options.signal?.aborted || !shouldRetry(err, attempt)) throw err;
      const delay = backoffDelay(attempt, base, max, random);
      options.onRetry?.(err, attempt, delay);
      await wait(delay, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Bulkhead

export interface BulkheadOptions {
  maxConcurrent: number;
  maxQueue: number;
  /** Shown in the error, e.g. the target it protects. */
  name?: string;
}

/**
 * Limits concurrent calls: up to `maxConcurrent` run, up to `maxQueue` more wait in order,
 * and anything beyond is refused at once with SHOP_BULKHEAD_FULL (shedding load is better
 * than queueing without bound while a dependency is slow).
 */
export class Bulkhead {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly options: BulkheadOptions) {
    if (options.maxConcurrent < 1) throw new RangeError('maxConcurrent must be at least 1');
    if (options.maxQueue < 0) throw new RangeError('maxQueue must not be negative');
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.maxConcurrent) {
      if (this.waiting.length >= this.options.maxQueue) {
        const { maxConcurrent, maxQueue, name } = this.options;
        throw new ShopError(
          'SHOP_BULKHEAD_FULL',
          `${name ?? 'bulkhead'} is full (${maxConcurrent} running, ${maxQueue} queued)`,
          { maxConcurrent, maxQueue },
        );
      }
      // The slot is handed over by the finishing call, so `running` never dips below the limit.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
