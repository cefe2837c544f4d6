// The checkout mode switch (PUT /v1/admin/checkout-mode) and the mode recorded on each order,
// on the real PostgreSQL of the harness.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pgPoolOf } from '@shoplab/chassis';
import { ADMIN_TOKEN, type Harness, newUserId, startHarness, VISA } from '../support/harness';

let h: Harness;

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-mode', { name: 'A Mode Mug', price: 900 });
});

after(async () => {
  await h.close();
});

function admin(method: 'GET' | 'PUT', payload?: Record<string, unknown>, token = ADMIN_TOKEN) {
  const headers = { authorization: `Bearer ${token}` };
  const url = '/v1/admin/checkout-mode';
  return payload === undefined
    ? h.app.http.inject({ method, url, headers })
    : h.app.http.inject({ method, url, headers, payload });
}

test('the switch says the mode and what is available; it needs the admin token', async () => {
  const res = await admin('GET');
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().mode, 'orchestrated');
  assert.ok(res.json().available.includes('orchestrated'));
  assert.equal((await admin('GET', undefined, 'not-the-admin-token-0000000')).statusCode, 403);
  assert.equal((await admin('PUT', { mode: 'orchestrated' }, 'not-the-admin-token-0000000')).statusCode, 403);
});

test('an unknown mode is 400 and a mode this service does not run is 409; neither changes the mode', async () => {
  const unknown = await admin('PUT', { mode: 'sideways' });
  assert.equal(unknown.statusCode, 400, unknown.body);
  const { available } = (await admin('GET')).json() as { available: string[] };
  const notRun = ['orchestrated', 'choreographed', 'two-phase'].find((m) => !available.includes(m));
  if (notRun) {
    const refused = await admin('PUT', { mode: notRun });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
  }
  assert.equal((await admin('GET')).json().mode, 'orchestrated');
});

test('an order records the mode it was checked out in, its page shows it, the column takes modes only', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-mode', quantity: 1 }]);
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `checkout-mode-${userId}` },
    payload: { card: VISA },
  });
  assert.equal(res.statusCode, 202, res.body);
  const { orderId } = res.json() as { orderId: string };
  const { rows } = await pgPoolOf(h.prisma).query<{ checkout_mode: string }>(
    'SELECT checkout_mode FROM orders WHERE id = $1',
    [orderId],
  );
  assert.equal(rows[0]?.checkout_mode, 'orchestrated');
  const page = await h.app.http.inject({
    method: 'GET',
    url: `/v1/orders/${orderId}`,
    headers: { authorization: `Bearer ${h.tokenFor(userId)}` },
  });
  assert.equal(page.statusCode, 200, page.body);
  assert.equal(page.json().checkoutMode, 'orchestrated');
  // The column takes the three modes only.
  await assert.rejects(
    pgPoolOf(h.prisma).query(`UPDATE orders SET checkout_mode = 'sideways' WHERE id = $1`, [orderId]),
    (err: unknown) => (err as { code?: string }).code === '23514',
  );
});
