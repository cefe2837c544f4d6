import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { CHECKOUT_SAGA, compensationPlan } from '../../src/application/checkout-saga';
import {
  classifyFailure,
  deadlineReason,
  describeFailure,
  idempotencyKey,
  refusalReason,
  retryDelayMs,
  SAGA_STEPS,
  SagaRefusal,
} from '../../src/domain/saga';

const step = (name: string) => CHECKOUT_SAGA.find((s) => s.name === name)!;

test('the saga’s steps are the six of docs/reference.md#saga, in order', () => {
  assert.deepEqual(
    CHECKOUT_SAGA.map((s) => s.name),
    [...SAGA_STEPS],
  );
});

test('a refused step undoes the earlier steps, as the architecture’s table says', () => {
  assert.deepEqual(compensationPlan(step('validate_user'), true), []);
  assert.deepEqual(compensationPlan(step('reserve_stock'), true), []);
  assert.deepEqual(compensationPlan(step('authorize_payment'), true), ['release_stock']);
  assert.deepEqual(compensationPlan(step('commit_stock'), true), ['void_payment', 'release_stock']);
  assert.deepEqual(compensationPlan(step('capture_payment'), true), ['restock_committed', 'void_payment']);
});

test('a step that gave up without knowing whether it acted is undone itself first', () => {
  assert.deepEqual(compensationPlan(step('reserve_stock'), false), ['release_stock']);
  assert.deepEqual(compensationPlan(step('authorize_payment'), false), ['void_payment', 'release_stock']);
  // Commit and capture: release and void find out themselves (restock, refund).
  assert.deepEqual(compensationPlan(step('commit_stock'), false), ['void_payment', 'release_stock']);
});

test('business refusals compensate at once; outages and unknown errors are retried', () => {
  for (const code of ['SHOP_PAYMENT_DECLINED', 'SHOP_OUT_OF_STOCK', 'SHOP_INVALID_CARD', 'SHOP_NOT_FOUND'] as const) {
    assert.equal(classifyFailure(new ShopError(code)), 'refused', code);
  }
  for (const code of [
    'SHOP_DEPENDENCY_UNAVAILABLE',
    'SHOP_TIMEOUT',
    'SHOP_CIRCUIT_OPEN',
    'SHOP_RATE_LIMITED',
    'SHOP_CONFLICT',
    'SHOP_INTERNAL',
    'SHOP_ALREADY_EXISTS',
  ] as const) {
    assert.equal(classifyFailure(new ShopError(code)), 'failed', code);
  }
  assert.equal(classifyFailure(new Error('connection reset')), 'failed');
  assert.equal(classifyFailure(new SagaRefusal('card_unavailable', 'gone')), 'refused');
});

test('cancel reasons name the refusal or the step whose deadline passed', () => {
  assert.equal(refusalReason('authorize_payment', new ShopError('SHOP_PAYMENT_DECLINED')), 'payment_declined');
  assert.equal(refusalReason('authorize_payment', new ShopError('SHOP_INSUFFICIENT_FUNDS')), 'insufficient_funds');
  assert.equal(refusalReason('reserve_stock', new ShopError('SHOP_OUT_OF_STOCK')), 'out_of_stock');
  assert.equal(refusalReason('validate_user', new SagaRefusal('user_invalid', 'no such user')), 'user_invalid');
  assert.equal(refusalReason('commit_stock', new ShopError('SHOP_RESERVATION_INVALID_STATE')), 'commit_stock_refused');
  assert.equal(deadlineReason('capture_payment'), 'step_deadline_exceeded:capture_payment');
  assert.deepEqual(describeFailure(new ShopError('SHOP_TIMEOUT', 'slow')), { code: 'SHOP_TIMEOUT', message: 'slow' });
});

test('idempotency keys are derived from the order and the step', () => {
  assert.equal(idempotencyKey('o-1', 'reserve_stock'), 'o-1:reserve_stock');
  assert.equal(idempotencyKey('o-1', 'compensate:release_stock'), 'o-1:compensate:release_stock');
});

test('retry delays grow exponentially with jitter and stay under the cap', () => {
  const options = { baseMs: 100, maxMs: 1_000 };
  assert.equal(
    retryDelayMs(1, options, () => 0),
    50,
  );
  assert.equal(
    retryDelayMs(1, options, () => 1),
    100,
  );
  assert.equal(
    retryDelayMs(3, options, () => 1),
    400,
  );
  assert.equal(
    retryDelayMs(30, options, () => 1),
    1_000,
  );
  for (let attempt = 1; attempt < 20; attempt++) {
    const delay = retryDelayMs(attempt, options);
    assert.ok(delay >= 1 && delay <= 1_000, `${delay}`);
  }
});
