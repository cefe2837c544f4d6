import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { PrismaClientInitializationError, PrismaClientKnownRequestError } from '@prisma/client/runtime/client';
import pg from 'pg';
import { databaseError, databaseSettings, mapDatabaseError, RELAY_POOL_MAX } from '../../src/database';
import { ShopError } from '../../src/errors';

const known = (code: string, meta?: Record<string, unknown>) =>
  new PrismaClientKnownRequestError(`failure ${code}`, { code, clientVersion: 'test', ...(meta ? { meta } : {}) });
/** What @prisma/adapter-pg throws: a DriverAdapterError whose cause is the mapped kind. */
const adapterError = (cause: Record<string, unknown>) =>
  Object.assign(new Error(String(cause.kind)), { name: 'DriverAdapterError', cause });
/** What pg throws for an error the server sent (a SQLSTATE in `code`). */
const pgError = (code: string) => Object.assign(new pg.DatabaseError(`sqlstate ${code}`, 0, 'error'), { code });
/** What node throws when a socket fails. */
const socketError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect', errno: -1 });

function assertUnavailable(err: unknown) {
  const mapped = databaseError(err, 'order');
  assert.ok(mapped instanceof ShopError, `unmapped: ${String(err)}`);
  assert.equal(mapped.code, 'SHOP_DEPENDENCY_UNAVAILABLE', String(err));
  assert.equal(mapped.httpStatus, 503);
  assert.equal(mapped.grpcStatus, GrpcStatus.UNAVAILABLE);
  assert.equal(mapped.details?.retryAfterSeconds, 1, 'clients are told when to retry');
  assert.equal(mapped.cause, err);
}

function assertConflict(err: unknown) {
  const mapped = databaseError(err, 'order');
  assert.ok(mapped instanceof ShopError, `unmapped: ${String(err)}`);
  assert.equal(mapped.code, 'SHOP_CONFLICT', String(err));
  assert.equal(mapped.httpStatus, 409);
}

describe('a service database from its config', () => {
  test('the DB_* settings become discrete connection settings, DB_POOL_MAX bounding the pool', () => {
    assert.deepEqual(
      databaseSettings({
        DB_HOST: 'db.local',
        DB_PORT: 6543,
        DB_USER: 'u',
        DB_PASSWORD: 'p',
        DB_NAME: 'shoplab_x',
        DB_POOL_MAX: 7,
      }),
      { host: 'db.local', port: 6543, user: 'u', password: 'p', database: 'shoplab_x', maxConnections: 7 },
    );
    assert.ok(RELAY_POOL_MAX >= 2, 'a cycle and the backlog count may hold a connection each');
  });
});

describe('database failures as ShopErrors', () => {
  test('an unreachable or busy database is SHOP_DEPENDENCY_UNAVAILABLE, naming the database', () => {
    for (const err of [known('P1001'), known('P2024'), new PrismaClientInitializationError('no db', 'test')]) {
      const mapped = mapDatabaseError(err, 'catalog');
      assert.ok(mapped instanceof ShopError, String(err));
      assert.equal(mapped.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
      assert.equal(mapped.httpStatus, 503);
      assert.equal(mapped.message, 'The catalog database is unavailable');
      assert.equal(mapped.cause, err);
    }
  });

  test('a write conflict or deadlock is SHOP_CONFLICT (retry as it is)', () => {
    const mapped = mapDatabaseError(known('P2034'), 'order');
    assert.ok(mapped instanceof ShopError);
    assert.equal(mapped.code, 'SHOP_CONFLICT');
    assert.equal(mapped.httpStatus, 409);
  });

  test('a value the database refused is SHOP_VALIDATION_FAILED (as refusedValueError says)', () => {
    const mapped = mapDatabaseError(known('P2000'), 'cart');
    assert.ok(mapped instanceof ShopError);
    assert.equal(mapped.code, 'SHOP_VALIDATION_FAILED');
  });

  test('anything else is returned unchanged: a unique violation, a bug, a ShopError', () => {
    const shop = new ShopError('SHOP_NOT_FOUND');
    const notASocket = Object.assign(new Error('ECONNREFUSED in a message'), { code: 'ECONNREFUSED' });
    for (const err of [known('P2002'), pgError('23505'), new TypeError('x is undefined'), shop, notASocket]) {
      assert.equal(mapDatabaseError(err, 'user'), err);
      assert.equal(databaseError(err, 'user'), undefined);
    }
  });

  test('Prisma: the unavailable codes (P1001, P1002, P1008, P1017, P2024, P2028, P2037) and a client that cannot start', () => {
    for (const code of ['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']) assertUnavailable(known(code));
    assertUnavailable(new PrismaClientInitializationError("Can't reach database server", 'test'));
  });

  test('the driver adapter: unreachable, connection closed, socket timeout, too many connections; a write conflict', () => {
    for (const kind of ['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']) {
      assertUnavailable(adapterError({ kind }));
      // As Prisma 6 wraps it: a known request error carrying the adapter's error in its meta.
      assertUnavailable(known('P2010', { driverAdapterError: adapterError({ kind }) }));
    }
    assertUnavailable(adapterError({ kind: 'postgres', code: '57P01', originalCode: '57P01' }));
    assertConflict(adapterError({ kind: 'TransactionWriteConflict' }));
    assertConflict(adapterError({ kind: 'postgres', code: '40P01' }));
  });

  test('pg: a SQLSTATE of class 08 (connection) or 53 (resources), 57P01–57P03 (shutting down); 40001 and 40P01 conflict', () => {
    for (const code of ['08000', '08006', '08001', '53300', '53100', '57P01', '57P02', '57P03'])
      assertUnavailable(pgError(code));
    assertConflict(pgError('40001'));
    assertConflict(pgError('40P01'));
    // Not every class-57 error is an outage: a cancelled statement is not.
    assert.equal(databaseError(pgError('57014'), 'order'), undefined);
  });

  test('pg: a socket that fails, a pool that cannot connect in time, a connection that ends', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE']) {
      assertUnavailable(socketError(code));
    }
    for (const message of [
      'timeout exceeded when trying to connect',
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'Client has encountered a connection error and is not queryable',
    ]) {
      assertUnavailable(new Error(message));
    }
    // Wrapped: found in `cause`.
    assertUnavailable(new Error('query failed', { cause: socketError('ECONNREFUSED') }));
  });
});
