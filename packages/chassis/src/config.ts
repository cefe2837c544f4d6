import { z } from 'zod';
import { ACCESS_LOG_MODES } from './access-log';
import { GRPC_CALLERS } from './allowed-callers';
import { parsePrivateKey, parsePublicKey } from './keys';

const port = z.coerce.number().int().min(0).max(65535);
const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(1)).min(1));
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * `name=host:port` pairs, comma separated: `catalog=127.0.0.1:9082,payment=127.0.0.1:9084`.
 * A name may repeat to list several instances.
 */
const staticServices = z
  .string()
  .transform((s, ctx) => {
    const out: Record<string, string[]> = {};
    for (const entry of s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const m = /^([a-z][a-z0-9-]*)=([^\s:=]+):(\d{1,5})$/.exec(entry);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not name=host:port` });
        return z.NEVER;
      }
      const [, name, host, p] = m as unknown as [string, string, string, string];
      const list = out[name] ?? [];
      list.push(`${host}:${p}`);
      out[name] = list;
    }
    return out;
  })
  .default({});

const keyCheck = (parse: (value: string) => unknown, what: string) =>
  z.string().refine(
    (value) => {
      try {
        parse(value);
        return true;
      } catch {
        return false;
      }
    },
    { message: `not an Ed25519 ${what} key (base64 DER or PEM)` },
  );
/** An Ed25519 private key: base64 PKCS#8 DER (one line) or PEM (keys.ts). */
export const privateKeySetting = keyCheck(parsePrivateKey, 'private');
/** An Ed25519 public key: base64 SPKI DER (one line) or PEM. */
export const publicKeySetting = keyCheck(parsePublicKey, 'public');

/** `name=<base64 SPKI>` pairs, comma separated: every service's public key (service-auth.ts). */
const publicKeyList = z
  .string()
  .transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const entry of s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const eq = entry.indexOf('=');
      const name = entry.slice(0, eq);
      const key = entry.slice(eq + 1);
      if (eq < 1 || !/^[a-z][a-z0-9-]*$/.test(name) || !publicKeySetting.safeParse(key).success) {
        ctx.addIssue({ code: 'custom', message: `"${entry.slice(0, 40)}" is not service=<Ed25519 public key>` });
        return z.NEVER;
      }
      out[name] = key;
    }
    return out;
  })
  .default({});

/** The settings every service has. A service extends it with `baseConfigSchema.extend({...})`. */
export const baseConfigSchema = z.object({
  SERVICE_NAME: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
  SERVICE_VERSION: z.string().default('0.1.0'),
  INSTANCE_ID: z.string().optional(),
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: port,
  /**
   * The admin listener (docs/architecture.md#trust-boundaries): every admin route (a path with an
   * `admin` segment: /admin/chaos, /v1/admin/…, the gateway's /api/v1/admin/…) is served on this
   * port only, and the public HTTP_PORT answers 404 for them. 0 picks a free port. Unset: one
   * port serves everything, admin routes included (the "before" of the switch; tests' apps).
   */
  ADMIN_PORT: port.optional(),
  /** The admin listener's address (default HTTP_HOST): e.g. 127.0.0.1 where only the host's operator may call it. */
  ADMIN_HOST: z.string().optional(),
  /** The address other processes reach this instance at (registration, health checks). */
  ADVERTISE_HOST: z.string().default('127.0.0.1'),
  HTTP_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  REGISTRY_MODE: z.enum(['static', 'consul']).default('static'),
  CONSUL_URL: z.url().default('http://127.0.0.1:8500'),
  STATIC_SERVICES: staticServices,
  /**
   * Services reached through a TLS-terminating sidecar (docs/patterns/sidecar.md): `name=host:port`
   * pairs that replace the service's STATIC_SERVICES entry; gRPC calls to them use TLS, the
   * sidecar's certificate verified against SIDECAR_CA_FILE.
   */
  SIDECAR_SERVICES: staticServices,
  /** PEM file of the CA that signed the sidecars' certificates (needed with SIDECAR_SERVICES). */
  SIDECAR_CA_FILE: z.string().min(1).optional(),
  /**
   * Who writes this service's access log: `http` the chassis, a line per HTTP request (fastify's
   * own; the default), `all` also a line per gRPC call, `off` nobody in-process — a sidecar in
   * front of the service writes it (docs/patterns/sidecar.md). Switchable at runtime:
   * PUT /admin/access-log {mode}.
   */
  ACCESS_LOG: z.enum(ACCESS_LOG_MODES).default('http'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().default('http://127.0.0.1:4318'),
  OTEL_TRACES_SAMPLER_RATIO: z.coerce.number().min(0).max(1).default(1),
  OTEL_SDK_DISABLED: bool.default(false),
  /** This service's key: it signs the credential of each gRPC call it makes (service-auth.ts). */
  SERVICE_PRIVATE_KEY: privateKeySetting.optional(),
  /** Every service's public key; when set, the gRPC server refuses calls without a valid credential. */
  SERVICE_PUBLIC_KEYS: publicKeyList,
  /** The user service's public key: verifies user tokens (REST, and those forwarded on gRPC calls). */
  JWT_PUBLIC_KEY: publicKeySetting.optional(),
});

/** Database settings, for services that own a database. */
export const databaseConfigSchema = z.object({
  DB_HOST: z.string().default('127.0.0.1'),
  DB_PORT: port.default(5432),
  DB_USER: z.string().default('shoplab'),
  DB_PASSWORD: z.string().default('shoplab'),
  DB_NAME: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
});

export const grpcConfigSchema = z.object({
  GRPC_HOST: z.string().default('127.0.0.1'),
  GRPC_PORT: port,
});

export const kafkaConfigSchema = z.object({
  KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().optional(),
  /** How a producing service's outbox relay finds rows at start: poll (the table) or wal (ADR 0035). */
  OUTBOX_RELAY_MODE: z.enum(['poll', 'wal']).default('poll'),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The settings that are secrets: with NODE_ENV=production each must be a real one. */
export const SECRET_SETTINGS = ['ADMIN_TOKEN', 'CARD_ENCRYPTION_KEY', 'DB_PASSWORD'] as const;

/**
 * The keys a service of the gRPC table (GRPC_CALLERS: it serves gRPC or calls it) cannot run
 * without in production: its own credential, the keys that check its callers, and the key that
 * checks the users' tokens they forward.
 */
export const REQUIRED_PRODUCTION_KEYS = ['SERVICE_PRIVATE_KEY', 'SERVICE_PUBLIC_KEYS', 'JWT_PUBLIC_KEY'] as const;

/** The services of the gRPC table: each serves gRPC or calls a service that does. */
export function grpcParticipants(callers: Readonly<Record<string, readonly string[]>> = GRPC_CALLERS): Set<string> {
  return new Set([...Object.keys(callers), ...Object.values(callers).flat()]);
}

/** The shortest secret production accepts (`openssl rand -hex 16` is 32 characters). */
export const SECRET_MIN_LENGTH = 32;

/**
 * The placeholders this repository ships: the `change-me…` values (also base64 encoded, as the
 * sample card key was) and the development and test values, which all count `0123456789`.
 */
const PLACEHOLDER = /change-?me|0123456789/i;

/**
 * Why the secrets of a parsed configuration are not fit for production: placeholders, and
 * values shorter than {@link SECRET_MIN_LENGTH} — the chassis' own default DB_PASSWORD among
 * them. Nothing is checked unless NODE_ENV is production (the native stack runs as development
 * with secrets it generates; tests use their own sample values).
 */
export function productionSecretProblems(
  config: Record<string, unknown>,
  env: Record<string, string | undefined>,
): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  for (const key of SECRET_SETTINGS) {
    if (!(key in config)) continue; // not a setting of this service
    // The value as given (a parsed setting may be a Buffer), else the schema's default.
    const raw = env[key] || config[key];
    const value = typeof raw === 'string' ? raw : '';
    const decoded = Buffer.from(value, 'base64').toString('latin1');
    if (PLACEHOLDER.test(value) || PLACEHOLDER.test(decoded)) {
      problems.push(`${key}: a placeholder from the repository, not a secret (NODE_ENV=production)`);
    } else if (value.length < SECRET_MIN_LENGTH) {
      problems.push(`${key}: at least ${SECRET_MIN_LENGTH} characters with NODE_ENV=production`);
    }
  }
  const keyed = grpcParticipants().has(String(config.SERVICE_NAME));
  for (const key of keyed ? REQUIRED_PRODUCTION_KEYS : []) {
    const value = config[key];
    if (value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)) {
      problems.push(`${key}: required with NODE_ENV=production (scripts/lib/secrets.sh generates the keys)`);
    }
  }
  return problems;
}

/**
 * Validates the environment once, at start. Every problem is listed in one error, so a
 * misconfigured deployment is fixed in one go. After this nothing reads process.env.
 * With NODE_ENV=production, placeholder and short secrets are refused too.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // Empty strings mean "unset" (compose and k8s often render missing values as "").
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const data = result.data;
  const secrets =
    typeof data === 'object' && data !== null ? productionSecretProblems(data as Record<string, unknown>, cleaned) : [];
  if (secrets.length > 0) throw new ConfigError(secrets);
  return data;
}
