import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTokenVerifier } from '@shoplab/chassis';
import { SCRYPT_DEFAULTS, ScryptPasswordHasher } from '../../src/infrastructure/password-hasher';
import { PASSWORD, startTestService, type TestService, USER_KEYS, uniqueEmail } from '../support/app';
import { registerUser } from '../support/http';

// Tiny thresholds: the 3rd attempt waits 10 ms, the 4th 20 ms, the 5th 40 ms (the cap); from
// 5 failures on, attempts are refused for 60 s after the last failure.
const THROTTLE = {
  LOGIN_SLOWDOWN_AFTER: '2',
  LOGIN_SLOWDOWN_BASE_MS: '10',
  LOGIN_SLOWDOWN_MAX_MS: '40',
  LOGIN_BLOCK_AFTER: '5',
  LOGIN_WINDOW_SECONDS: '60',
};

let svc: TestService;

before(async () => {
  svc = await startTestService(THROTTLE);
});

after(async () => {
  await svc?.close();
});

function login(email: string, password: string) {
  return svc.http.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
}

describe('registration and sign-in', () => {
  test('a user registers, logs in and reads their profile with the token', async () => {
    const email = uniqueEmail('alice');
    const registered = await svc.http.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: PASSWORD, name: 'Alice' },
    });
    assert.equal(registered.statusCode, 201);
    const body = registered.json();
    assert.deepEqual(Object.keys(body).sort(), ['token', 'user']);
    assert.deepEqual(Object.keys(body.user).sort(), ['createdAt', 'email', 'id', 'name']);
    assert.equal(body.user.email, email);
    assert.equal(body.user.name, 'Alice');
    assert.ok(!Number.isNaN(Date.parse(body.user.createdAt)));

    const loggedIn = await login(email, PASSWORD);
    assert.equal(loggedIn.statusCode, 200);
    const { token } = loggedIn.json();
    const claims = createTokenVerifier(USER_KEYS.publicKey)(token);
    assert.deepEqual(claims, { id: body.user.id, email, name: 'Alice' });

    const me = await svc.http.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json(), { ...body.user, addresses: [] });
  });

  test('an old hash (a lower scrypt cost) still signs in, and that login stores a hash of the current cost', async () => {
    const email = uniqueEmail('old-hash');
    await registerUser(svc.http, { email });
    const older = await new ScryptPasswordHasher({ ...SCRYPT_DEFAULTS, N: 1024 }).hash(PASSWORD);
    await svc.prisma.user.update({ where: { email }, data: { passwordHash: older } });

    assert.equal((await login(email, PASSWORD)).statusCode, 200);
    const { passwordHash } = await svc.prisma.user.findUniqueOrThrow({ where: { email } });
    assert.notEqual(passwordHash, older);
    assert.ok(passwordHash.startsWith(`scrypt$${svc.config.PASSWORD_SCRYPT_N}$8$1$`), passwordHash);
    assert.equal((await login(email, PASSWORD)).statusCode, 200);
    assert.equal((await login(email, 'not the password')).statusCode, 401);
  });

  test('the email is trimmed and lower-cased, so logging in with another case works', async () => {
    const email = uniqueEmail('Mixed.Case');
    const res = await svc.http.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: `  ${email.toUpperCase()} `, password: PASSWORD, name: '  Bob  ' },
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().user.email, email.toLowerCase());
    assert.equal(res.json().user.name, 'Bob');
    assert.equal((await login(email.toUpperCase(), PASSWORD)).statusCode, 200);
  });

  test('registering an email twice (in any case) is refused with 409 SHOP_ALREADY_EXISTS', async () => {
    const { email } = await registerUser(svc.http);
    const again = await svc.http.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: email.toUpperCase(), password: 'another password', name: 'Impostor' },
    });
    assert.equal(again.statusCode, 409);
    assert.equal(again.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(again.json().code, 'SHOP_ALREADY_EXISTS');
    assert.equal(await svc.prisma.user.count({ where: { email } }), 1);
  });

  test('two registrations of one email racing each other create one user', async () => {
    const email = uniqueEmail('race');
    const attempts = await Promise.all(
      [1, 2, 3].map(() =>
        svc.http.inject({
          method: 'POST',
          url: '/v1/auth/register',
          payload: { email, password: PASSWORD, name: 'R' },
        }),
      ),
    );
    assert.deepEqual(attempts.map((r) => r.statusCode).sort(), [201, 409, 409]);
    assert.equal(await svc.prisma.user.count({ where: { email } }), 1);
  });

  test('a wrong password and an unknown email get the same 401 SHOP_INVALID_CREDENTIALS answer', async () => {
    const { email } = await registerUser(svc.http);
    const wrongPassword = await login(email, 'not the password');
    const unknownEmail = await login(uniqueEmail('nobody'), 'not the password');
    assert.equal(wrongPassword.statusCode, 401);
    assert.equal(unknownEmail.statusCode, 401);
    assert.equal(wrongPassword.json().code, 'SHOP_INVALID_CREDENTIALS');
    assert.deepEqual(wrongPassword.json(), unknownEmail.json());
    assert.equal(wrongPassword.body, unknownEmail.body);
  });

  test('the profile needs a valid token', async () => {
    const none = await svc.http.inject({ method: 'GET', url: '/v1/users/me' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'SHOP_UNAUTHENTICATED');
    const forged = await svc.http.inject({
      method: 'GET',
      url: '/v1/users/me',
      headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.invalid' },
    });
    assert.equal(forged.statusCode, 401);
  });
});

describe('input validation', () => {
  test('a bad email, a short password and an empty name are all reported as 400 field errors', async () => {
    const res = await svc.http.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: 'not-an-email', password: 'short', name: '   ' },
    });
    assert.equal(res.statusCode, 400);
    const problem = res.json();
    assert.equal(problem.code, 'SHOP_VALIDATION_FAILED');
    const fields = problem.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['body.email', 'body.name', 'body.password']);
  });

  test('a password longer than 128 characters is refused', async () => {
    const res = await svc.http.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: uniqueEmail(), password: 'x'.repeat(129), name: 'Long' },
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(
      res.json().errors.map((e: { field: string }) => e.field),
      ['body.password'],
    );
  });

  test('an unknown field is refused with 400 rather than silently dropped', async () => {
    const res = await svc.http.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email: uniqueEmail(), password: PASSWORD, name: 'Typo', passwrod: PASSWORD },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
    assert.match(res.json().detail, /passwrod/);
  });

  test('a login without a password is a 400, not a failed login', async () => {
    const res = await svc.http.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: uniqueEmail() } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
  });
});

describe('login slowdown', () => {
  test('after two failures attempts wait, doubling up to the cap, and a success resets the count', async () => {
    const { email } = await registerUser(svc.http);
    const before = svc.waits.length;
    const waitsSince = () => svc.waits.slice(before);

    assert.equal((await login(email, 'wrong-1')).statusCode, 401);
    assert.equal((await login(email, 'wrong-2')).statusCode, 401);
    assert.deepEqual(waitsSince(), [], 'the first two failures are answered at once');

    const started = Date.now();
    assert.equal((await login(email, 'wrong-3')).statusCode, 401);
    assert.ok(Date.now() - started >= 10, 'the third attempt was answered after its wait');
    assert.equal((await login(email, 'wrong-4')).statusCode, 401);
    assert.deepEqual(waitsSince(), [10, 20]);

    // The right password still works while slowed down (it waits too), and resets the count.
    assert.equal((await login(email, PASSWORD)).statusCode, 200);
    assert.deepEqual(waitsSince(), [10, 20, 40]);
    assert.equal(await svc.prisma.loginAttempt.count({ where: { email } }), 0);

    assert.equal((await login(email, 'wrong-again')).statusCode, 401);
    assert.deepEqual(waitsSince(), [10, 20, 40], 'after the reset, a failure is answered at once again');
  });

  test('from five failures on, attempts are refused with 429 and retryAfterSeconds, even with the right password', async () => {
    const { email } = await registerUser(svc.http);
    for (let i = 1; i <= 5; i++) assert.equal((await login(email, `wrong-${i}`)).statusCode, 401);

    const refused = await login(email, PASSWORD);
    assert.equal(refused.statusCode, 429);
    const problem = refused.json();
    assert.equal(problem.code, 'SHOP_RATE_LIMITED');
    assert.ok(
      problem.retryAfterSeconds > 0 && problem.retryAfterSeconds <= 60,
      `retryAfterSeconds ${problem.retryAfterSeconds}`,
    );
    assert.equal(refused.headers['retry-after'], String(problem.retryAfterSeconds));

    // A refused attempt does not extend the lockout.
    const row = await svc.prisma.loginAttempt.findFirstOrThrow({ where: { email } });
    assert.equal(row.failures, 5);
  });

  test('unknown emails are slowed down and refused the same way, so lockouts reveal no accounts', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 1; i <= 5; i++) assert.equal((await login(email, `guess-${i}`)).statusCode, 401);
    assert.equal((await login(email, 'guess-6')).statusCode, 429);
  });

  test('failures are forgotten once the window has passed since the last one', async () => {
    const { email } = await registerUser(svc.http);
    for (let i = 1; i <= 5; i++) await login(email, `wrong-${i}`);
    assert.equal((await login(email, PASSWORD)).statusCode, 429);

    svc.advanceClock(61_000);
    const before = svc.waits.length;
    assert.equal((await login(email, PASSWORD)).statusCode, 200);
    assert.deepEqual(svc.waits.slice(before), [], 'no wait: the old failures no longer count');
  });

  test("a login flood for a victim's email from another address does not lock the victim out", async () => {
    const { email } = await registerUser(svc.http);
    const from = (address: string, password: string) =>
      svc.http.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'x-shop-client-address': address },
        payload: { email, password },
      });
    for (let i = 1; i <= 5; i++) assert.equal((await from('203.0.113.66', `guess-${i}`)).statusCode, 401);
    assert.equal((await from('203.0.113.66', PASSWORD)).statusCode, 429, 'the attacker is locked out');
    const before = svc.waits.length;
    assert.equal((await from('198.51.100.7', PASSWORD)).statusCode, 200, 'the victim from home is not');
    assert.deepEqual(svc.waits.slice(before), [], 'and is not even slowed down');
    assert.equal(
      (await from('203.0.113.66', PASSWORD)).statusCode,
      429,
      'the success elsewhere does not free the attacker',
    );
  });

  test('counters whose window has passed are deleted by later attempts (the table keeps only what counts)', async () => {
    const { email } = await registerUser(svc.http);
    for (let i = 1; i <= 3; i++) await login(email, `old-${i}`);
    assert.equal(await svc.prisma.loginAttempt.count({ where: { email } }), 1);
    svc.advanceClock(61_000);
    await login(uniqueEmail('someone-else'), 'a guess');
    assert.equal(await svc.prisma.loginAttempt.count({ where: { email } }), 0);
  });

  test('parallel wrong guesses still count one by one', async () => {
    const { email } = await registerUser(svc.http);
    await Promise.all([1, 2, 3, 4].map((i) => login(email, `parallel-${i}`)));
    const row = await svc.prisma.loginAttempt.findFirstOrThrow({ where: { email } });
    assert.equal(row.failures, 4);
  });
});
