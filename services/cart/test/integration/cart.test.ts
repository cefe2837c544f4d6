import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GrpcStatus, ShopError } from '@shoplab/chassis/errors';
import { type RunningCart, startCart, userHeaders } from '../support/harness';

let svc: RunningCart;

before(async () => {
  svc = await startCart();
  svc.catalog.set('book', 1999, 10).set('mug', 850, 3).set('pen', 120, 500);
});

after(() => svc.close());

interface CartBody {
  userId: string;
  lines: { productId: string; quantity: number; unitPrice: { amount: number; currency: string } }[];
  version: number;
  updatedAt: string | null;
}

const newUser = () => `user-${randomUUID()}`;

async function request(
  userId: string | undefined,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
) {
  const res = await svc.app.http.inject({
    method,
    url,
    headers: userId ? userHeaders(userId) : {},
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.json(), type: res.headers['content-type'] };
}

const getCart = async (userId: string) => (await request(userId, 'GET', '/v1/cart')).body as CartBody;
const add = (userId: string, productId: string, quantity: number) =>
  request(userId, 'POST', '/v1/cart/items', { productId, quantity });
const setQuantity = (userId: string, productId: string, quantity: number) =>
  request(userId, 'PATCH', `/v1/cart/items/${productId}`, { quantity });
const remove = (userId: string, productId: string) => request(userId, 'DELETE', `/v1/cart/items/${productId}`);
const lines = (cart: CartBody) => cart.lines.map((l) => `${l.productId}×${l.quantity}`);

describe('a user and their cart', () => {
  test('a user without a cart sees an empty one at version 0', async () => {
    const user = newUser();
    assert.deepEqual(await getCart(user), { userId: user, lines: [], version: 0, updatedAt: null });
  });

  test('adding an item answers 201 with the line at the current catalog price', async () => {
    const user = newUser();
    const { status, body } = await add(user, 'book', 2);
    assert.equal(status, 201);
    const cart = body as CartBody;
    assert.deepEqual(cart.lines, [{ productId: 'book', quantity: 2, unitPrice: { amount: 1999, currency: 'USD' } }]);
    assert.equal(cart.version, 1);
    assert.ok(cart.updatedAt);
    assert.deepEqual(await getCart(user), cart);
  });

  test('adding a product already in the cart adds to its line', async () => {
    const user = newUser();
    await add(user, 'book', 2);
    await add(user, 'pen', 5);
    const { body } = await add(user, 'book', 3);
    assert.deepEqual(lines(body as CartBody), ['book×5', 'pen×5']);
  });

  test('a quantity is changed with PATCH, and 0 removes the line', async () => {
    const user = newUser();
    await add(user, 'book', 1);
    await add(user, 'pen', 1);
    const changed = await setQuantity(user, 'book', 4);
    assert.equal(changed.status, 200);
    assert.deepEqual(lines(changed.body as CartBody), ['book×4', 'pen×1']);
    const removed = await setQuantity(user, 'pen', 0);
    assert.deepEqual(lines(removed.body as CartBody), ['book×4']);
  });

  test('a line is removed with DELETE; removing or changing a line not in the cart is 404', async () => {
    const user = newUser();
    await add(user, 'book', 1);
    const { status, body } = await remove(user, 'book');
    assert.equal(status, 200);
    assert.deepEqual((body as CartBody).lines, []);
    for (const res of [
      await remove(user, 'book'),
      await setQuantity(user, 'mug', 1),
      await setQuantity(user, 'mug', 0),
    ]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'SHOP_NOT_FOUND');
    }
  });

  test('DELETE /v1/cart empties the cart; emptying an empty cart changes nothing', async () => {
    const user = newUser();
    await add(user, 'book', 1);
    await add(user, 'mug', 1);
    const cleared = await request(user, 'DELETE', '/v1/cart');
    assert.equal(cleared.status, 200);
    assert.deepEqual((cleared.body as CartBody).lines, []);
    assert.equal((cleared.body as CartBody).version, 3);
    const again = await request(user, 'DELETE', '/v1/cart');
    assert.equal((again.body as CartBody).version, 3);
  });

  test('the version goes up by one on every change and not on reads', async () => {
    const user = newUser();
    const versions = [
      ((await add(user, 'book', 1)).body as CartBody).version,
      ((await add(user, 'book', 1)).body as CartBody).version,
      ((await setQuantity(user, 'book', 5)).body as CartBody).version,
      ((await add(user, 'pen', 1)).body as CartBody).version,
      ((await remove(user, 'pen')).body as CartBody).version,
      (await getCart(user)).version,
      ((await request(user, 'DELETE', '/v1/cart')).body as CartBody).version,
    ];
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 5, 6]);
  });

  test('concurrent additions to one cart all count, each with its own version', async () => {
    const user = newUser();
    const answers = await Promise.all(Array.from({ length: 6 }, () => add(user, 'pen', 1)));
    assert.ok(answers.every((a) => a.status === 201));
    assert.deepEqual(
      answers.map((a) => (a.body as CartBody).version).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(lines(await getCart(user)), ['pen×6']);
  });

  test("a changed line takes the catalog's current price", async () => {
    const user = newUser();
    svc.catalog.set('lamp', 5000, 10);
    await add(user, 'lamp', 1);
    svc.catalog.set('lamp', 4500, 10);
    const { body } = await setQuantity(user, 'lamp', 2);
    assert.deepEqual((body as CartBody).lines[0]?.unitPrice, { amount: 4500, currency: 'USD' });
  });
});

describe('what the catalog says', () => {
  test('an unknown product is 404 SHOP_NOT_FOUND and the cart is unchanged', async () => {
    const user = newUser();
    const { status, body, type } = await add(user, 'no-such-product', 1);
    assert.equal(status, 404);
    assert.equal(body.code, 'SHOP_NOT_FOUND');
    assert.match(String(type), /application\/problem\+json/);
    assert.equal((await getCart(user)).version, 0);
  });

  test('asking for more than the available stock is 409 SHOP_OUT_OF_STOCK, also when adding to a line', async () => {
    const user = newUser();
    const tooMany = await add(user, 'mug', 4);
    assert.equal(tooMany.status, 409);
    assert.equal(tooMany.body.code, 'SHOP_OUT_OF_STOCK');
    assert.equal(tooMany.body.available, 3);
    await add(user, 'mug', 2);
    const onTop = await add(user, 'mug', 2);
    assert.equal(onTop.status, 409);
    const patched = await setQuantity(user, 'mug', 4);
    assert.equal(patched.status, 409);
    assert.deepEqual(lines(await getCart(user)), ['mug×2']);
  });

  test('a line holds at most 99 units: adding past it conflicts with the cart (409)', async () => {
    const user = newUser();
    await add(user, 'pen', 60);
    const res = await add(user, 'pen', 40);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'SHOP_LINE_LIMIT_EXCEEDED');
    assert.deepEqual(lines(await getCart(user)), ['pen×60']);
  });
});

describe('input and identity', () => {
  test('invalid input is a 400 problem naming the field', async () => {
    const user = newUser();
    const cases: [string, 'POST' | 'PATCH', unknown][] = [
      ['/v1/cart/items', 'POST', { productId: 'book', quantity: 0 }],
      ['/v1/cart/items', 'POST', { productId: 'book', quantity: 100 }],
      ['/v1/cart/items', 'POST', { productId: 'book', quantity: 1.5 }],
      ['/v1/cart/items', 'POST', { productId: 'book', quantity: '2' }],
      ['/v1/cart/items', 'POST', { productId: '', quantity: 1 }],
      ['/v1/cart/items', 'POST', { quantity: 1 }],
      ['/v1/cart/items/book', 'PATCH', { quantity: -1 }],
      ['/v1/cart/items/book', 'PATCH', {}],
    ];
    for (const [url, method, payload] of cases) {
      const res = await request(user, method, url, payload);
      assert.equal(res.status, 400, JSON.stringify(payload));
      assert.equal(res.body.code, 'SHOP_VALIDATION_FAILED');
      assert.ok(res.body.errors.length > 0);
    }
    assert.equal((await getCart(user)).version, 0);
  });

  test('without a valid token every cart route is 401', async () => {
    for (const [method, url] of [
      ['GET', '/v1/cart'],
      ['POST', '/v1/cart/items'],
      ['PATCH', '/v1/cart/items/book'],
      ['DELETE', '/v1/cart/items/book'],
      ['DELETE', '/v1/cart'],
    ] as const) {
      const res = await request(
        undefined,
        method,
        url,
        method === 'POST' ? { productId: 'book', quantity: 1 } : undefined,
      );
      assert.equal(res.status, 401, `${method} ${url}`);
      assert.equal(res.body.code, 'SHOP_UNAUTHENTICATED');
    }
    const forged = await svc.app.http.inject({
      method: 'GET',
      url: '/v1/cart',
      headers: { authorization: 'Bearer not.a.token' },
    });
    assert.equal(forged.statusCode, 401);
  });

  test('a user sees and changes only their own cart', async () => {
    const alice = newUser();
    const bob = newUser();
    await add(alice, 'book', 1);
    await add(bob, 'pen', 2);
    assert.deepEqual(lines(await getCart(alice)), ['book×1']);
    assert.deepEqual(lines(await getCart(bob)), ['pen×2']);
    assert.equal((await remove(bob, 'book')).status, 404, "bob cannot remove alice's line");
    await request(bob, 'DELETE', '/v1/cart');
    assert.deepEqual(lines(await getCart(alice)), ['book×1'], "bob's clear leaves alice's cart alone");
  });
});

describe('gRPC CartService', () => {
  test('GetCart returns the cart with its lines and version', async () => {
    const user = newUser();
    await add(user, 'book', 2);
    await add(user, 'mug', 1);
    const { cart } = await svc.cartClient.call('getCart', { userId: user });
    assert.equal(cart?.userId, user);
    assert.equal(cart?.version, 2);
    assert.deepEqual(cart?.lines, [
      { productId: 'book', quantity: 2, unitPrice: { amount: 1999, currency: 'USD' } },
      { productId: 'mug', quantity: 1, unitPrice: { amount: 850, currency: 'USD' } },
    ]);
    assert.ok(cart?.updatedAt);
  });

  test('GetCart of a user without a cart is an empty cart, not NOT_FOUND', async () => {
    const user = newUser();
    const { cart } = await svc.cartClient.call('getCart', { userId: user });
    assert.deepEqual(cart, { userId: user, lines: [], version: 0, updatedAt: '' });
  });

  test('GetCart without a user id is INVALID_ARGUMENT', async () => {
    await assert.rejects(
      svc.cartClient.call('getCart', { userId: '' }),
      (err) => err instanceof ShopError && err.grpcStatus === GrpcStatus.INVALID_ARGUMENT,
    );
  });
});

describe('when the catalog is slow', () => {
  test('a catalog slower than CATALOG_DEADLINE_MS is 503 SHOP_DEPENDENCY_UNAVAILABLE and no line is added', async () => {
    const user = newUser();
    svc.catalog.delayMs = 1_500;
    try {
      const started = Date.now();
      const res = await add(user, 'book', 1);
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
      assert.ok(Date.now() - started < 1_400, 'the deadline cut the call short');
    } finally {
      svc.catalog.delayMs = 0;
    }
    assert.equal((await getCart(user)).version, 0);
  });
});

// Last: the catalog stays down afterwards.
describe('when the catalog is down', () => {
  test('adding or changing a line is 503 SHOP_DEPENDENCY_UNAVAILABLE and the cart is unchanged', async () => {
    const user = newUser();
    await add(user, 'book', 1);
    const before = await getCart(user);
    await svc.catalog.stop();

    const added = await add(user, 'pen', 1);
    assert.equal(added.status, 503);
    assert.equal(added.body.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
    const changed = await setQuantity(user, 'book', 2);
    assert.equal(changed.status, 503);
    assert.deepEqual(await getCart(user), before);

    // Repeated failures open the breaker; the cart still answers 503, now without waiting.
    for (let i = 0; i < 20 && svc.catalogClient.breaker.state !== 'open'; i++) await add(user, 'pen', 1);
    assert.equal(svc.catalogClient.breaker.state, 'open');
    const rejected = await add(user, 'pen', 1);
    assert.equal(rejected.status, 503);
    assert.equal(rejected.body.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
    assert.equal(rejected.body.cause, 'SHOP_CIRCUIT_OPEN');
    assert.deepEqual(await getCart(user), before);

    // Reading and removing need no catalog answer.
    const removed = await remove(user, 'book');
    assert.equal(removed.status, 200);
    assert.deepEqual((removed.body as CartBody).lines, []);
  });
});
