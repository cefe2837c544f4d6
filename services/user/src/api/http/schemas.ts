// The REST API's request and response shapes. Request bodies are strict: an unknown field is
// a 400 naming it (a typo such as `passwrod` must not be silently dropped).
import { z } from 'zod';
import type { UserWithAddresses } from '../../application/ports';
import {
  ADDRESS_LINE_MAX_LENGTH,
  type Address,
  CITY_MAX_LENGTH,
  COUNTRY_PATTERN,
  POSTAL_CODE_MAX_LENGTH,
  POSTAL_CODE_PATTERN,
} from '../../domain/address';
import { isIsoCountryCode } from '../../domain/countries';
import { NOTIFICATION_KINDS, type Notification } from '../../domain/notification';
import {
  EMAIL_MAX_LENGTH,
  NAME_MAX_LENGTH,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  type UserProfile,
} from '../../domain/user';

const email = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email('must be an email address').max(EMAIL_MAX_LENGTH))
  .describe('Compared and stored trimmed and in lower case');

export const registerBody = z.strictObject({
  email,
  password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH),
  name: z.string().trim().min(1).max(NAME_MAX_LENGTH),
});

// Login does not apply the registration policy to the password: a policy change must not
// turn old passwords into 400s. Any non-empty password up to the maximum is checked.
export const loginBody = z.strictObject({
  email: z.string().min(1).max(EMAIL_MAX_LENGTH),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

export const addressBody = z.strictObject({
  line1: z.string().trim().min(1).max(ADDRESS_LINE_MAX_LENGTH),
  line2: z.string().trim().max(ADDRESS_LINE_MAX_LENGTH).nullish(),
  city: z.string().trim().min(1).max(CITY_MAX_LENGTH),
  postalCode: z
    .string()
    .trim()
    .min(1)
    .max(POSTAL_CODE_MAX_LENGTH)
    .regex(POSTAL_CODE_PATTERN, 'may contain only letters, digits, spaces and dashes'),
  country: z
    .string()
    .regex(COUNTRY_PATTERN, { message: 'must be an ISO 3166-1 alpha-2 code in upper case (e.g. US, DE)', abort: true })
    .refine(isIsoCountryCode, 'is not an ISO 3166-1 alpha-2 country code')
    .describe('ISO 3166-1 alpha-2, upper case'),
  isDefault: z.boolean().optional().describe("Make it the default address (a user's first address always is)"),
});

/** The most notifications one request lists. */
export const MAX_NOTIFICATIONS_PAGE = 200;

export const addressIdParams = z.strictObject({ id: z.guid('must be a uuid') });

export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
});

export const addressSchema = z.object({
  id: z.uuid(),
  line1: z.string(),
  line2: z.string().nullable(),
  city: z.string(),
  postalCode: z.string(),
  country: z.string(),
  isDefault: z.boolean(),
});

export const profileSchema = userSchema.extend({ addresses: z.array(addressSchema) });

export function userJson(user: UserProfile): z.infer<typeof userSchema> {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt.toISOString() };
}

export function addressJson(address: Address): z.infer<typeof addressSchema> {
  return {
    id: address.id,
    line1: address.line1,
    line2: address.line2 ?? null,
    city: address.city,
    postalCode: address.postalCode,
    country: address.country,
    isDefault: address.isDefault,
  };
}

export function profileJson(user: UserWithAddresses): z.infer<typeof profileSchema> {
  return { ...userJson(user), addresses: user.addresses.map(addressJson) };
}

export const notificationSchema = z.object({
  id: z.uuid(),
  userId: z.uuid(),
  email: z.string(),
  kind: z.enum(NOTIFICATION_KINDS),
  subject: z.string(),
  body: z.string(),
  orderId: z.string().nullable(),
  createdAt: z.iso.datetime(),
});

export const notificationsQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_NOTIFICATIONS_PAGE)
    .default(50)
    .describe('Newest first, at most this many'),
});

export function notificationJson(n: Notification): z.infer<typeof notificationSchema> {
  return { ...n, createdAt: n.createdAt.toISOString() };
}
