// The one client the gateway uses for the downstreams' REST APIs (user auth, cart, checkout):
// fetch with a deadline (AbortSignal.timeout), a circuit breaker per target, one retry of a
// GET on a transient failure, and instances from a registry, round robin. A downstream's
// problem+json comes back as the same ShopError (code, detail and extra members), so the
// gateway answers with the downstream's status and code. Each request says how long the gateway
// will wait for it (X-Request-Timeout-Ms, and the moment as X-Request-Deadline, epoch ms, which
// also counts the time the request waits to be read), so a target can refuse at once what it
// could not answer in time (order's checkout admission, docs/adr/0016-checkout-load-shedding.md).

import {
  type Breaker,
  type BreakerRegistry,
  createBreaker,
  type ErrorCode,
  isErrorCode,
  type Logger,
  RoundRobin,
  type ServiceMetrics,
  type ServiceRegistry,
  ShopError,
} from '@shoplab/chassis';
import { baseUrlOf } from '../application/ports';

export interface RestRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query on the target, e.g. `/v1/cart/items/p-1`. */
  path: string;
  headers?: Record<string, string | undefined>;
  body?: unknown;
  /** Overrides the target's deadline. */
  deadlineMs?: number;
}

export interface RestResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RestClientOptions {
  caller: string;
  /** Where the targets' HTTP instances are listed (`port` is the HTTP port). */
  registry: ServiceRegistry;
  /** Deadline per target, in ms. */
  deadlines: Record<string, number>;
  /** Breaker thresholds (tests lower them). */
  breaker?: { volumeThreshold?: number; errorThresholdPercentage?: number; resetTimeoutMs?: number };
  /**
   * Requests this gateway has in flight at a target at most (per target, absent: no limit); one
   * more is refused at once with 503 SHOP_BULKHEAD_FULL and Retry-After, without reaching the
   * target, so a burst does not pile up on a process that would read it too late.
   */
  maxInFlight?: Record<string, number>;
}

export interface RestClientDeps {
  metrics: Pick<ServiceMetrics, 'breakerState' | 'breakerEvents'>;
  breakers: BreakerRegistry;
  logger: Logger;
}

type Thunk = () => Promise<RestResponse>;

/** The gateway's remaining deadline for a request, in ms, sent with it. */
export const REQUEST_TIMEOUT_HEADER = 'x-request-timeout-ms';
/** The same deadline as a moment (ms since the epoch). */
export const REQUEST_DEADLINE_HEADER = 'x-request-deadline';

/** The breaker of a REST target is named `<service>-http`, apart from the gRPC breaker of the same service. */
export const restBreakerTarget = (service: string) => `${service}-http`;

const MEMBERS_OF_THE_PROBLEM_ITSELF = new Set(['type', 'title', 'status', 'code', 'detail', 'instance']);

export class RestClient {
  private readonly breakers = new Map<string, Breaker<[Thunk], RestResponse>>();
  private readonly roundRobin = new RoundRobin();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly options: RestClientOptions,
    private readonly deps: RestClientDeps,
  ) {
    for (const target of Object.keys(options.deadlines)) this.breakerOf(target);
  }

  /**
   * Sends a request to `target` and resolves with a 2xx/3xx response; a 4xx/5xx answer, a
   * timeout, a refused connection or an open breaker rejects with a ShopError.
   */
  async request<T = unknown>(target: string, req: RestRequest): Promise<RestResponse<T>> {
    const limit = this.options.maxInFlight?.[target];
    if (limit === undefined) return this.send<T>(target, req);
    const now = this.inFlight.get(target) ?? 0;
    if (now >= limit) {
      throw new ShopError(
        'SHOP_BULKHEAD_FULL',
        `${target} has ${now} requests in flight from this gateway; retry in 1 s`,
        {
          target,
          retryAfterSeconds: 1,
        },
      );
    }
    this.inFlight.set(target, now + 1);
    try {
      return await this.send<T>(target, req);
    } finally {
      this.inFlight.set(target, (this.inFlight.get(target) ?? 1) - 1);
    }
  }

  private async send<T>(target: string, req: RestRequest): Promise<RestResponse<T>> {
    const deadlineMs = req.deadlineMs ?? this.options.deadlines[target] ?? 2_000;
    const deadline = Date.now() + deadlineMs;
    const breaker = this.breakerOf(target);
    const attempt = () => breaker.fire(() => this.attempt(target, req, deadline, deadlineMs));
    try {
      return (await attempt()) as RestResponse<T>;
    } catch (err) {
      const retryable =
        req.method === 'GET' &&
        err instanceof ShopError &&
        err.code === 'SHOP_DEPENDENCY_UNAVAILABLE' &&
        Date.now() < deadline;
      if (!retryable) throw err;
      this.deps.logger.warn({ target, path: req.path, code: err.code }, 'retrying REST call');
      return (await attempt()) as RestResponse<T>;
    }
  }

  private async attempt(target: string, req: RestRequest, deadline: number, deadlineMs: number): Promise<RestResponse> {
    const instance = this.roundRobin.next(target, await this.options.registry.instances(target));
    const url = `${baseUrlOf(instance)}${req.path}`;
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== undefined) headers[k] = v;
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const remaining = Math.max(1, deadline - Date.now());
    headers[REQUEST_TIMEOUT_HEADER] = String(remaining);
    headers[REQUEST_DEADLINE_HEADER] = String(deadline);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        signal: AbortSignal.timeout(remaining),
        redirect: 'manual',
      });
      text = await res.text();
    } catch (err) {
      throw transportError(err, target, req, deadlineMs);
    }
    const body = parseJson(text);
    if (res.status >= 400) throw problemToShopError(res.status, body, target);
    return { status: res.status, headers: res.headers, body };
  }

  private breakerOf(target: string): Breaker<[Thunk], RestResponse> {
    let breaker = this.breakers.get(target);
    if (!breaker) {
      breaker = createBreaker(
        (work: Thunk) => work(),
        {
          caller: this.options.caller,
          target: restBreakerTarget(target),
          timeoutMs: false,
          errorThresholdPercentage: this.options.breaker?.errorThresholdPercentage ?? 50,
          volumeThreshold: this.options.breaker?.volumeThreshold ?? 10,
          resetTimeoutMs: this.options.breaker?.resetTimeoutMs ?? 10_000,
          // The target answered: a 4xx is the caller's business, not a sign of ill health; nor is
          // a request it shed at once to keep its own deadlines (503 SHOP_BULKHEAD_FULL with
          // Retry-After): opening the breaker then would refuse what it can still take.
          isFailure: (err) =>
            !(err instanceof ShopError && (err.httpStatus < 500 || err.code === 'SHOP_BULKHEAD_FULL')),
        },
        { metrics: this.deps.metrics, registry: this.deps.breakers, logger: this.deps.logger },
      );
      this.breakers.set(target, breaker);
    }
    return breaker;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function transportError(err: unknown, target: string, req: RestRequest, deadlineMs: number): ShopError {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ShopError('SHOP_TIMEOUT', `${target} ${req.method} ${req.path}: no answer within ${deadlineMs} ms`, {
      target,
    });
  }
  return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `${target} could not be reached`, { target }, { cause: err });
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'SHOP_BAD_REQUEST',
  401: 'SHOP_UNAUTHENTICATED',
  403: 'SHOP_FORBIDDEN',
  404: 'SHOP_NOT_FOUND',
  409: 'SHOP_CONFLICT',
  413: 'SHOP_PAYLOAD_TOO_LARGE',
  415: 'SHOP_UNSUPPORTED_MEDIA_TYPE',
  429: 'SHOP_RATE_LIMITED',
  504: 'SHOP_TIMEOUT',
};

/** A downstream's error answer as the ShopError it stands for. */
export function problemToShopError(status: number, body: unknown, target: string): ShopError {
  if (typeof body === 'object' && body !== null && isErrorCode((body as { code?: unknown }).code)) {
    const problem = body as Record<string, unknown> & { code: ErrorCode; detail?: unknown };
    const extras = Object.fromEntries(Object.entries(problem).filter(([k]) => !MEMBERS_OF_THE_PROBLEM_ITSELF.has(k)));
    return new ShopError(
      problem.code,
      typeof problem.detail === 'string' ? problem.detail : undefined,
      Object.keys(extras).length > 0 ? extras : undefined,
    );
  }
  const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'SHOP_DEPENDENCY_UNAVAILABLE' : 'SHOP_BAD_REQUEST');
  return new ShopError(code, `${target} answered ${status}`, { target });
}
