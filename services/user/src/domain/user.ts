// Users: what a valid registration is. Plain rules, no I/O.
import { CONTROL_CHARACTERS, type FieldError, validationError } from './validation';

export const EMAIL_MAX_LENGTH = 254;
export const NAME_MAX_LENGTH = 100;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// The shape, not deliverability: something@domain.tld, no spaces, one @.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/** Emails are compared and stored trimmed and lower-cased: `  Alice@Example.COM ` is `alice@example.com`. */
export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

export function emailProblem(email: string): string | undefined {
  if (email.length === 0) return 'is required';
  if (email.length > EMAIL_MAX_LENGTH) return `must be at most ${EMAIL_MAX_LENGTH} characters`;
  if (!EMAIL.test(email)) return 'must be an email address';
  return undefined;
}

/** Names are trimmed; 1..100 characters, no control characters. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is required';
  if (name.length > NAME_MAX_LENGTH) return `must be at most ${NAME_MAX_LENGTH} characters`;
  if (CONTROL_CHARACTERS.test(name)) return 'must not contain control characters';
  return undefined;
}

/** Passwords are taken as typed (never trimmed): 8..128 characters. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  return undefined;
}

export interface Registration {
  email: string;
  password: string;
  name: string;
}

/** A registration with its email and name normalized; throws SHOP_VALIDATION_FAILED listing every bad field. */
export function validRegistration(input: Registration): Registration {
  const email = normalizeEmail(input.email);
  const name = input.name.trim();
  const errors: FieldError[] = [];
  const problems: [string, string | undefined][] = [
    ['email', emailProblem(email)],
    ['password', passwordProblem(input.password)],
    ['name', nameProblem(name)],
  ];
  for (const [field, message] of problems) if (message) errors.push({ field, message });
  if (errors.length > 0) throw validationError(errors);
  return { email, password: input.password, name };
}

/** A user as other services and the profile see it (never the password hash). */
export interface UserProfile {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
}
