import {
  baseConfigSchema,
  databaseConfigSchema,
  grpcConfigSchema,
  kafkaConfigSchema,
  loadConfig,
  privateKeySetting,
  publicKeySettingOf,
} from '@shoplab/chassis';
import { z } from 'zod';
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleSettings } from './domain/login-throttle';
import { SCRYPT_DEFAULTS } from './infrastructure/password-hasher';

const positiveInt = z.coerce.number().int().positive();

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    SERVICE_NAME: z.string().default('user'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8081),
    GRPC_PORT: grpcConfigSchema.shape.GRPC_PORT.default(9081),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_user'),
    /** The Ed25519 key that signs user tokens: only the user service has it (the others verify with JWT_PUBLIC_KEY). */
    JWT_PRIVATE_KEY: privateKeySetting,
    /** Lifetime of an issued token. */
    JWT_TTL_SECONDS: positiveInt.default(3600),
    /** Failed logins (per email, within the window) before further attempts are slowed down. */
    LOGIN_SLOWDOWN_AFTER: positiveInt.default(DEFAULT_LOGIN_THROTTLE.slowdownAfter),
    /** Wait of the first slowed-down attempt; doubles per further failure. */
    LOGIN_SLOWDOWN_BASE_MS: positiveInt.default(DEFAULT_LOGIN_THROTTLE.baseDelayMs),
    /** Upper bound of the wait. */
    LOGIN_SLOWDOWN_MAX_MS: positiveInt.default(DEFAULT_LOGIN_THROTTLE.maxDelayMs),
    /** Failed logins (per email, within the window) at which attempts get 429 until the window passes. */
    LOGIN_BLOCK_AFTER: positiveInt.default(DEFAULT_LOGIN_THROTTLE.blockAfter),
    /** Failures are forgotten this long after the last one. */
    LOGIN_WINDOW_SECONDS: positiveInt.default(DEFAULT_LOGIN_THROTTLE.windowMs / 1000),
    /**
     * scrypt's cost N for new password hashes (a power of two; default OWASP's 2^17). Hashes of
     * another cost still verify and are rehashed at the next login. A development stack or a test
     * may lower it (each hash at 2^17 takes 128 MiB and ~0.4 s of a core).
     */
    PASSWORD_SCRYPT_N: z.coerce
      .number()
      .int()
      .min(2 ** 10)
      .max(2 ** 20)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
      .default(SCRYPT_DEFAULTS.N),
    /** Password hashes computed at once (each takes 128·N·8 bytes); more wait, up to 256. */
    PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
    /** Outbox relay polling fallback (NOTIFY wakes it at once). */
    OUTBOX_POLL_INTERVAL_MS: positiveInt.default(1000),
    /** The order service's events: confirmed and cancelled orders go to the notification log. */
    ORDER_EVENTS_TOPIC: z.string().min(1).default('order.events'),
    /**
     * Consumer group of the order-events consumer. Every instance of one deployment shares it; a
     * second deployment on the same Kafka (a test stack) needs its own, or the two split the events.
     */
    ORDER_EVENTS_GROUP: z.string().min(1).default('user-order-events'),
    /** Attempts of one order event before it goes to `<ORDER_EVENTS_TOPIC>.dlq`. */
    ORDER_EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  })
  .refine((c) => c.LOGIN_BLOCK_AFTER > c.LOGIN_SLOWDOWN_AFTER, {
    message: 'LOGIN_BLOCK_AFTER must be greater than LOGIN_SLOWDOWN_AFTER',
    path: ['LOGIN_BLOCK_AFTER'],
  })
  .refine((c) => !c.JWT_PUBLIC_KEY || c.JWT_PUBLIC_KEY === publicKeySettingOf(c.JWT_PRIVATE_KEY), {
    message: 'is not the public key of JWT_PRIVATE_KEY',
    path: ['JWT_PUBLIC_KEY'],
  });

export type UserConfig = z.infer<typeof configSchema>;

export function loadUserConfig(env: Record<string, string | undefined> = process.env): UserConfig {
  return loadConfig(configSchema, env);
}

/** The key the service verifies user tokens with (its REST routes, forwarded ones on gRPC): JWT_PUBLIC_KEY, else its signing key's public half. */
export function userTokenPublicKey(config: UserConfig): string {
  return config.JWT_PUBLIC_KEY ?? publicKeySettingOf(config.JWT_PRIVATE_KEY);
}

export function loginThrottleSettings(config: UserConfig): LoginThrottleSettings {
  return {
    slowdownAfter: config.LOGIN_SLOWDOWN_AFTER,
    baseDelayMs: config.LOGIN_SLOWDOWN_BASE_MS,
    maxDelayMs: config.LOGIN_SLOWDOWN_MAX_MS,
    blockAfter: config.LOGIN_BLOCK_AFTER,
    windowMs: config.LOGIN_WINDOW_SECONDS * 1000,
  };
}
