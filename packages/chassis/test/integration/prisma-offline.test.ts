import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPrismaClient, pgPoolOf } from '../../src/database';
import { refusedValueError } from '../../src/input';
import { createPrismaAdapter } from '../../src/prisma';
import { PrismaClient } from '../fixtures/prisma/generated/client';
import { testDatabase } from '../support/stack';

const run = promisify(execFile);
const chassisDir = resolve(__dirname, '../../..');
const fixtureDir = join(chassisDir, 'test/fixtures/prisma');
const prismaBin = resolve(chassisDir, '../../node_modules/.bin/prisma');

const scratch = `shoplab_prisma_${randomUUID().slice(0, 8)}`;
const workDir = join(chassisDir, 'test-output', scratch);
const admin = new pg.Client({ ...testDatabase, database: 'postgres' });

function prisma(args: string[], database = scratch) {
  return run(prismaBin, args, { cwd: workDir, env: { ...process.env, DB_NAME: database, DATABASE_URL: undefined } });
}

async function shadowDatabases(): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname like 'prisma_shadow_%'",
  );
  return rows.map((r) => r.datname);
}

before(async () => {
  await admin.connect();
  await admin.query(`create database ${scratch}`);
  await admin.query(`create database ${scratch}_deploy`);
  await mkdir(workDir, { recursive: true });
  for (const file of ['schema.prisma', 'prisma.config.ts']) await cp(join(fixtureDir, file), join(workDir, file));
});

after(async () => {
  await admin.query(`drop database if exists ${scratch} with (force)`);
  await admin.query(`drop database if exists ${scratch}_deploy with (force)`);
  await admin.end();
  await rm(workDir, { recursive: true, force: true });
});

test('migrate diff renders the schema as SQL with no native engine', async () => {
  const { stdout } = await prisma([
    'migrate',
    'diff',
    '--from-empty',
    '--to-schema-datamodel',
    'schema.prisma',
    '--script',
  ]);
  assert.match(stdout, /CREATE TABLE "widgets"/);
  assert.match(stdout, /"created_at" TIMESTAMP\(3\) NOT NULL DEFAULT CURRENT_TIMESTAMP/);
});

test('migrate dev creates and applies a migration through a shadow database it cleans up', async () => {
  const shadowsBefore = await shadowDatabases();
  await prisma(['migrate', 'dev', '--name', 'init', '--skip-generate']);
  const [migration] = (await readdir(join(workDir, 'migrations'))).filter((d) => d.endsWith('_init'));
  assert.ok(migration, 'a migration folder named *_init');
  assert.match(
    await readFile(join(workDir, 'migrations', migration, 'migration.sql'), 'utf8'),
    /CREATE TABLE "widgets"/,
  );
  assert.deepEqual(await shadowDatabases(), shadowsBefore, 'the shadow database was dropped');

  const { stdout } = await prisma(['migrate', 'status']);
  assert.match(stdout, /Database schema is up to date/);
});

test('migrate deploy applies the committed migrations to another database', async () => {
  const { stdout } = await prisma(['migrate', 'deploy'], `${scratch}_deploy`);
  assert.match(stdout, /All migrations have been successfully applied|1 migration/);
  const db = new pg.Client({ ...testDatabase, database: `${scratch}_deploy` });
  await db.connect();
  try {
    const { rows } = await db.query<{ n: string }>(
      'select count(*) as n from "_prisma_migrations" where finished_at is not null',
    );
    assert.equal(rows[0]?.n, '1');
  } finally {
    await db.end();
  }
});

test('the generated client reads and writes through the chassis adapter', async () => {
  const client = new PrismaClient({ adapter: createPrismaAdapter({ ...testDatabase, database: scratch }) });
  try {
    await client.widget.create({ data: { id: 'w-1', name: 'Sprocket', stock: 3 } });
    await client.$transaction(async (tx) => {
      await tx.widget.update({ where: { id: 'w-1' }, data: { stock: { decrement: 1 } } });
    });
    const widget = await client.widget.findUniqueOrThrow({ where: { id: 'w-1' } });
    assert.equal(widget.stock, 2);
    assert.ok(widget.createdAt instanceof Date);
  } finally {
    await client.$disconnect();
  }
});

test('pgPoolOf gives the pool under the client: plain SQL sees what Prisma wrote, and $disconnect ends it', async () => {
  const client = createPrismaClient(PrismaClient, { ...testDatabase, database: scratch });
  const pool = pgPoolOf(client);
  try {
    await client.widget.create({ data: { id: 'w-pool', name: 'Cog', stock: 5 } });
    assert.ok(pool.totalCount >= 1, 'Prisma connected through this pool');
    await pool.query('UPDATE widgets SET stock = stock - 2 WHERE id = $1', ['w-pool']);
    assert.equal((await client.widget.findUniqueOrThrow({ where: { id: 'w-pool' } })).stock, 3);
  } finally {
    await client.$disconnect();
  }
  assert.equal(pool.ended, true, 'the pool ends with the client');
  assert.throws(() => pgPoolOf(new PrismaClient({ adapter: createPrismaAdapter(testDatabase) })), /createPrismaClient/);
});

test('PostgreSQL refusing a value (NUL, not a uuid) is recognised as bad input; a duplicate key is not', async () => {
  const client = new PrismaClient({ adapter: createPrismaAdapter({ ...testDatabase, database: scratch }) });
  try {
    const refused = [
      await client.widget.create({ data: { id: 'w-nul', name: 'a\u0000b' } }).catch((err: unknown) => err),
      await client.$queryRaw`select ${'not-a-uuid'}::uuid`.catch((err: unknown) => err),
    ];
    for (const err of refused) {
      assert.ok(err instanceof Error, String(err));
      assert.equal(refusedValueError(err)?.code, 'SHOP_VALIDATION_FAILED', String(err));
    }
    await client.widget.create({ data: { id: 'w-dup', name: 'Once' } });
    const duplicate = await client.widget.create({ data: { id: 'w-dup', name: 'Twice' } }).catch((err: unknown) => err);
    assert.ok(duplicate instanceof Error);
    assert.equal(refusedValueError(duplicate), undefined, 'a conflict is not a malformed value');
  } finally {
    await client.$disconnect();
  }
});
