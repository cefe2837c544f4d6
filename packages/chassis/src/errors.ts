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
}

export const ERROR_CODES = {
  SHOP_VALIDATION_FAILED: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, title: 'The request is not valid' },
  SHOP_BAD_REQUEST: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, title: 'The request cannot be processed' },
  SHOP_UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, title: 'Authentication is required' },
  SHOP_INVALID_CREDENTIALS: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, title: 'Wrong email or password' },
  SHOP_FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, title: 'Not allowed' },
  SHOP_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, title: 'Not found' },
  SHOP_ROUTE_NOT_FOUND: { http: 404, grpc: GrpcStatus.UNIMPLEMENTED, title: 'No such route' },
  SHOP_METHOD_NOT_ALLOWED: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED, title: 'Method not allowed' },
  SHOP_ALREADY_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, title: 'Already exists' },
  SHOP_CONFLICT: { http: 409, grpc: GrpcStatus.ABORTED, title: 'Conflicting concurrent change' },
  SHOP_IDEMPOTENCY_KEY_REUSED: {
    http: 422,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The idempotency key was used for a different request',
  },
  SHOP_ORDER_INVALID_STATE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The order is not in a state that allows this',
  },
  SHOP_RESERVATION_INVALID_STATE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The stock reservation is not in a state that allows this',
  },
  SHOP_OUT_OF_STOCK: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, title: 'Not enough stock' },
  SHOP_CART_EMPTY: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, title: 'The cart is empty' },
  SHOP_PRODUCT_UNAVAILABLE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'A product is no longer sold',
  },
  SHOP_PAYMENT_DECLINED: { http: 402, grpc: GrpcStatus.FAILED_PRECONDITION, title: 'The card was declined' },
  SHOP_INSUFFICIENT_FUNDS: { http: 402, grpc: GrpcStatus.FAILED_PRECONDITION, title: 'Insufficient funds' },
  SHOP_PAYMENT_INVALID_STATE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The payment is not in a state that allows this',
  },
  SHOP_REFUND_EXCEEDS_CAPTURE: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    title: 'The refund exceeds what is left to refund',
  },
  SHOP_INVALID_CARD: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, title: 'The card number is not valid' },
  SHOP_PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, title: 'The request body is too large' },
  SHOP_UNSUPPORTED_MEDIA_TYPE: {
    http: 415,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    title: 'Unsupported content type',
  },
  SHOP_RATE_LIMITED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, title: 'Too many requests' },
  SHOP_BULKHEAD_FULL: { http: 503, grpc: GrpcStatus.RESOURCE_EXHAUSTED, title: 'Too many concurrent calls' },
  SHOP_DEPENDENCY_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, title: 'A dependency is unavailable' },
  SHOP_CIRCUIT_OPEN: { http: 503, grpc: GrpcStatus.UNAVAILABLE, title: 'Circuit breaker open' },
  SHOP_NOT_READY: { http: 503, grpc: GrpcStatus.UNAVAILABLE, title: 'The service is not ready' },
  SHOP_SHUTTING_DOWN: { http: 503, grpc: GrpcStatus.UNAVAILABLE, title: 'The service is shutting down' },
  SHOP_CHAOS_INJECTED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, title: 'Fault injected by the chaos controller' },
  SHOP_TIMEOUT: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, title: 'Timed out' },
  SHOP_INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, title: 'Internal error' },
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

  /** True when retrying the same call later may succeed. */
  get transient(): boolean {
    return isTransientGrpcStatus(this.grpcStatus);
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

export const PROBLEM_TYPE_BASE = 'https://shoplab.dev/problems/';

export function problemOf(err: ShopError, instance?: string): Problem {
  const spec = ERROR_CODES[err.code];
  return {
    ...err.details,
    type: `${PROBLEM_TYPE_BASE}${err.code
      .toLowerCase()
      .replace(/^shop_/, '')
      .replaceAll('_', '-')}`,
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
