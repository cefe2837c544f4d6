// Database failures as ShopErrors a caller can act on (ADR 20), applied by the HTTP and gRPC error
// paths of every service (http.ts, grpc-server.ts), so no service maps them by hand: an
// unreachable or overloaded database is 503 / UNAVAILABLE with Retry-After, a write conflict or
// deadlock 409 / ABORTED, a value the column cannot take 400 / INVALID_ARGUMENT
// (refusedValueError). Errors arrive three ways: Prisma's own classes (matched by name: each
// service generates its own client), the driver adapter's errors (@prisma/adapter-pg, found in
// `cause` or `meta.driverAdapterError`), and pg's (a DatabaseError with a SQLSTATE, a socket
// error, or one of its connection messages) from the outbox relay and raw queries.
import { ShopError } from './errors';
import { refusedValueError } from './input';

/** Seconds a client is told to wait (Retry-After) before it retries against an unavailable database. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/** Prisma codes that mean "try again": the database is unreachable or busy. */
const PRISMA_UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']);
/** Prisma's code for a write conflict or deadlock: the transaction was rolled back and may be retried as it is. */
const PRISMA_CONFLICT_CODES = new Set(['P2034']);
/** Driver adapter kinds (@prisma/driver-adapter-utils) that mean the database cannot be reached or is full. */
const ADAPTER_UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
const ADAPTER_CONFLICT_KINDS = new Set(['TransactionWriteConflict']);
/**
 * SQLSTATEs of an unavailable database: class 08 (connection exception), class 53 (insufficient
 * resources: too many connections, out of memory or disk), 57P01–57P03 (shutting down, crashed,
 * not accepting connections yet).
 */
const SQLSTATE_UNAVAILABLE = /^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[123])$/;
/** 40001 serialization failure, 40P01 deadlock. */
const SQLSTATE_CONFLICT = /^(40001|40P01)$/;
/** Socket failures (node's error codes) on the way to the database. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE']);
/** What pg says (plain Errors, no code) when a connection cannot be had or is lost. */
const PG_CONNECTION_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
];
const PRISMA_INITIALIZATION_ERROR = 'PrismaClientInitializationError';

type Failure = 'unavailable' | 'conflict';

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** What kind of database failure `err` (or what it wraps) is; undefined when it is none of these. */
function failureOf(err: unknown, depth: number): Failure | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  const name = fieldOf(err, 'name');
  if (name === PRISMA_INITIALIZATION_ERROR) return 'unavailable';
  const code = fieldOf(err, 'code');
  if (typeof code === 'string') {
    if (PRISMA_UNAVAILABLE_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code)) return 'unavailable';
    if (PRISMA_CONFLICT_CODES.has(code) || SQLSTATE_CONFLICT.test(code)) return 'conflict';
    if (SOCKET_CODES.has(code) && typeof fieldOf(err, 'syscall') === 'string') return 'unavailable';
  }
  const kind = fieldOf(err, 'kind');
  if (typeof kind === 'string') {
    if (ADAPTER_UNAVAILABLE_KINDS.has(kind)) return 'unavailable';
    if (ADAPTER_CONFLICT_KINDS.has(kind)) return 'conflict';
  }
  const originalCode = fieldOf(err, 'originalCode');
  if (typeof originalCode === 'string') {
    if (SQLSTATE_UNAVAILABLE.test(originalCode)) return 'unavailable';
    if (SQLSTATE_CONFLICT.test(originalCode)) return 'conflict';
  }
  const message = fieldOf(err, 'message');
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.some((m) => message.includes(m))) return 'unavailable';
  return (
    failureOf(fieldOf(err, 'cause'), depth + 1) ??
    failureOf(fieldOf(fieldOf(err, 'meta'), 'driverAdapterError'), depth + 1) ??
    failureOf(fieldOf(err, 'driverAdapterError'), depth + 1)
  );
}

/**
 * The ShopError for a database failure, or undefined when `err` is not one (a ShopError, a
 * unique violation a repository should have mapped, a bug): SHOP_DEPENDENCY_UNAVAILABLE (503,
 * Retry-After) when the database is unreachable or busy, SHOP_CONFLICT (409) for a write
 * conflict or deadlock (retry as it is), SHOP_VALIDATION_FAILED (400) for a value the database
 * refused. `database` names it in the message ("catalog").
 */
export function databaseError(err: unknown, database: string): ShopError | undefined {
  if (err instanceof ShopError) return undefined;
  switch (failureOf(err, 0)) {
    case 'unavailable':
      return new ShopError(
        'SHOP_DEPENDENCY_UNAVAILABLE',
        `The ${database} database is unavailable`,
        { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS },
        { cause: err },
      );
    case 'conflict':
      return new ShopError('SHOP_CONFLICT', 'A concurrent change conflicted; retry', undefined, { cause: err });
    default:
      return refusedValueError(err);
  }
}

/** databaseError(err, database), or `err` unchanged when it is not a database failure. */
export function mapDatabaseError(err: unknown, database: string): unknown {
  return databaseError(err, database) ?? err;
}
