import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import type {
  LoginAttemptStore,
  NotificationReader,
  PasswordHasher,
  StoredCredentials,
  UserRepository,
} from '../../src/application/ports';
import { LOGIN_CHECK_RESERVE_MS, LOGIN_MIN_WAIT_MS, Users } from '../../src/application/users';
import { type AttemptDecision, DEFAULT_LOGIN_THROTTLE } from '../../src/domain/login-throttle';

const DUMMY = 'scrypt$dummy';

/** A hasher that records what it verified against; "hash:<pw>" is the hash of <pw>. */
class RecordingHasher implements PasswordHasher {
  readonly verified: string[] = [];
  async hash(password: string) {
    return `hash:${password}`;
  }
  async verify(password: string, stored: string) {
    this.verified.push(stored);
    return stored === `hash:${password}` || stored === `old-hash:${password}`;
  }
  needsRehash(stored: string) {
    return stored.startsWith('old-hash:');
  }
}

function usersWith(options: { credentials?: StoredCredentials; decision?: AttemptDecision } = {}) {
  const hasher = new RecordingHasher();
  const waits: number[] = [];
  const succeeded: string[] = [];
  const attempts: LoginAttemptStore = {
    begin: async () => options.decision ?? { kind: 'proceed', delayMs: 0, failuresBefore: 0 },
    succeeded: async (email, _address) => {
      succeeded.push(email);
    },
  };
  const replaced: [string, string, string][] = [];
  const repository = {
    findCredentials: async (email: string) => (options.credentials?.email === email ? options.credentials : undefined),
    replacePasswordHash: async (id: string, previous: string, next: string) => {
      replaced.push([id, previous, next]);
    },
  } as unknown as UserRepository;
  const users = new Users({
    users: repository,
    attempts,
    notifications: {} as NotificationReader,
    hasher,
    signToken: (u) => `token-for-${u.id}`,
    throttle: DEFAULT_LOGIN_THROTTLE,
    dummyHash: DUMMY,
    wait: async (ms) => waits.push(ms),
  });
  return { users, hasher, waits, succeeded, replaced };
}

const alice: StoredCredentials = {
  id: 'a1b2c3d4-0000-4000-8000-000000000001',
  email: 'alice@example.com',
  name: 'Alice',
  passwordHash: 'hash:right password',
};

function isCode(code: string) {
  return (err: unknown) => err instanceof ShopError && err.code === code;
}

describe('login', () => {
  test('an unknown email still costs a full password check, against the dummy hash', async () => {
    const { users, hasher } = usersWith({ credentials: alice });
    await assert.rejects(
      users.login({ email: 'nobody@example.com', password: 'x' }),
      isCode('SHOP_INVALID_CREDENTIALS'),
    );
    assert.deepEqual(hasher.verified, [DUMMY]);
  });

  test('a wrong password fails with the same error as an unknown email', async () => {
    const { users } = usersWith({ credentials: alice });
    const wrong = await users.login({ email: alice.email, password: 'wrong' }).catch((e: ShopError) => e);
    const unknown = await users.login({ email: 'nobody@example.com', password: 'wrong' }).catch((e: ShopError) => e);
    assert.ok(wrong instanceof ShopError && unknown instanceof ShopError);
    assert.deepEqual([wrong.code, wrong.message, wrong.details], [unknown.code, unknown.message, unknown.details]);
  });

  test('the right password, in any email case, gives a token and resets the failures', async () => {
    const { users, succeeded } = usersWith({ credentials: alice });
    assert.deepEqual(await users.login({ email: ' ALICE@example.com', password: 'right password' }), {
      token: `token-for-${alice.id}`,
    });
    assert.deepEqual(succeeded, [alice.email]);
  });

  test('a login with a hash of an older cost stores a new hash of the password; a current one is left alone', async () => {
    const old = usersWith({ credentials: { ...alice, passwordHash: 'old-hash:right password' } });
    await old.users.login({ email: alice.email, password: 'right password' });
    assert.deepEqual(old.replaced, [[alice.id, 'old-hash:right password', 'hash:right password']]);

    const current = usersWith({ credentials: alice });
    await current.users.login({ email: alice.email, password: 'right password' });
    assert.deepEqual(current.replaced, []);
    // A failed login never rehashes (the password is not known to be right).
    const failed = usersWith({ credentials: { ...alice, passwordHash: 'old-hash:right password' } });
    await assert.rejects(failed.users.login({ email: alice.email, password: 'wrong' }));
    assert.deepEqual(failed.replaced, []);
  });

  test('a slowed-down attempt waits before the password is even checked', async () => {
    const { users, waits, hasher } = usersWith({
      credentials: alice,
      decision: { kind: 'proceed', delayMs: 500, failuresBefore: 4 },
    });
    await users.login({ email: alice.email, password: 'right password' });
    assert.deepEqual(waits, [500]);
    assert.equal(hasher.verified.length, 1);
  });

  test('the wait leaves room in the caller’s budget for the password check, so it never outlasts the caller', async () => {
    const { users, waits, hasher } = usersWith({
      credentials: alice,
      decision: { kind: 'proceed', delayMs: 4_000, failuresBefore: 7 },
    });
    await users.login({ email: alice.email, password: 'right password' }, { budgetMs: 2_000 });
    await users.login({ email: alice.email, password: 'right password' }, { budgetMs: 500 });
    await users.login({ email: alice.email, password: 'right password' }, { budgetMs: 60_000 });
    assert.deepEqual(waits, [2_000 - LOGIN_CHECK_RESERVE_MS, LOGIN_MIN_WAIT_MS, 4_000]);
    assert.equal(hasher.verified.length, 3);
  });

  test('a blocked email is refused with SHOP_RATE_LIMITED before any password check', async () => {
    const { users, hasher } = usersWith({
      credentials: alice,
      decision: { kind: 'blocked', retryAfterSeconds: 42, failuresBefore: 10 },
    });
    await assert.rejects(
      users.login({ email: alice.email, password: 'right password' }),
      (err: unknown) =>
        err instanceof ShopError && err.code === 'SHOP_RATE_LIMITED' && err.details?.retryAfterSeconds === 42,
    );
    assert.deepEqual(hasher.verified, []);
  });
});
