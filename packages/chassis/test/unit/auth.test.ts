import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSigner } from 'fast-jwt';
import { createTokenSigner, createTokenVerifier } from '../../src/auth';
import { ShopError } from '../../src/errors';
import { generateKeyPairSetting, parsePrivateKey, pemOf } from '../../src/keys';

const keys = generateKeyPairSetting();
const user = { id: 'u-1', email: 'ada@example.com', name: 'Ada' };
const isUnauthenticated = (err: unknown) => err instanceof ShopError && err.code === 'SHOP_UNAUTHENTICATED';

test('a token signed with the user service’s private key verifies with its public key to the same user', () => {
  const token = createTokenSigner(keys.privateKey)(user);
  assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg, 'EdDSA');
  assert.deepEqual(createTokenVerifier(keys.publicKey)(token), user);
});

test('a token signed with another key, expired, without exp, from another issuer or with HS256 is refused', () => {
  const verify = createTokenVerifier(keys.publicKey);
  assert.throws(() => verify(createTokenSigner(generateKeyPairSetting().privateKey)(user)), isUnauthenticated);
  const key = pemOf(parsePrivateKey(keys.privateKey));
  const claims = { iss: 'shoplab-user', aud: 'shoplab' };
  const expired = createSigner({ key, algorithm: 'EdDSA', ...claims, expiresIn: 1, clockTimestamp: 0 })({ sub: 'u-1' });
  assert.throws(() => verify(expired), /expired/);
  const forever = createSigner({ key, algorithm: 'EdDSA', ...claims })({ sub: 'u-1' });
  assert.throws(() => verify(forever), isUnauthenticated, 'exp is required');
  const foreign = createSigner({ key, algorithm: 'EdDSA', iss: 'someone-else', aud: 'shoplab', expiresIn: 60_000 })({
    sub: 'u-1',
  });
  assert.throws(() => verify(foreign), isUnauthenticated);
  // Algorithm confusion: an HMAC token keyed with the public key (which everyone has) is not a user token.
  const hmac = createSigner({ key: keys.publicKey, algorithm: 'HS256', ...claims, expiresIn: 60_000 })({ sub: 'u-1' });
  assert.throws(() => verify(hmac), isUnauthenticated);
  assert.throws(() => verify('not-a-jwt'), isUnauthenticated);
});

test('a verifier cannot be built from a private key, nor a signer from a public one', () => {
  assert.throws(() => createTokenSigner(keys.publicKey));
  assert.throws(() => createTokenVerifier('bm90IGEga2V5'));
});
