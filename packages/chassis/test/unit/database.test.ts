import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrismaClientInitializationError, PrismaClientKnownRequestError } from '@prisma/client/runtime/client';
import { databaseSettings, mapDatabaseError, RELAY_POOL_MAX } from '../../src/database';
import { ShopError } from '../../src/errors';

const known = (code: string) => new PrismaClientKnownRequestError(`failure ${code}`, { code, clientVersion: 'test' });

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
    for (const err of [known('P2002'), new TypeError('x is undefined'), shop]) {
      assert.equal(mapDatabaseError(err, 'user'), err);
    }
  });
});
