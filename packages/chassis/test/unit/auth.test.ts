import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSigner } from 'fast-jwt';
import { createTokenSigner, createTokenVerifier } from '../../src/auth';
import { ShopError } from '../../src/errors';

const secret = 'a-test-secret-of-sufficient-length';
const user = { id: 'u-1', email: 'ada@example.com', name: 'Ada' };

test('a token signed by the user service verifies to the same user', () => {
  const token = createTokenSigner(secret)(user);
  assert.deepEqual(createTokenVerifier(secret)(token), user);
});

test('a token signed with another secret, expired, or from another issuer is refused', () => {
  const verify = createTokenVerifier(secret);
  const isUnauthenticated = (err: unknown) => err instanceof ShopError && err.code === 'SHOP_UNAUTHENTICATED';
  assert.throws(() => verify(createTokenSigner('another-secret-entirely-xx')(user)), isUnauthenticated);
  const expired = createSigner({ key: secret, iss: 'shoplab-user', aud: 'shoplab', expiresIn: 1, clockTimestamp: 0 })({
    sub: 'u-1',
  });
  assert.throws(() => verify(expired), /expired/);
  const foreign = createSigner({ key: secret, iss: 'someone-else', aud: 'shoplab' })({ sub: 'u-1' });
  assert.throws(() => verify(foreign), isUnauthenticated);
  assert.throws(() => verify('not-a-jwt'), isUnauthenticated);
});
