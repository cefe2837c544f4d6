import { defineConfig } from 'prisma/config';
import { createPrismaAdapter, type DatabaseSettings } from './prisma';

/** Database settings for the Prisma CLI, from the same variables the services read (DB_*). */
export function databaseSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseSettings {
  const database = env.DB_NAME;
  if (!database) throw new Error('DB_NAME is required for the Prisma CLI (e.g. DB_NAME=shoplab_order)');
  return {
    host: env.DB_HOST ?? '127.0.0.1',
    port: Number(env.DB_PORT ?? 5432),
    user: env.DB_USER ?? 'shoplab',
    password: env.DB_PASSWORD ?? 'shoplab',
    database,
  };
}

/**
 * The prisma.config.ts of every service: the Wasm schema engine (`engine: "js"`) through
 * our adapter, so generate, migrate and db push work with no native engine download.
 */
export function servicePrismaConfig(options: { schema?: string; migrations?: string } = {}) {
  const db = databaseSettingsFromEnv();
  // Prisma 6 evaluates the datasource's env("DATABASE_URL") even though the adapter does the
  // connecting; derive it from the same settings so there is one source of truth.
  process.env.DATABASE_URL ??= `postgresql://${encodeURIComponent(db.user)}@${db.host}:${db.port}/${db.database}`;
  return defineConfig({
    experimental: { adapter: true },
    engine: 'js',
    schema: options.schema ?? 'prisma/schema.prisma',
    migrations: { path: options.migrations ?? 'prisma/migrations' },
    adapter: async () => createPrismaAdapter(db),
  });
}
