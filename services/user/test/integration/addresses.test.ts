import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestService, type TestService } from '../support/app';
import { berlin, london, registerUser, type Session } from '../support/http';

let svc: TestService;

before(async () => {
  svc = await startTestService();
});

after(async () => {
  await svc?.close();
});

function addAddress(session: Session, payload: Record<string, unknown>) {
  return svc.http.inject({ method: 'POST', url: '/v1/users/me/addresses', headers: session.auth, payload });
}

async function listAddresses(session: Session) {
  const res = await svc.http.inject({ method: 'GET', url: '/v1/users/me/addresses', headers: session.auth });
  assert.equal(res.statusCode, 200);
  return res.json().items as { id: string; country: string; isDefault: boolean }[];
}

test("a user's first address becomes the default, and the profile lists it", async () => {
  const session = await registerUser(svc.http);
  const res = await addAddress(session, berlin);
  assert.equal(res.statusCode, 201);
  const address = res.json();
  assert.deepEqual(address, { id: address.id, ...berlin, line2: null, isDefault: true });

  const me = await svc.http.inject({ method: 'GET', url: '/v1/users/me', headers: session.auth });
  assert.deepEqual(me.json().addresses, [address]);
});

test('a new default address takes the flag from the old one: at most one default per user', async () => {
  const session = await registerUser(svc.http);
  const first = (await addAddress(session, berlin)).json();
  const second = (await addAddress(session, { ...london, line2: 'Flat 1' })).json();
  assert.equal(second.isDefault, false);
  assert.equal(second.line2, 'Flat 1');
  const third = (await addAddress(session, { ...london, isDefault: true })).json();

  const items = await listAddresses(session);
  assert.deepEqual(
    items.map((a) => [a.id, a.isDefault]),
    [
      [first.id, false],
      [second.id, false],
      [third.id, true],
    ],
  );
});

test('addresses added in parallel as default still leave exactly one default', async () => {
  const session = await registerUser(svc.http);
  const results = await Promise.all([1, 2, 3, 4].map(() => addAddress(session, { ...berlin, isDefault: true })));
  assert.deepEqual(
    results.map((r) => r.statusCode),
    [201, 201, 201, 201],
  );
  const items = await listAddresses(session);
  assert.equal(items.length, 4);
  assert.equal(items.filter((a) => a.isDefault).length, 1);
});

test('an invalid address is refused with 400 naming each bad field', async () => {
  const session = await registerUser(svc.http);
  const res = await addAddress(session, { line1: '', city: 'Paris', postalCode: '75001', country: 'fr' });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
  assert.deepEqual(
    res
      .json()
      .errors.map((e: { field: string }) => e.field)
      .sort(),
    ['body.country', 'body.line1'],
  );

  const notIso = await addAddress(session, { ...berlin, country: 'ZZ' });
  assert.equal(notIso.statusCode, 400);
  assert.match(notIso.json().detail, /country/);
  assert.deepEqual(await listAddresses(session), []);
});

test('a user deletes their own address', async () => {
  const session = await registerUser(svc.http);
  const address = (await addAddress(session, berlin)).json();
  const res = await svc.http.inject({
    method: 'DELETE',
    url: `/v1/users/me/addresses/${address.id}`,
    headers: session.auth,
  });
  assert.equal(res.statusCode, 204);
  assert.deepEqual(await listAddresses(session), []);
});

test("a user cannot delete another user's address: 404, and the address stays", async () => {
  const owner = await registerUser(svc.http);
  const other = await registerUser(svc.http);
  const address = (await addAddress(owner, berlin)).json();
  const res = await svc.http.inject({
    method: 'DELETE',
    url: `/v1/users/me/addresses/${address.id}`,
    headers: other.auth,
  });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'SHOP_NOT_FOUND');
  assert.equal((await listAddresses(owner)).length, 1);
});

test('deleting an unknown address is 404; a malformed id is 400', async () => {
  const session = await registerUser(svc.http);
  const unknown = await svc.http.inject({
    method: 'DELETE',
    url: `/v1/users/me/addresses/${randomUUID()}`,
    headers: session.auth,
  });
  assert.equal(unknown.statusCode, 404);
  const malformed = await svc.http.inject({
    method: 'DELETE',
    url: '/v1/users/me/addresses/not-a-uuid',
    headers: session.auth,
  });
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.json().code, 'SHOP_VALIDATION_FAILED');
});

test('address routes need a token', async () => {
  const res = await svc.http.inject({ method: 'POST', url: '/v1/users/me/addresses', payload: berlin });
  assert.equal(res.statusCode, 401);
});

test('the OpenAPI document describes the user routes', async () => {
  const res = await svc.http.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  const paths = Object.keys(res.json().paths);
  for (const path of [
    '/v1/auth/register',
    '/v1/auth/login',
    '/v1/users/me',
    '/v1/users/me/addresses',
    '/v1/users/me/addresses/{id}',
  ]) {
    assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`);
  }
});
