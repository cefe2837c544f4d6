// Input a service cannot store: the one place every HTTP app and gRPC server checks it, so
// a client's bad bytes are a 400 / INVALID_ARGUMENT naming the field, never a 500 from the
// database (which a calling service would count against this one's circuit breaker).
//
// Route schemas check types, lengths, ranges and formats; what they cannot express is checked
// here for every string of a request, at any depth:
//   - NUL (U+0000): PostgreSQL text cannot hold it ("invalid byte sequence for encoding UTF8: 0x00");
//   - lone surrogates (U+D800–U+DFFF unpaired, e.g. JSON "\ud800"): not Unicode; the
//     PostgreSQL driver would silently store U+FFFD instead, so the stored text is not what was sent.
// Bytes that are not UTF-8 never reach a handler as such: a JSON body is decoded with
// replacement characters, and a path or query string whose percent-escapes are not UTF-8
// (`%FF`, `%ED%A0%80`) is refused as SHOP_BAD_REQUEST (the query parser would keep them as
// literal text, so the handler would search for something the client never meant).
import { ShopError } from './errors';

/** One failing field, as in SHOP_VALIDATION_FAILED's `errors`. */
export interface InputIssue {
  field: string;
  message: string;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** Why PostgreSQL cannot store `text` as it is, or undefined when it can. */
export function unstorableTextReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL (U+0000) characters';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode text (it holds an unpaired surrogate)';
  return undefined;
}

const MAX_DEPTH = 32;

/**
 * The first string (value or object key) in `value` that cannot be stored, with its path
 * (`body.card.number`, `query.q`). Depth is bounded; JSON bodies are bounded by the body limit.
 */
export function findUnstorableText(value: unknown, path: string, depth = 0): InputIssue | undefined {
  if (typeof value === 'string') {
    const message = unstorableTextReason(value);
    return message ? { field: path, message } : undefined;
  }
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const issue = findUnstorableText(value[i], `${path}.${i}`, depth + 1);
      if (issue) return issue;
    }
    return undefined;
  }
  // Only what a parser builds from text is walked: plain objects. A buffer, a stream (a
  // proxied body), a Date or any class instance is not request text, and walking one would
  // follow its internals.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const keyReason = unstorableTextReason(key);
    if (keyReason) return { field: `${path}.${JSON.stringify(key)}`, message: `(a key) ${keyReason}` };
    const issue = findUnstorableText(item, `${path}.${key}`, depth + 1);
    if (issue) return issue;
  }
  return undefined;
}

/** A SHOP_VALIDATION_FAILED for the first unstorable string among `parts`, or undefined. */
export function unstorableInputError(parts: Record<string, unknown>): ShopError | undefined {
  for (const [name, value] of Object.entries(parts)) {
    const issue = findUnstorableText(value, name);
    if (issue) {
      return new ShopError('SHOP_VALIDATION_FAILED', `${issue.field}: ${issue.message}`, { errors: [issue] });
    }
  }
  return undefined;
}

/** SHOP_BAD_REQUEST when the query string of `url` has percent-escapes that are not UTF-8. */
export function undecodableQueryError(url: string): ShopError | undefined {
  const at = url.indexOf('?');
  if (at < 0) return undefined;
  for (const pair of url.slice(at + 1).split('&')) {
    for (const part of pair.split('=')) {
      try {
        decodeURIComponent(part.replaceAll('+', ' '));
      } catch {
        return new ShopError('SHOP_BAD_REQUEST', 'The query string is not UTF-8 (a percent-escape does not decode)', {
          errors: [{ field: 'query', message: `"${part.slice(0, 64)}" does not decode as UTF-8` }],
        });
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// The database refusing a value

/**
 * Prisma's codes for a value the database refused (a client's value that got past
 * validation): P2000 too long for the column, P2006 not valid for the field, P2007 data
 * validation, P2019 input error, P2020 out of range, P2023 inconsistent column data (e.g. not a uuid).
 */
const PRISMA_VALUE_CODES = new Set(['P2000', 'P2006', 'P2007', 'P2019', 'P2020', 'P2023']);
/** Driver adapter error kinds (@prisma/driver-adapter-utils) that mean the same. */
const ADAPTER_VALUE_KINDS = new Set(['LengthMismatch', 'ValueOutOfRange', 'InvalidInputValue']);
/** SQLSTATE class 22 is "data exception": a value the column or function cannot take. */
const SQLSTATE_DATA_EXCEPTION = /^22[0-9A-Z]{3}$/;

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function refusedValue(err: unknown, depth: number): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const code = fieldOf(err, 'code');
  if (typeof code === 'string' && (PRISMA_VALUE_CODES.has(code) || SQLSTATE_DATA_EXCEPTION.test(code))) return true;
  const originalCode = fieldOf(err, 'originalCode');
  if (typeof originalCode === 'string' && SQLSTATE_DATA_EXCEPTION.test(originalCode)) return true;
  const kind = fieldOf(err, 'kind');
  if (typeof kind === 'string' && ADAPTER_VALUE_KINDS.has(kind)) return true;
  const meta = fieldOf(err, 'meta');
  return (
    refusedValue(fieldOf(err, 'cause'), depth + 1) ||
    refusedValue(fieldOf(meta, 'driverAdapterError'), depth + 1) ||
    refusedValue(fieldOf(err, 'driverAdapterError'), depth + 1)
  );
}

/**
 * SHOP_VALIDATION_FAILED when `err` is the database (through Prisma or pg) refusing a value:
 * the request carried something a route's schema let through but the column cannot take. The
 * last line of defence; the schemas and findUnstorableText are the first.
 */
export function refusedValueError(err: unknown): ShopError | undefined {
  if (err instanceof ShopError || !refusedValue(err, 0)) return undefined;
  return new ShopError(
    'SHOP_VALIDATION_FAILED',
    'A value of the request cannot be stored (too long, out of range or not of the expected form)',
    undefined,
    { cause: err },
  );
}
