import { ShopError } from '@shoplab/chassis/errors';

/** One failing field, in the shape the chassis uses for request validation errors. */
export interface FieldError {
  field: string;
  message: string;
}

/** SHOP_VALIDATION_FAILED listing every failing field (`details.errors`), like a failed request schema. */
export function validationError(errors: readonly FieldError[]): ShopError {
  return new ShopError('SHOP_VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
    errors: [...errors],
  });
}

// Any 8-4-4-4-12 hex id; PostgreSQL's uuid type accepts exactly these.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Throws SHOP_VALIDATION_FAILED unless `value` is a uuid (so a bad id never reaches the database). */
export function requireUuid(field: string, value: string): string {
  if (!isUuid(value)) throw validationError([{ field, message: value ? 'must be a uuid' : 'is required' }]);
  return value.toLowerCase();
}

/** Letters of other scripts are fine; control characters (newlines, NUL…) never are. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
