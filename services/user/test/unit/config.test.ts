import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, generateKeyPairSetting } from '@shoplab/chassis';
import { loadUserConfig, loginThrottleSettings, userTokenPublicKey } from '../../src/config';

const keys = generateKeyPairSetting();
const secrets = { ADMIN_TOKEN: 'admin-token-0123456789', JWT_PRIVATE_KEY: keys.privateKey };

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

test('the signing key is an Ed25519 private key; its public half verifies, and a public key that is not its half stops the start', () => {
  assert.equal(userTokenPublicKey(loadUserConfig(secrets)), keys.publicKey);
  assert.equal(userTokenPublicKey(loadUserConfig({ ...secrets, JWT_PUBLIC_KEY: keys.publicKey })), keys.publicKey);
  assert.throws(() => loadUserConfig({ ADMIN_TOKEN: secrets.ADMIN_TOKEN }), /JWT_PRIVATE_KEY/);
  assert.throws(
    () => loadUserConfig({ ...secrets, JWT_PRIVATE_KEY: 'a-shared-secret-of-32-characters!!' }),
    (err: unknown) => err instanceof ConfigError && /JWT_PRIVATE_KEY: not an Ed25519 private key/.test(err.message),
  );
  assert.throws(
    () => loadUserConfig({ ...secrets, JWT_PUBLIC_KEY: generateKeyPairSetting().publicKey }),
    /JWT_PUBLIC_KEY: is not the public key of JWT_PRIVATE_KEY/,
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
