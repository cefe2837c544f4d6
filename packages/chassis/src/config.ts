import { z } from 'zod';

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

/** The settings every service has. A service extends it with `baseConfigSchema.extend({...})`. */
export const baseConfigSchema = z.object({
  SERVICE_NAME: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
  SERVICE_VERSION: z.string().default('0.1.0'),
  INSTANCE_ID: z.string().optional(),
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: port,
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
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().default('http://127.0.0.1:4318'),
  OTEL_TRACES_SAMPLER_RATIO: z.coerce.number().min(0).max(1).default(1),
  OTEL_SDK_DISABLED: bool.default(false),
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
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Validates the environment once, at start. Every problem is listed in one error, so a
 * misconfigured deployment is fixed in one go. After this nothing reads process.env.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // Empty strings mean "unset" (compose and k8s often render missing values as "").
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
}
