import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { stack } from './stack';

for (const database of stack.serviceDatabases) {
  test(`the ${database} database answers a query as the shoplab role`, async () => {
    const client = new pg.Client({ ...stack.db, database });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string; who: string; version: string }>(
        'select current_database() as db, current_user as who, current_setting($1) as version',
        ['server_version_num'],
      );
      assert.equal(rows[0]?.db, database);
      assert.equal(rows[0]?.who, 'shoplab');
      assert.ok(Number(rows[0]?.version) >= 150000, `PostgreSQL 15 or newer, got ${rows[0]?.version}`);
    } finally {
      await client.end();
    }
  });
}

test('a transaction rolled back leaves no row behind', async () => {
  const client = new pg.Client({ ...stack.db, database: 'shoplab_test' });
  await client.connect();
  try {
    await client.query('create temporary table smoke_t (v int)');
    await client.query('begin');
    await client.query('insert into smoke_t values (1)');
    await client.query('rollback');
    const { rows } = await client.query<{ n: string }>('select count(*) as n from smoke_t');
    assert.equal(rows[0]?.n, '0');
  } finally {
    await client.end();
  }
});
