import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseScryptHash, SCRYPT_DEFAULTS, ScryptPasswordHasher } from '../../src/infrastructure/password-hasher';

const hasher = new ScryptPasswordHasher();

describe('scrypt password hashing', () => {
  test("a hash is stored as scrypt$N$r$p$salt$hash with OWASP's N=2^17, r=8, p=1, a 16-byte salt and a 64-byte key", async () => {
    const stored = await hasher.hash('correct horse battery staple');
    const [scheme, n, r, p, salt, hash] = stored.split('$');
    assert.deepEqual([scheme, n, r, p], ['scrypt', '131072', '8', '1']);
    assert.equal(Buffer.from(salt as string, 'base64url').length, 16);
    assert.equal(Buffer.from(hash as string, 'base64url').length, 64);
    assert.ok(!stored.includes('correct horse'));
  });

  test('the right password verifies and a wrong one does not', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    assert.equal(await hasher.verify('correct horse battery staple', stored), true);
    assert.equal(await hasher.verify('correct horse battery stapl', stored), false);
    assert.equal(await hasher.verify('', stored), false);
  });

  test('the same password hashes differently every time (random salt)', async () => {
    const [a, b] = await Promise.all([hasher.hash('same password'), hasher.hash('same password')]);
    assert.notEqual(a, b);
    assert.equal(await hasher.verify('same password', a), true);
    assert.equal(await hasher.verify('same password', b), true);
  });

  test('a password typed in another Unicode normalization form still verifies', async () => {
    const composed = 'Cr\u00e8me br\u00fbl\u00e9e';
    const decomposed = composed.normalize('NFD');
    assert.notEqual(composed, decomposed);
    assert.equal(await hasher.verify(decomposed, await hasher.hash(composed)), true);
  });

  test('verification uses the parameters stored with the hash, so the cost can change later', async () => {
    const cheap = new ScryptPasswordHasher({ ...SCRYPT_DEFAULTS, N: 1024, keyBytes: 32 });
    const stored = await cheap.hash('an older password');
    assert.match(stored, /^scrypt\$1024\$8\$1\$/);
    assert.equal(await hasher.verify('an older password', stored), true);
  });

  test('needsRehash: a hash of other parameters (or none we could have written) is rehashed, a current one is not', async () => {
    const cheap = new ScryptPasswordHasher({ ...SCRYPT_DEFAULTS, N: 1024 });
    const older = await cheap.hash('pw');
    assert.match(older, /^scrypt\$1024\$/);
    assert.equal(hasher.needsRehash(older), true);
    assert.equal(cheap.needsRehash(older), false);
    assert.equal(hasher.needsRehash('not a hash'), true);
    assert.equal(hasher.needsRehash(await hasher.hash('pw')), false);
  });

  test('a malformed or hostile stored value never verifies (and does not throw)', async () => {
    const good = await hasher.hash('pw-12345678');
    const [, , , , salt, hash] = good.split('$');
    for (const stored of [
      '',
      'plain-text-password',
      `bcrypt$16384$8$1$${salt}$${hash}`,
      `scrypt$16384$8$1$${salt}`,
      `scrypt$1000$8$1$${salt}$${hash}`, // N not a power of two
      `scrypt$${2 ** 24}$8$1$${salt}$${hash}`, // N far too large to allocate
      `scrypt$16384$8$1$$${hash}`, // no salt
      `scrypt$16384$8$1$${salt}$not base64!`,
    ]) {
      assert.equal(parseScryptHash(stored), undefined, stored);
      assert.equal(await hasher.verify('pw-12345678', stored), false, stored);
    }
  });

  test('hashing does not block the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await Promise.all([hasher.hash('a password'), hasher.hash('another password')]);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, 'timers ran while scrypt was computing');
  });
});
