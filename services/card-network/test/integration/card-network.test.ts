// The card network over HTTP: its route, its validation (a 400 problem, never a 5xx), a key
// reused for another request (422), and its fault switch (the chassis' /admin/chaos).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CardNetworkApp } from '../../src/app';
import { TEST_ADMIN_TOKEN, testNetwork } from '../support';

const ADMIN = TEST_ADMIN_TOKEN;
let app: CardNetworkApp;

before(async () => {
  app = await testNetwork();
});

after(async () => {
  await app.http.close();
});

const body = { pan: '4242424242424242', expMonth: 12, expYear: 2030, amount: 500, currency: 'EUR' };
const authorize = (key: string, payload: Record<string, unknown> = body) =>
  app.http.inject({ method: 'POST', url: '/v1/authorizations', headers: { 'idempotency-key': key }, payload });

describe('card network over HTTP', () => {
  it('authorizes, and answers the same key with the same authorization', async () => {
    const first = await authorize('it-1');
    assert.equal(first.statusCode, 200);
    assert.equal(first.json().approved, true);
    const again = await authorize('it-1');
    assert.equal(again.json().authorizationId, first.json().authorizationId);
    assert.equal(again.json().replayed, true);
  });

  it('answers a decline as an answer (200, code 05)', async () => {
    const res = await authorize('it-2', { ...body, pan: '4000000000000002' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual([res.json().approved, res.json().responseCode], [false, '05']);
  });

  it('refuses bad input with 400 and a reused key with 422', async () => {
    const bad = await authorize('it-3', { ...body, pan: 'x' });
    assert.equal(bad.statusCode, 400);
    const noKey = await app.http.inject({ method: 'POST', url: '/v1/authorizations', payload: body });
    assert.equal(noKey.statusCode, 400);
    await authorize('it-4');
    const reused = await authorize('it-4', { ...body, amount: 501 });
    assert.equal(reused.statusCode, 422);
    assert.equal(reused.json().code, 'SHOP_IDEMPOTENCY_KEY_REUSED');
  });

  it('fails every authorization while its fault switch says so, and not after', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const put = await app.http.inject({
      method: 'PUT',
      url: '/admin/chaos',
      headers: auth,
      payload: { kind: 'http', target: 'POST /v1/authorizations', fault: { type: 'fail' } },
    });
    assert.equal(put.statusCode, 201);
    assert.equal((await authorize('it-5')).statusCode, 503);
    await app.http.inject({ method: 'DELETE', url: '/admin/chaos', headers: auth });
    const ok = await authorize('it-5');
    assert.equal(ok.statusCode, 200);
    // The failed call never reached the network's book: the key is decided now, once.
    assert.equal(ok.json().replayed, false);
  });

  it('its own fault switch: refused calls decide nothing, late answers are decided', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const set = (faults: object) =>
      app.http.inject({ method: 'PUT', url: '/v1/admin/faults', headers: auth, payload: faults });
    assert.equal((await set({ errorRate: 1, slowRate: 0, slowMs: 0 })).statusCode, 200);
    const decided = app.network.stats.authorizations;
    assert.equal((await authorize('it-6')).statusCode, 503);
    assert.equal(app.network.stats.authorizations, decided);
    await set({ errorRate: 0, slowRate: 1, slowMs: 20 });
    assert.equal((await authorize('it-6')).json().replayed, false);
    await set({ errorRate: 0, slowRate: 0, slowMs: 0 });
    assert.equal((await authorize('it-6')).json().replayed, true);
    assert.equal((await set({ errorRate: 2, slowRate: 0, slowMs: 0 })).statusCode, 400);
  });
});
