import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { baseConfigSchema, ConfigError, databaseConfigSchema, kafkaConfigSchema, loadConfig } from '../../src/config';

const schema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    RESERVATION_TTL_SECONDS: z.coerce.number().int().positive().default(900),
  });

const valid = {
  SERVICE_NAME: 'catalog',
  HTTP_PORT: '8082',
  ADMIN_TOKEN: 'a-long-enough-admin-token',
  DB_NAME: 'shoplab_catalog',
};

test('a service schema extends the base and applies defaults', () => {
  const config = loadConfig(schema, valid);
  assert.equal(config.HTTP_PORT, 8082);
  assert.equal(config.DB_HOST, '127.0.0.1');
  assert.deepEqual(config.KAFKA_BROKERS, ['127.0.0.1:9092']);
  assert.equal(config.RESERVATION_TTL_SECONDS, 900);
  assert.equal(config.REGISTRY_MODE, 'static');
});

test('every problem is reported at once in one readable error', () => {
  let caught: unknown;
  try {
    loadConfig(schema, { SERVICE_NAME: 'Catalog!', HTTP_PORT: 'eighty', DB_NAME: 'x' });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError);
  const fields = caught.problems.map((p) => p.split(':')[0]);
  assert.deepEqual(fields.sort(), ['ADMIN_TOKEN', 'HTTP_PORT', 'SERVICE_NAME']);
  assert.match(caught.message, /invalid configuration:\n {2}- /);
});

test('STATIC_SERVICES parses name=host:port lists, repeating names for several instances', () => {
  const config = loadConfig(schema, {
    ...valid,
    STATIC_SERVICES: 'catalog=127.0.0.1:9082, payment=10.0.0.5:9084,catalog=127.0.0.1:9182',
  });
  assert.deepEqual(config.STATIC_SERVICES, {
    catalog: ['127.0.0.1:9082', '127.0.0.1:9182'],
    payment: ['10.0.0.5:9084'],
  });
  assert.throws(() => loadConfig(schema, { ...valid, STATIC_SERVICES: 'catalog' }), /STATIC_SERVICES/);
});

test('empty variables count as unset, so defaults apply', () => {
  const config = loadConfig(schema, { ...valid, DB_HOST: '', LOG_LEVEL: '' });
  assert.equal(config.DB_HOST, '127.0.0.1');
  assert.equal(config.LOG_LEVEL, 'info');
});
