// A service built on the chassis whose database refuses it: every route answers what the
// chassis' error path makes of it (database-errors.ts) — 503 problem+json with Retry-After for
// an unreachable database or a connection it cut, 409 for a conflict — never a 500. The
// databases here are real: a port where no PostgreSQL listens, and the local PostgreSQL
// terminating the query's connection (pg_terminate_backend: SQLSTATE 57P01).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { FaultInjector } from '../../src/chaos';
import { createPgPool, createPrismaClient } from '../../src/database';
import { createHttpApp, type HttpApp } from '../../src/http';
import { createMetrics } from '../../src/metrics';
import { pgTransactionRunner } from '../../src/sql';
import { closedPort } from '../../src/testing/ports';
import { PrismaClient } from '../fixtures/prisma/generated/client';
import { testDatabase } from '../support/stack';

describe('a chassis service whose database refuses it', () => {
  let app: HttpApp;
  let prismaDown: PrismaClient;
  let poolDown: pg.Pool;
  let prismaUp: PrismaClient;
  const admin = new pg.Client(testDatabase);
  const marker = `database-errors-test-${process.pid}`;

  before(async () => {
    const nowhere = { ...testDatabase, host: '127.0.0.1', port: await closedPort() };
    prismaDown = createPrismaClient(PrismaClient, nowhere);
    poolDown = createPgPool(nowhere, 1);
    prismaUp = createPrismaClient(PrismaClient, testDatabase);
    await admin.connect();
    app = await createHttpApp({
      service: 'widgets',
      version: '1.0.0',
      logger: pino({ level: 'silent' }),
      metrics: createMetrics('database-errors-test'),
      chaos: new FaultInjector(),
      adminToken: 'test-admin-token-0123456789',
    });
    // Routes as a service writes them: no error mapping of their own.
    app.get('/v1/prisma', async () => prismaDown.$queryRaw`select 1 as one`);
    app.get('/v1/pg', async () => (await poolDown.query('select 1 as one')).rows);
    app.get('/v1/terminated', async () => {
      // The query's own connection is cut by the server while it runs.
      await prismaUp.$queryRawUnsafe(`select pg_sleep(30) /* ${marker} */`);
      return { slept: true };
    });
    app.get('/v1/serialization', async () => {
      const err = Object.assign(new Error('could not serialize access due to concurrent update'), {
        code: '40001',
        severity: 'ERROR',
      });
      throw err;
    });
    await app.ready();
  });

  after(async () => {
    await app.close();
    await prismaDown.$disconnect();
    await poolDown.end();
    await prismaUp.$disconnect();
    await admin.end();
  });

  function assertUnavailable(res: Awaited<ReturnType<HttpApp['inject']>>) {
    assert.equal(res.statusCode, 503, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.headers['retry-after'], '1');
    const problem = res.json();
    assert.equal(problem.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
    assert.equal(problem.detail, 'The widgets database is unavailable');
  }

  test('an unreachable database behind Prisma is 503 problem+json with Retry-After', async () => {
    assertUnavailable(await app.inject({ url: '/v1/prisma' }));
  });

  test('an unreachable database behind a pg pool (the outbox relay’s kind) is the same 503', async () => {
    assertUnavailable(await app.inject({ url: '/v1/pg' }));
  });

  test('a query whose connection PostgreSQL terminates is the same 503', async () => {
    const answer = app.inject({ url: '/v1/terminated' });
    // Terminate the query as soon as it runs (it would sleep 30 s otherwise).
    for (let i = 0; i < 200; i++) {
      const { rowCount } = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where query like $1 and pid <> pg_backend_pid()`,
        [`%${marker}%`],
      );
      if (rowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assertUnavailable(await answer);
  });

  test('a serialization failure (SQLSTATE 40001) is 409 SHOP_CONFLICT, not 500', async () => {
    const res = await app.inject({ url: '/v1/serialization' });
    assert.equal(res.statusCode, 409, res.body);
    assert.equal(res.json().code, 'SHOP_CONFLICT');
  });
});

test('an idle pool connection the server ends is dropped and heard about; the process goes on and the pool reconnects', async () => {
  const heard: Error[] = [];
  const pool = createPgPool(testDatabase, 1, (err) => heard.push(err));
  const admin = new pg.Client(testDatabase);
  await admin.connect();
  try {
    const pid = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    assert.ok(pid, 'the pool connected');
    // The connection is idle in the pool now; the server ends it (as a crashed PostgreSQL would).
    await admin.query('select pg_terminate_backend($1)', [pid]);
    // Without a listener pg's 'error' on the pool would end this test process here.
    for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(heard.length, 1, 'the idle connection’s end was heard');
    assert.match(heard[0]?.message ?? '', /terminat/i);
    const again = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    assert.ok(again && again !== pid, 'the next query has a new connection');
  } finally {
    await pool.end();
    await admin.end();
  }
});

test('a connection the server ends while a transaction holds it fails that transaction; the process goes on and the pool reconnects', async () => {
  const pool = createPgPool(testDatabase, 1);
  const admin = new pg.Client(testDatabase);
  await admin.connect();
  try {
    let pid: number | undefined;
    const transaction = pgTransactionRunner(pool)(async (client) => {
      pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      // Checked out and between queries (as the relay is while Kafka takes its batch), the
      // connection is ended by the server: without a listener pg's 'error' on the client would
      // end this test process here.
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await new Promise((r) => setTimeout(r, 300));
      return client.query('select 1');
    });
    await assert.rejects(transaction, /terminat|Connection terminated|not queryable/i);
    const again = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    assert.ok(pid && again && again !== pid, 'the next query has a new connection');
  } finally {
    await pool.end();
    await admin.end();
  }
});

test('a pooled connection held outside the chassis’ runner and ended by the server is an error of its next query, not of the process', async () => {
  // Any caller of a chassis pool (Prisma's adapter inside its transactions, a store on pgPoolOf)
  // may hold a client between two queries when PostgreSQL dies: the client itself listens, so
  // pg's 'error' on it is not an uncaught exception (exercise 11 kills PostgreSQL under load).
  const pool = createPgPool(testDatabase, 1);
  const admin = new pg.Client(testDatabase);
  await admin.connect();
  try {
    const client = await pool.connect();
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await new Promise((r) => setTimeout(r, 300));
    const failure = await client.query('select 1').then(
      () => undefined,
      (err: Error) => err,
    );
    assert.match(String(failure?.message), /terminat|not queryable/i);
    client.release(failure);
    const again = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    assert.ok(pid && again && again !== pid, 'the next query has a new connection');
  } finally {
    await pool.end();
    await admin.end();
  }
});
