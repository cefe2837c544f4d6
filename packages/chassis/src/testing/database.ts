import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { sleep } from '../backoff';
import type { DatabaseSettings } from '../prisma';

/** Connection settings of the local stack's PostgreSQL, from DB_* variables (tests only). */
export function testDatabaseSettings(database = 'shoplab_test'): DatabaseSettings {
  return {
    host: process.env.DB_HOST ?? '127.0.0.1',
    port: Number(process.env.DB_PORT ?? 5432),
    user: process.env.DB_USER ?? 'shoplab',
    password: process.env.DB_PASSWORD ?? 'shoplab',
    database,
  };
}

export interface ScratchDatabase {
  settings: DatabaseSettings;
  /** Drops the database (forcing connections closed). */
  drop(): Promise<void>;
}

/**
 * Creates a fresh database on the real PostgreSQL and applies a service's Prisma migrations
 * (the committed `migration.sql` files, in folder order) — the same SQL `prisma migrate
 * deploy` runs, without the Wasm engine's start-up cost in every test file.
 */
export async function createScratchDatabase(options: {
  prefix: string;
  migrationsDir?: string;
}): Promise<ScratchDatabase> {
  const name = `${options.prefix.replace(/[^a-z0-9_]/g, '_')}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const admin = new pg.Client({ ...testDatabaseSettings('postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const settings = testDatabaseSettings(name);
  if (options.migrationsDir) {
    const client = new pg.Client(settings);
    await client.connect();
    try {
      const folders = (await readdir(options.migrationsDir, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
      for (const folder of folders) {
        await client.query(await readFile(join(options.migrationsDir, folder, 'migration.sql'), 'utf8'));
      }
    } finally {
      await client.end();
    }
  }
  return {
    settings,
    drop: async () => {
      const c = new pg.Client({ ...testDatabaseSettings('postgres') });
      await c.connect();
      try {
        // Pools that were just closed may still be hanging up; a forced drop would kill those
        // connections and their pool would raise the error after the test ended. So wait a
        // little for them to go, and force only as a last resort.
        for (let attempt = 0; attempt < 50; attempt++) {
          try {
            await c.query(`DROP DATABASE IF EXISTS "${name}"`);
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== '55006') throw err; // object_in_use
            await sleep(100);
          }
        }
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
