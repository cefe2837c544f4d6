import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@shoplab/chassis';
import { loadUserConfig, loginThrottleSettings } from '../../src/config';

const secrets = { ADMIN_TOKEN: 'admin-token-0123456789', JWT_SECRET: 'j'.repeat(32) };

test('only the secrets are needed; everything else has the local defaults', () => {
  const config = loadUserConfig(secrets);
  assert.equal(config.SERVICE_NAME, 'user');
  assert.equal(config.HTTP_PORT, 8081);
  assert.equal(config.GRPC_PORT, 9081);
  assert.equal(config.DB_NAME, 'shoplab_user');
  assert.equal(config.JWT_TTL_SECONDS, 3600);
  assert.deepEqual(loginThrottleSettings(config), {
    slowdownAfter: 3,
    baseDelayMs: 250,
    maxDelayMs: 5000,
    blockAfter: 10,
    windowMs: 900_000,
  });
});

test('a missing or short JWT_SECRET stops the start with a readable message', () => {
  assert.throws(() => loadUserConfig({ ADMIN_TOKEN: secrets.ADMIN_TOKEN }), ConfigError);
  assert.throws(
    () => loadUserConfig({ ...secrets, JWT_SECRET: 'too-short' }),
    (err: unknown) => err instanceof ConfigError && /JWT_SECRET: at least 32 characters/.test(err.message),
  );
});

test('the LOGIN_* settings are read, and blocking must come after slowing down', () => {
  const config = loadUserConfig({
    ...secrets,
    LOGIN_SLOWDOWN_AFTER: '2',
    LOGIN_BLOCK_AFTER: '4',
    LOGIN_WINDOW_SECONDS: '5',
  });
  assert.equal(loginThrottleSettings(config).windowMs, 5000);
  assert.throws(
    () => loadUserConfig({ ...secrets, LOGIN_SLOWDOWN_AFTER: '5', LOGIN_BLOCK_AFTER: '5' }),
    /LOGIN_BLOCK_AFTER/,
  );
});
