// Idempotency keys of the stock commands. No I/O.
import { createHash } from 'node:crypto';
import { ShopError } from '@shoplab/chassis/errors';

export type StockOperation = 'reserve' | 'commit' | 'release' | 'restock';

/** What is stored under a key: the first successful outcome of one request. */
export interface IdempotencyRecord {
  key: string;
  operation: StockOperation;
  fingerprint: string;
  response: unknown;
}

/** JSON with sorted object keys, so equal requests give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A digest of the operation and its (normalized) request. */
export function fingerprintOf(operation: StockOperation, request: unknown): string {
  return createHash('sha256').update(canonicalJson({ operation, request })).digest('hex');
}

/** The stored outcome for a retry of the same request; a different request under the key is refused. */
export function replay(record: IdempotencyRecord, operation: StockOperation, fingerprint: string): unknown {
  if (record.operation !== operation || record.fingerprint !== fingerprint) {
    throw new ShopError(
      'SHOP_IDEMPOTENCY_KEY_REUSED',
      `The idempotency key ${record.key} was used for a different ${record.operation} request`,
      { idempotencyKey: record.key, operation: record.operation },
    );
  }
  return record.response;
}

export const MAX_KEY_LENGTH = 200;

/**
 * The key from the request field or the `idempotency-key` header (either will do; both must
 * agree). A command without one is refused: a retry could not be recognised.
 */
export function resolveIdempotencyKey(fromBody: string | undefined, fromHeader: string | undefined): string {
  const body = fromBody?.trim() || undefined;
  const header = fromHeader?.trim() || undefined;
  if (body && header && body !== header) {
    throw new ShopError('SHOP_VALIDATION_FAILED', 'The idempotency key in the request and in the header differ');
  }
  const key = body ?? header;
  if (!key)
    throw new ShopError('SHOP_VALIDATION_FAILED', 'An idempotency key is required', { field: 'idempotencyKey' });
  if (key.length > MAX_KEY_LENGTH) {
    throw new ShopError('SHOP_VALIDATION_FAILED', `The idempotency key is longer than ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}
