import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { generateKeyPairSetting, loadConfig } from '@shoplab/chassis';
import { configSchema } from '../../src/config';
import { AesGcmCardVault } from '../../src/infrastructure/card-vault';

const card = { number: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '987' };
const orderId = '0b8c8a7e-7f43-4a43-9a0a-3f1f0e0e0e0e';

test('a sealed card opens with the same key and order id, and its ciphertext hides the number', () => {
  const vault = new AesGcmCardVault(randomBytes(32));
  const sealed = vault.seal(orderId, card);
  assert.equal(sealed.iv.length, 12);
  assert.equal(sealed.authTag.length, 16);
  assert.ok(!sealed.ciphertext.toString('latin1').includes('4242'));
  assert.deepEqual(vault.open(orderId, sealed), card);
});

test('a sealed card does not open for another order, with another key, or after tampering', () => {
  const vault = new AesGcmCardVault(randomBytes(32));
  const sealed = vault.seal(orderId, card);
  assert.throws(() => vault.open('00000000-0000-4000-8000-000000000000', sealed));
  const other = new AesGcmCardVault(randomBytes(32));
  assert.throws(() => other.open(orderId, sealed));
  const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
  tampered.ciphertext[0] = (tampered.ciphertext[0] ?? 0) ^ 1;
  assert.throws(() => vault.open(orderId, tampered));
});

test('request fingerprints are keyed: equal for equal requests, different under another key', () => {
  const key = randomBytes(32);
  const a = new AesGcmCardVault(key).fingerprint('{"card":1}');
  assert.equal(a, new AesGcmCardVault(key).fingerprint('{"card":1}'));
  assert.notEqual(a, new AesGcmCardVault(key).fingerprint('{"card":2}'));
  assert.notEqual(a, new AesGcmCardVault(randomBytes(32)).fingerprint('{"card":1}'));
});

test('the configuration needs a 32-byte base64 CARD_ENCRYPTION_KEY and defaults the downstreams', () => {
  const env = { ADMIN_TOKEN: 'x'.repeat(16), JWT_PUBLIC_KEY: generateKeyPairSetting().publicKey };
  const config = loadConfig(configSchema, { ...env, CARD_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
  assert.equal(config.CARD_ENCRYPTION_KEY.length, 32);
  assert.equal(config.HTTP_PORT, 8085);
  assert.equal(config.GRPC_PORT, 9085);
  assert.equal(config.DB_NAME, 'shoplab_order');
  assert.deepEqual(config.STATIC_SERVICES, {
    cart: ['127.0.0.1:9083'],
    catalog: ['127.0.0.1:9082'],
    user: ['127.0.0.1:9081'],
    payment: ['127.0.0.1:9084'],
  });
  assert.throws(() => loadConfig(configSchema, env), /CARD_ENCRYPTION_KEY/);
  assert.throws(
    () => loadConfig(configSchema, { ...env, CARD_ENCRYPTION_KEY: randomBytes(16).toString('base64') }),
    /CARD_ENCRYPTION_KEY: must be 32 bytes/,
  );
});
