// productInStock makes the exercise's own product (docs/adr/0015-tests-own-their-data.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../src/api';
import type { ExerciseContext } from '../../src/exercises';
import { EXERCISE_CATEGORY, ownStock, productInStock, retryAfterMs } from '../../src/exercises/support';

interface Call {
  service: string;
  method: string;
  path: string;
  body: { name: string; category: string; stock: number };
}

function context(answer: (call: Call) => unknown): { ctx: ExerciseContext; calls: Call[] } {
  const calls: Call[] = [];
  const admin = {
    request: async (service: string, method: string, path: string, options: { body: Call['body'] }) => {
      const call = { service, method, path, body: options.body };
      calls.push(call);
      return answer(call);
    },
  };
  const ctx = { admin, runId: 'ex07-abc123', exercise: { number: 7 } } as unknown as ExerciseContext;
  return { ctx, calls };
}

test('an exercise buys from a product it made, never from the seeded catalogue', async () => {
  const { ctx, calls } = context((call) => ({ id: 'p-new', available: call.body.stock }));
  const product = await productInStock(ctx, 16);
  assert.deepEqual(product, { id: 'p-new', available: 32 });
  assert.equal(calls.length, 1, 'one call: no stock listing is read');
  const [call] = calls;
  assert.equal(call?.service, 'catalog');
  assert.equal(call?.method, 'POST');
  assert.equal(call?.path, '/v1/admin/products');
  assert.equal(call?.body.category, EXERCISE_CATEGORY);
  assert.equal(call?.body.stock, 32);
  assert.match(call?.body.name ?? '', /Exercise 7 .*ex07-abc123/);
});

test('the product has what the exercise buys twice over, at least 10 units', () => {
  assert.equal(ownStock(0), 10);
  assert.equal(ownStock(2), 10);
  assert.equal(ownStock(9), 18);
  assert.throws(() => ownStock(-1), RangeError);
  assert.throws(() => ownStock(1.5), RangeError);
});

test('a catalog that made the product with other stock than asked fails the exercise', async () => {
  const { ctx } = context(() => ({ id: 'p-odd', available: 3 }));
  await assert.rejects(productInStock(ctx, 4), /p-odd with 3 units, not 10/);
});

test('a shed checkout is sent again after its Retry-After, a 504 after a second; other refusals are final', () => {
  const problem = (status: number, code: string, extra: Record<string, unknown> = {}) =>
    new ApiError('POST', '/api/v1/checkout', status, { type: 't', title: 't', status, code, ...extra });
  assert.equal(retryAfterMs(problem(503, 'SHOP_BULKHEAD_FULL', { retryAfterSeconds: 3 })), 3_000);
  assert.equal(retryAfterMs(problem(503, 'SHOP_BULKHEAD_FULL')), 1_000);
  assert.equal(retryAfterMs(problem(504, 'SHOP_TIMEOUT')), 1_000);
  assert.equal(retryAfterMs(problem(503, 'SHOP_CIRCUIT_OPEN')), undefined);
  assert.equal(retryAfterMs(problem(409, 'SHOP_CART_EMPTY')), undefined);
  assert.equal(retryAfterMs(new Error('boom')), undefined);
});
