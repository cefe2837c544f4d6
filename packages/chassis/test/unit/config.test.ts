import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { z } from 'zod';
import {
  baseConfigSchema,
  ConfigError,
  databaseConfigSchema,
  kafkaConfigSchema,
  loadConfig,
  SECRET_MIN_LENGTH,
} from '../../src/config';
import { generateKeyPairSetting } from '../../src/keys';

const schema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    RESERVATION_TTL_SECONDS: z.coerce.number().int().positive().default(900),
  });

/** A secret as the deployments generate it (`openssl rand -hex 24`). */
const randomHex = () => randomBytes(24).toString('hex');

/** The keys production requires, as scripts/lib/secrets.sh generates them. */
const own = generateKeyPairSetting();
const keys = {
  SERVICE_PRIVATE_KEY: own.privateKey,
  SERVICE_PUBLIC_KEYS: `catalog=${own.publicKey},order=${generateKeyPairSetting().publicKey}`,
  JWT_PUBLIC_KEY: generateKeyPairSetting().publicKey,
};

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

test('in production, placeholder and short secrets are refused, every one in one error', () => {
  const cardSchema = schema.extend({
    CARD_ENCRYPTION_KEY: z.string().transform((v) => Buffer.from(v, 'base64')),
  });
  let caught: unknown;
  try {
    loadConfig(cardSchema, {
      ...valid,
      NODE_ENV: 'production',
      // the repository's former compose defaults, and a test token
      ADMIN_TOKEN: 'test-admin-token-0123456789',
      CARD_ENCRYPTION_KEY: 'Y2hhbmdlLW1lLTMyLWJ5dGUtY2FyZC1rZXktMDAwMDA=', // "change-me-32-byte-card-key-00000"
      // DB_PASSWORD unset: the chassis' default "shoplab" is too short; no keys at all
    });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, 'a ConfigError');
  assert.deepEqual(caught.problems.sort(), [
    'ADMIN_TOKEN: a placeholder from the repository, not a secret (NODE_ENV=production)',
    'CARD_ENCRYPTION_KEY: a placeholder from the repository, not a secret (NODE_ENV=production)',
    `DB_PASSWORD: at least ${SECRET_MIN_LENGTH} characters with NODE_ENV=production`,
    'JWT_PUBLIC_KEY: required with NODE_ENV=production (scripts/lib/secrets.sh generates the keys)',
    'SERVICE_PRIVATE_KEY: required with NODE_ENV=production (scripts/lib/secrets.sh generates the keys)',
    'SERVICE_PUBLIC_KEYS: required with NODE_ENV=production (scripts/lib/secrets.sh generates the keys)',
  ]);
  const short = 'x'.repeat(SECRET_MIN_LENGTH - 1);
  assert.throws(
    () =>
      loadConfig(schema, { ...valid, ...keys, NODE_ENV: 'production', ADMIN_TOKEN: short, DB_PASSWORD: randomHex() }),
    (err) =>
      err instanceof ConfigError &&
      err.problems.join() === `ADMIN_TOKEN: at least 32 characters with NODE_ENV=production`,
  );
});

test('in production, generated secrets are accepted; settings a service lacks are not asked for', () => {
  const config = loadConfig(schema, {
    ...valid,
    ...keys,
    NODE_ENV: 'production',
    ADMIN_TOKEN: randomHex(),
    DB_PASSWORD: randomHex(),
    JWT_SECRET: 'short', // not a setting of this schema: ignored, as zod drops it
  });
  assert.equal(config.NODE_ENV, 'production');
  assert.deepEqual(Object.keys(config.SERVICE_PUBLIC_KEYS), ['catalog', 'order']);
  const noDatabase = loadConfig(baseConfigSchema, {
    ...valid,
    ...keys,
    NODE_ENV: 'production',
    ADMIN_TOKEN: randomHex(),
  });
  assert.equal(noDatabase.SERVICE_NAME, 'catalog');
  // A service outside the gRPC table (history: REST and Kafka only) has no credential to carry.
  const history = loadConfig(baseConfigSchema, {
    ...valid,
    SERVICE_NAME: 'history',
    NODE_ENV: 'production',
    ADMIN_TOKEN: randomHex(),
  });
  assert.equal(history.SERVICE_PRIVATE_KEY, undefined);
  assert.throws(
    () => loadConfig(baseConfigSchema, { ...valid, NODE_ENV: 'production', ADMIN_TOKEN: randomHex() }),
    /SERVICE_PRIVATE_KEY: required with NODE_ENV=production/,
  );
});

test('keys that are not Ed25519 keys stop the start, each named', () => {
  assert.throws(
    () =>
      loadConfig(schema, {
        ...valid,
        SERVICE_PRIVATE_KEY: keys.JWT_PUBLIC_KEY, // a public key where the private one belongs
        JWT_PUBLIC_KEY: 'bm90IGEga2V5',
        SERVICE_PUBLIC_KEYS: `catalog=${keys.JWT_PUBLIC_KEY},order`,
      }),
    (err) =>
      err instanceof ConfigError &&
      err.problems.length === 3 &&
      /SERVICE_PRIVATE_KEY: not an Ed25519 private key/.test(err.message) &&
      /JWT_PUBLIC_KEY: not an Ed25519 public key/.test(err.message) &&
      /SERVICE_PUBLIC_KEYS: "order" is not service=<Ed25519 public key>/.test(err.message),
  );
});

test('outside production the development and test values still work', () => {
  for (const NODE_ENV of [undefined, 'development', 'test']) {
    const config = loadConfig(schema, { ...valid, NODE_ENV, ADMIN_TOKEN: 'test-admin-token-0123456789' });
    assert.equal(config.DB_PASSWORD, 'shoplab');
  }
});
