// Addresses: what a valid postal address is, and the one-default rule. Plain rules, no I/O.
import { isIsoCountryCode } from './countries';
import { CONTROL_CHARACTERS, type FieldError, validationError } from './validation';

export const ADDRESS_LINE_MAX_LENGTH = 200;
export const CITY_MAX_LENGTH = 100;
export const POSTAL_CODE_MAX_LENGTH = 20;
/** Letters, digits, spaces and dashes: covers `10115`, `SW1A 1AA`, `02-677`, `K1A 0B1`. */
export const POSTAL_CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 -]*$/;
export const COUNTRY_PATTERN = /^[A-Z]{2}$/;

export interface AddressInput {
  line1: string;
  line2?: string | undefined;
  city: string;
  postalCode: string;
  country: string;
}

export interface Address extends NormalizedAddress {
  id: string;
  isDefault: boolean;
}

export interface NormalizedAddress {
  line1: string;
  /** Absent rather than empty. */
  line2: string | undefined;
  city: string;
  postalCode: string;
  country: string;
}

function textProblem(value: string, max: number, required: boolean): string | undefined {
  if (value.length === 0) return required ? 'is required' : undefined;
  if (value.length > max) return `must be at most ${max} characters`;
  if (CONTROL_CHARACTERS.test(value)) return 'must not contain control characters';
  return undefined;
}

export function countryProblem(country: string): string | undefined {
  if (!COUNTRY_PATTERN.test(country)) return 'must be an ISO 3166-1 alpha-2 code in upper case (e.g. US, DE)';
  if (!isIsoCountryCode(country)) return `"${country}" is not an ISO 3166-1 alpha-2 country code`;
  return undefined;
}

export function postalCodeProblem(postalCode: string): string | undefined {
  const text = textProblem(postalCode, POSTAL_CODE_MAX_LENGTH, true);
  if (text) return text;
  if (!POSTAL_CODE_PATTERN.test(postalCode)) return 'may contain only letters, digits, spaces and dashes';
  return undefined;
}

/**
 * The address with every field trimmed (an empty line2 becomes absent); throws
 * SHOP_VALIDATION_FAILED listing every bad field, named `${prefix}line1` and so on.
 */
export function validAddress(input: AddressInput, prefix = ''): NormalizedAddress {
  const address: NormalizedAddress = {
    line1: input.line1.trim(),
    line2: input.line2?.trim() || undefined,
    city: input.city.trim(),
    postalCode: input.postalCode.trim(),
    country: input.country.trim(),
  };
  const problems: [keyof NormalizedAddress, string | undefined][] = [
    ['line1', textProblem(address.line1, ADDRESS_LINE_MAX_LENGTH, true)],
    ['line2', textProblem(address.line2 ?? '', ADDRESS_LINE_MAX_LENGTH, false)],
    ['city', textProblem(address.city, CITY_MAX_LENGTH, true)],
    ['postalCode', postalCodeProblem(address.postalCode)],
    ['country', countryProblem(address.country)],
  ];
  const errors: FieldError[] = [];
  for (const [field, message] of problems) if (message) errors.push({ field: `${prefix}${field}`, message });
  if (errors.length > 0) throw validationError(errors);
  return address;
}

/**
 * Whether a new address becomes the default: when asked, and always for a user's first
 * address (so a user with addresses has a default). The other addresses then lose the flag.
 */
export function becomesDefault(requested: boolean | undefined, existingAddresses: number): boolean {
  return requested === true || existingAddresses === 0;
}
