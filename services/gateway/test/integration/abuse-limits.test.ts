// The public API's abuse limits on a gateway wired to the fakes: the per-address budget beside
// the per-user one, the tighter budget of /auth/*, the configured allowance and proxy trust, and
// the order event streams' caps and lifetime. Limits are scaled down by configuration.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { bearer, type Gateway, order, startGateway, startWorld, tokenFor, type World } from '../support/harness';

let world: World;

before(async () => {
  world = await startWorld();
  world.state.orders.set('o-a', order('o-a', 'alice'));
  world.state.orders.set('o-b', order('o-b', 'bob'));
  world.state.orders.set('o-c', order('o-c', 'carol'));
});

after(async () => {
  await world.close();
});

async function withGateway(env: Record<string, string>, body: (gw: Gateway) => Promise<void>): Promise<void> {
  const gw = await startGateway(world, env);
  try {
    await body(gw);
  } finally {
    await gw.close();
  }
}

function products(gw: Gateway, remoteAddress: string, headers: Record<string, string> = {}) {
  return gw.app.inject({ url: '/api/v1/products', remoteAddress, headers });
}

test('a user with 5 accounts from one address is limited by the address budget; other addresses are not', async () => {
  await withGateway({ RATE_LIMIT_PER_MINUTE: '100', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '6' }, async (gw) => {
    const accounts = ['u1', 'u2', 'u3', 'u4', 'u5'].map((u) => bearer(u));
    const statuses: number[] = [];
    for (const account of accounts) {
      for (let i = 0; i < 2; i++) statuses.push((await products(gw, '10.0.0.5', account)).statusCode);
    }
    // Each account spent 2 of its 100, but the address only had 6.
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    const refused = await products(gw, '10.0.0.5', bearer('u6'));
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().code, 'SHOP_RATE_LIMITED');
    assert.match(refused.json().detail, /from one address/);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    // Another address, signed in or not, has its own budget.
    assert.equal((await products(gw, '10.0.0.6')).statusCode, 200);
    assert.equal((await products(gw, '10.0.0.6', bearer('u1'))).statusCode, 200);
  });
});

test('an exempt address (a configured allowance) skips the address budgets; its users keep their own', async () => {
  await withGateway(
    {
      RATE_LIMIT_PER_MINUTE: '8',
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '2',
      RATE_LIMIT_AUTH_PER_MINUTE: '1',
      RATE_LIMIT_EXEMPT_ADDRESSES: '10.0.0.7, 10.0.0.8',
    },
    async (gw) => {
      for (const u of ['u1', 'u2', 'u3']) {
        for (let i = 0; i < 3; i++) assert.equal((await products(gw, '10.0.0.7', bearer(u))).statusCode, 200);
      }
      for (let i = 0; i < 3; i++) {
        const login = await gw.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: '10.0.0.7',
          payload: { email: 'a@example.com', password: 'whatever' },
        });
        assert.notEqual(login.statusCode, 429);
      }
      // The per-user budget still holds there.
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await products(gw, '10.0.0.8', bearer('u9'))).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      for (let i = 0; i < 2; i++) await products(gw, '10.0.0.8', bearer('u9'));
      assert.equal((await products(gw, '10.0.0.8', bearer('u9'))).statusCode, 429);
      // Not exempt: the address budget of 2.
      await products(gw, '10.0.0.9');
      await products(gw, '10.0.0.9', bearer('u1'));
      assert.equal((await products(gw, '10.0.0.9', bearer('u2'))).statusCode, 429);
    },
  );
});

test('/auth/* has a tighter budget per address than the rest of the API', async () => {
  await withGateway({ RATE_LIMIT_AUTH_PER_MINUTE: '2' }, async (gw) => {
    const login = () =>
      gw.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: '10.0.1.1',
        payload: { email: 'victim@example.com', password: 'a guess' },
      });
    assert.notEqual((await login()).statusCode, 429);
    assert.notEqual((await login()).statusCode, 429);
    const refused = await login();
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().code, 'SHOP_RATE_LIMITED');
    const register = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      remoteAddress: '10.0.1.1',
      payload: { email: 'new@example.com', password: 'long enough', name: 'New' },
    });
    assert.equal(register.statusCode, 429);
    // The catalogue from the same address, and logins from another, are unaffected.
    assert.equal((await products(gw, '10.0.1.1')).statusCode, 200);
    const elsewhere = await gw.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: '10.0.1.2',
      payload: { email: 'victim@example.com', password: 'the password' },
    });
    assert.notEqual(elsewhere.statusCode, 429);
  });
});

test('a login names the client address to the user service (its throttle counts per email and address)', async () => {
  await withGateway({ TRUST_PROXY: '10.9.9.9' }, async (gw) => {
    world.state.loginAddresses = [];
    const login = (remoteAddress: string, headers: Record<string, string> = {}) =>
      gw.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress,
        headers,
        payload: { email: 'victim@example.com', password: 'a guess' },
      });
    await login('10.0.2.1');
    await login('10.9.9.9', { 'x-forwarded-for': '198.51.100.7' });
    await login('10.0.2.2', { 'x-forwarded-for': '198.51.100.7' });
    assert.deepEqual(world.state.loginAddresses, ['10.0.2.1', '198.51.100.7', '10.0.2.2']);
  });
});

test('X-Forwarded-For names the client only when it comes from a configured proxy', async () => {
  const twoFromEach = async (gw: Gateway, peer: string) => {
    const statuses: number[] = [];
    for (const client of ['1.1.1.1', '2.2.2.2']) {
      for (let i = 0; i < 2; i++) {
        statuses.push((await products(gw, peer, { 'x-forwarded-for': client })).statusCode);
      }
    }
    return statuses;
  };
  await withGateway({ RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '2', TRUST_PROXY: '10.9.9.9' }, async (gw) => {
    assert.deepEqual(await twoFromEach(gw, '10.9.9.9'), [200, 200, 200, 200], 'two clients behind the proxy');
    // The same header from anyone else is ignored: one address, one budget.
    assert.deepEqual(await twoFromEach(gw, '10.9.9.10'), [200, 200, 429, 429]);
  });
  await withGateway({ RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '2' }, async (gw) => {
    assert.deepEqual(await twoFromEach(gw, '10.9.9.9'), [200, 200, 429, 429], 'no proxy trusted by default');
  });
});

test('order event streams are capped per user and in all (429 SHOP_TOO_MANY_STREAMS with Retry-After)', async () => {
  await withGateway(
    { ORDER_EVENTS_MAX_STREAMS_PER_USER: '1', ORDER_EVENTS_MAX_STREAMS: '2', ORDER_EVENTS_MODE: 'polling' },
    async (gw) => {
      await gw.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}/api/v1`;
      const stops: AbortController[] = [];
      const open = (user: string, id: string) => {
        const stop = new AbortController();
        stops.push(stop);
        return fetch(`${base}/orders/${id}/events`, {
          headers: { authorization: `Bearer ${tokenFor(user)}` },
          signal: stop.signal,
        });
      };
      try {
        const alice = await open('alice', 'o-a');
        assert.equal(alice.status, 200);
        const again = await open('alice', 'o-a');
        assert.equal(again.status, 429);
        assert.equal(again.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.equal(((await again.json()) as { code: string }).code, 'SHOP_TOO_MANY_STREAMS');
        assert.ok(Number(again.headers.get('retry-after')) > 0);

        assert.equal((await open('bob', 'o-b')).status, 200);
        const carol = await open('carol', 'o-c');
        assert.equal(carol.status, 429, 'the gateway holds 2 streams in all');
        assert.equal(((await carol.json()) as { code: string }).code, 'SHOP_TOO_MANY_STREAMS');

        // A closed stream gives its slot back.
        stops[0]?.abort();
        let reopened = 429;
        for (let i = 0; i < 200 && reopened === 429; i++) {
          const res = await open('alice', 'o-a');
          reopened = res.status;
          if (reopened === 429) {
            await res.body?.cancel();
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        assert.equal(reopened, 200);
      } finally {
        for (const stop of stops) stop.abort();
      }
    },
  );
});

test('a stream ends at its maximum lifetime though its order has not', async () => {
  await withGateway({ ORDER_EVENTS_MAX_LIFETIME_MS: '300', ORDER_EVENTS_MODE: 'polling' }, async (gw) => {
    await gw.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}/api/v1`;
    const res = await fetch(`${base}/orders/o-a/events`, { headers: { authorization: `Bearer ${tokenFor('alice')}` } });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^event: status$/m);
    assert.doesNotMatch(text, /CONFIRMED|CANCELLED/);
  });
});
