// The one table of stable error codes. Each code maps once to an HTTP status (problem+json)
// and a gRPC status. This module imports nothing, so domain code may use it
// (`@shoplab/chassis/errors`).

/** gRPC status codes (grpc/grpc doc/statuscodes.md); numerically identical to @grpc/grpc-js `status`. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

interface ErrorSpec {
  http: number;
  grpc: GrpcStatusCode;
  title: string;
  /** What it means and what the client can do: the page at the problem's `type` (`/problems/<slug>`). */
  about: string;
}

export const ERROR_CODES = {
  SHOP_VALIDATION_FAILED: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    title: 'The request is not valid',
    about:
      'A field of the request breaks its rules (type, length, range, format, or text a database cannot store such as NUL characters or lone surrogates). `errors` lists each failing field with the reason. Fix the request; repeating it unchanged fails the same way.',
  },
  SHOP_BAD_REQUEST: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    title: 'The request cannot be processed',
    about:
      'The request could not be read or used as sent: malformed JSON, an empty body where one is needed, a URL that does not decode, or a precondition the caller got wrong. Fix the request before sending it again.',
  },
  SHOP_UNAUTHENTICATED: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    title: 'Authentication is required',
    about:
      'The operation needs a token (`Authorization: Bearer …`) and none was sent, or the token is expired or not valid. Log in (`POST /api/v1/auth/login`) and send the token.',
  },
  SHOP_INVALID_CREDENTIALS: {
    http: 401,
    grpc: GrpcStatus.UNAUTHENTICATED,
    title: 'Wrong email or password',
    about: 'The email and password do not match an account. Too many failures for one email answer 429 for a while.',
  },
  SHOP_FORBIDDEN: {
    http: 403,
    grpc: GrpcStatus.PERMISSION_DENIED,
    title: 'Not allowed',
    about:
      'The token is valid but does not allow this operation (for example a user token on an admin route, or a wrong admin token).',
  },
  SHOP_NOT_FOUND: {
    http: 404,
    grpc: GrpcStatus.NOT_FOUND,
    title: 'Not found',
    about:
      "The resource does not exist, or is not the caller's (another user's order is answered as not found, so ids cannot be probed).",
  },
  SHOP_ROUTE_NOT_FOUND: {
    http: 404,
    grpc: GrpcStatus.UNIMPLEMENTED,
    title: 'No such route',
    about: 'No operation has this path. The OpenAPI document (`/openapi.json`) lists every path.',
  },
  SHOP_METHOD_NOT_ALLOWED: {
    http: 405,
    grpc: GrpcStatus.UNIMPLEMENTED,
    title: 'Method not allowed',
    about: 'The path exists but not with this HTTP method. The `Allow` header lists the methods it has.',
  },
  SHOP_ALREADY_EXISTS: {
    http: 409,
    grpc: GrpcStatus.ALREADY_EXISTS,
    title: 'Already exists',
    about: 'Something with the same identity already exists (for example an account with this email).',
  },
  SHOP_CONFLICT: {
    http: 409,
    grpc: GrpcStatus.ABORTED,
    title: 'Conflicting concurrent change',
    about: 'Another change to the same resource happened at the same time. Read it again and retry the change.',
  },
  SHOP_IDEMPOTENCY_KEY_REUSED: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The idempotency key was used for a different request',
    about:
      'The Idempotency-Key was already used with a different request body. Use a new key for a new request; the same key only replays the same request.',
  },
  SHOP_ORDER_INVALID_STATE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The order is not in a state that allows this',
    about: "The order's current status does not allow this operation.",
  },
  SHOP_RESERVATION_INVALID_STATE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The stock reservation is not in a state that allows this',
    about: "The stock reservation's current status does not allow this transition.",
  },
  SHOP_OUT_OF_STOCK: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'Not enough stock',
    about: 'Not enough units of a product are left; the problem names the product and what is available.',
  },
  SHOP_LINE_LIMIT_EXCEEDED: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The cart line would exceed its quantity limit',
    about:
      'The quantity asked for is valid, but with what the cart line already holds it would pass the limit per line (99). Change the line with `PATCH /api/v1/cart/items/<productId>` instead.',
  },
  SHOP_CART_EMPTY: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The cart is empty',
    about: 'Checkout needs at least one line in the cart.',
  },
  SHOP_PRODUCT_UNAVAILABLE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'A product is no longer sold',
    about: 'A product in the request is no longer sold.',
  },
  SHOP_PAYMENT_DECLINED: {
    http: 402,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The card was declined',
    about: 'The card issuer declined the payment. Another card may work.',
  },
  SHOP_INSUFFICIENT_FUNDS: {
    http: 402,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'Insufficient funds',
    about: 'The card does not have enough funds for the amount.',
  },
  SHOP_PAYMENT_INVALID_STATE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The payment is not in a state that allows this',
    about: "The payment's current status does not allow this operation (for example capturing a voided payment).",
  },
  SHOP_REFUND_EXCEEDS_CAPTURE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The refund exceeds what is left to refund',
    about: 'The refund is larger than what was captured and not yet refunded.',
  },
  SHOP_INVALID_CARD: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    title: 'The card number is not valid',
    about: 'The card number fails its checksum or format, or the card has expired.',
  },
  SHOP_SHIPPING_DESTINATION_UNSUPPORTED: {
    http: 422,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    title: 'The destination is not served',
    about:
      'Shipping does not deliver to this country (the legacy shipping system calls it E101). Choose a served destination: US, CA, MX, GB, DE, FR, NL, IT, ES, JP, AU or BR.',
  },
  SHOP_SHIPMENT_NOT_CANCELLABLE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The shipment can no longer be cancelled',
    about:
      'Only a booked shipment can be cancelled; one in transit or delivered cannot (the legacy shipping system calls it E300).',
  },
  SHOP_PAYLOAD_TOO_LARGE: {
    http: 413,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    title: 'The request body is too large',
    about: 'The request body is larger than the service accepts.',
  },
  SHOP_UNSUPPORTED_MEDIA_TYPE: {
    http: 415,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    title: 'Unsupported content type',
    about: "The request body's Content-Type is not one the operation reads; send `application/json`.",
  },
  SHOP_RATE_LIMITED: {
    http: 429,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    title: 'Too many requests',
    about:
      'The client sent more requests than its budget allows. Wait the seconds in the `Retry-After` header (also `retryAfterSeconds`) before trying again.',
  },
  SHOP_TOO_MANY_STREAMS: {
    http: 429,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    title: 'Too many open streams',
    about:
      'The caller (or the whole gateway) has as many event streams open as it allows. Close one, or wait the seconds in the `Retry-After` header before opening another.',
  },
  SHOP_BULKHEAD_FULL: {
    http: 503,
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    title: 'Too many concurrent calls',
    about:
      'A service has as many calls to a dependency in flight as it allows and refused this one rather than queue it. Retry after a short wait.',
  },
  SHOP_DEPENDENCY_UNAVAILABLE: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    title: 'A dependency is unavailable',
    about: 'A service this operation needs could not be reached or failed. The shop is degraded; retry later.',
  },
  SHOP_CIRCUIT_OPEN: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    title: 'Circuit breaker open',
    about:
      'Calls to a failing dependency are short-circuited for a few seconds so it can recover (a circuit breaker is open). Retry later.',
  },
  SHOP_NOT_READY: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    title: 'The service is not ready',
    about: 'The service is starting or lost a dependency it cannot work without. Retry later.',
  },
  SHOP_SHUTTING_DOWN: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    title: 'The service is shutting down',
    about: 'The instance is shutting down; another instance (or a retry a moment later) answers.',
  },
  SHOP_CHAOS_INJECTED: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    title: 'Fault injected by the chaos controller',
    about:
      'A fault was injected on purpose through the admin chaos API (an exercise or a test). Clear it with `DELETE /api/v1/admin/chaos/<service>`.',
  },
  SHOP_TIMEOUT: {
    http: 504,
    grpc: GrpcStatus.DEADLINE_EXCEEDED,
    title: 'Timed out',
    about:
      'A call inside the shop did not answer within its deadline. The outcome of a command may be unknown: retry it with the same Idempotency-Key.',
  },
  SHOP_INTERNAL: {
    http: 500,
    grpc: GrpcStatus.INTERNAL,
    title: 'Internal error',
    about:
      'An unexpected error inside the service: a bug. The `x-request-id` and `x-trace-id` headers of the answer find it in the logs and traces.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** An error with a stable code; everything a client can be told about it is in here. */
export class ShopError extends Error {
  override readonly name = 'ShopError';
  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** Extra members for the problem document (e.g. `{ productId, available }`). */
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message ?? ERROR_CODES[code].title, options);
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  get grpcStatus(): GrpcStatusCode {
    return ERROR_CODES[this.code].grpc;
  }

  /**
   * True when retrying the same call later may succeed: a server-side failure (5xx) with a
   * transient gRPC status. A client's mistake (4xx, e.g. 409 SHOP_CONFLICT or 429
   * SHOP_RATE_LIMITED from a downstream) is never retried by the resilience layer: the caller decides.
   */
  get transient(): boolean {
    return this.httpStatus >= 500 && isTransientGrpcStatus(this.grpcStatus);
  }
}

export function isTransientGrpcStatus(code: number): boolean {
  return (
    code === GrpcStatus.UNAVAILABLE ||
    code === GrpcStatus.DEADLINE_EXCEEDED ||
    code === GrpcStatus.RESOURCE_EXHAUSTED ||
    code === GrpcStatus.ABORTED
  );
}

/** RFC 9457 problem details, with our stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/**
 * Where the pages explaining each code are served: every service's HTTP app (the gateway's
 * for clients) answers `GET /problems/<slug>`. A relative reference (RFC 9457 §3.1.1): it
 * resolves against whichever service answered, so it never names a host the shop does not serve.
 */
export const PROBLEM_TYPE_BASE = '/problems/';

/** `SHOP_OUT_OF_STOCK` → `out-of-stock`: the last segment of the problem's `type`. */
export function problemSlug(code: ErrorCode): string {
  return code
    .toLowerCase()
    .replace(/^shop_/, '')
    .replaceAll('_', '-');
}

/** The code whose page is `/problems/<slug>`, if any. */
export function codeOfProblemSlug(slug: string): ErrorCode | undefined {
  const code = `SHOP_${slug.toUpperCase().replaceAll('-', '_')}`;
  return isErrorCode(code) && problemSlug(code) === slug ? code : undefined;
}

/** The `type` URI of a code's problems. */
export function problemTypeOf(code: ErrorCode): string {
  return `${PROBLEM_TYPE_BASE}${problemSlug(code)}`;
}

export function problemOf(err: ShopError, instance?: string): Problem {
  const spec = ERROR_CODES[err.code];
  return {
    ...err.details,
    type: problemTypeOf(err.code),
    title: spec.title,
    status: spec.http,
    code: err.code,
    detail: err.message,
    ...(instance ? { instance } : {}),
  };
}

/** The error code closest to a gRPC status, for errors that arrive without our code. */
export function codeForGrpcStatus(code: number): ErrorCode {
  switch (code) {
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE:
      return 'SHOP_VALIDATION_FAILED';
    case GrpcStatus.NOT_FOUND:
      return 'SHOP_NOT_FOUND';
    case GrpcStatus.ALREADY_EXISTS:
      return 'SHOP_ALREADY_EXISTS';
    case GrpcStatus.PERMISSION_DENIED:
      return 'SHOP_FORBIDDEN';
    case GrpcStatus.UNAUTHENTICATED:
      return 'SHOP_UNAUTHENTICATED';
    case GrpcStatus.FAILED_PRECONDITION:
      return 'SHOP_BAD_REQUEST';
    case GrpcStatus.ABORTED:
      return 'SHOP_CONFLICT';
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'SHOP_RATE_LIMITED';
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'SHOP_TIMEOUT';
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED:
      return 'SHOP_DEPENDENCY_UNAVAILABLE';
    default:
      return 'SHOP_INTERNAL';
  }
}

/**
 * An error as one line of text: its message (anything else thrown: String(value)). With
 * `cause`, an Error cause's message is appended — fetch puts the real reason (ECONNREFUSED…) there.
 */
export function errorText(err: unknown, options: { cause?: boolean } = {}): string {
  if (!(err instanceof Error)) return String(err);
  const cause = options.cause ? (err as { cause?: unknown }).cause : undefined;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}
