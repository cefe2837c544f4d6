// The saga's state machine (domain/saga-transitions.ts), without a database: where a saga stands
// after each kind of attempt end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { CHECKOUT_SAGA } from '../../src/application/checkout-saga';
import { SagaRefusal } from '../../src/domain/saga';
import {
  afterFailure,
  afterSuccess,
  breakerTarget,
  type FailedAttempt,
  nextAction,
  type SagaPosition,
  timelineName,
} from '../../src/domain/saga-transitions';

const T0 = Date.parse('2026-01-01T10:00:00Z');
/** A time `s` seconds after T0. */
const t = (s: number) => new Date(T0 + s * 1000);
const LEASE = t(100);
const draws = { backoff: { baseMs: 1_000, maxMs: 8_000 }, random: () => 1 };

function position(over: Partial<SagaPosition> = {}): SagaPosition {
  return {
    orderId: 'o-1',
    state: 'RUNNING',
    currentStep: 1,
    attempts: 1,
    deadlineAt: t(15),
    compensations: [],
    ...over,
  };
}

function failure(err: unknown, over: Partial<FailedAttempt> = {}): FailedAttempt {
  return {
    err,
    startedAt: t(1),
    finishedAt: t(2),
    leaseUntil: LEASE,
    callDeadlineMs: 1_500,
    breakerResetMs: 10_000,
    ...over,
  };
}

const stepAt = (n: number) => nextAction(position({ currentStep: n }), CHECKOUT_SAGA);
const unavailable = () => new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'down');

test('the next action is the current step, then the compensations in order, then the cancel', () => {
  const reserve = stepAt(2);
  assert.equal(reserve.kind === 'step' && reserve.step.name, 'reserve_stock');
  const compensating = position({ state: 'COMPENSATING', compensations: ['void_payment', 'release_stock'] });
  const first = nextAction(compensating, CHECKOUT_SAGA);
  assert.deepEqual(first, { kind: 'compensation', name: 'void_payment' });
  assert.equal(timelineName(first), 'compensate:void_payment');
  const last = nextAction({ ...compensating, compensations: [] }, CHECKOUT_SAGA);
  assert.deepEqual(last, { kind: 'cancel' });
  assert.equal(timelineName(last), 'cancel');
  assert.throws(() => stepAt(7), /saga of order o-1 is at step 7, which does not exist/);
});

test('a step that succeeds moves to the next one at once, its attempts counted afresh', () => {
  const next = afterSuccess(position({ currentStep: 2, attempts: 3 }), stepAt(2), t(2), LEASE);
  assert.equal(next.outcome, 'SUCCEEDED');
  assert.equal(next.continueNow, true);
  assert.equal(next.end, undefined);
  assert.deepEqual(next.progress, {
    state: 'RUNNING',
    currentStep: 3,
    attempts: 0,
    nextAttemptAt: LEASE,
    deadlineAt: t(15),
    compensations: [],
  });
});

test('confirm ends the saga CONFIRMED; the cancel ends it CANCELLED with the failure’s reason', () => {
  const confirmed = afterSuccess(position({ currentStep: 6 }), stepAt(6), t(2), LEASE);
  assert.deepEqual(confirmed.end, { status: 'CONFIRMED' });
  assert.equal(confirmed.progress.state, 'CONFIRMED');
  assert.deepEqual(confirmed.progress.nextAttemptAt, t(2));
  assert.equal(confirmed.continueNow, false);

  const saga = position({ state: 'COMPENSATING', failureReason: 'out_of_stock' });
  const cancelled = afterSuccess(saga, { kind: 'cancel' }, t(2), LEASE);
  assert.deepEqual(cancelled.end, { status: 'CANCELLED', cancelReason: 'out_of_stock' });
  assert.equal(cancelled.progress.state, 'CANCELLED');
  assert.equal(cancelled.progress.failureReason, 'out_of_stock');
  const { failureReason: _, ...unexplainedSaga } = saga;
  const unexplained = afterSuccess(unexplainedSaga, { kind: 'cancel' }, t(2), LEASE);
  assert.deepEqual(unexplained.end, { status: 'CANCELLED', cancelReason: 'cancelled' });
});

test('a compensation that succeeds leaves the next one due at once', () => {
  const saga = position({ state: 'COMPENSATING', compensations: ['void_payment', 'release_stock'] });
  const next = afterSuccess(saga, { kind: 'compensation', name: 'void_payment' }, t(2), LEASE);
  assert.deepEqual(next.progress.compensations, ['release_stock']);
  assert.equal(next.progress.state, 'COMPENSATING');
  assert.equal(next.progress.attempts, 0);
  assert.equal(next.continueNow, true);
});

test('a refused step compensates at once, with the refusal’s reason and the step’s plan', () => {
  const next = afterFailure(
    position({ currentStep: 4 }),
    stepAt(4),
    failure(new ShopError('SHOP_OUT_OF_STOCK', 'gone')),
    draws,
  );
  assert.equal(next.outcome, 'REFUSED');
  assert.equal(next.continueNow, true);
  assert.equal(next.gaveUp, undefined);
  assert.deepEqual(next.progress, {
    state: 'COMPENSATING',
    currentStep: 4,
    attempts: 0,
    nextAttemptAt: LEASE,
    deadlineAt: t(15),
    compensations: ['void_payment', 'release_stock'],
    failureReason: 'out_of_stock',
  });
});

test('a step that fails before its deadline is retried after its backoff', () => {
  const next = afterFailure(position({ currentStep: 2, attempts: 2 }), stepAt(2), failure(unavailable()), draws);
  assert.equal(next.outcome, 'FAILED');
  assert.equal(next.continueNow, false);
  assert.equal(next.progress.state, 'RUNNING');
  assert.equal(next.progress.currentStep, 2);
  assert.deepEqual(next.progress.nextAttemptAt, t(4)); // backoff of attempt 2: 2 s
});

test('a step whose attempt after the deadline failed gives up and undoes itself first (its outcome is unknown)', () => {
  const next = afterFailure(
    position({ currentStep: 3 }),
    stepAt(3),
    failure(unavailable(), { startedAt: t(15), finishedAt: t(16) }),
    draws,
  );
  assert.equal(next.gaveUp, true);
  assert.equal(next.continueNow, true);
  assert.equal(next.progress.state, 'COMPENSATING');
  assert.deepEqual(next.progress.compensations, ['void_payment', 'release_stock']);
  assert.equal(next.progress.failureReason, 'step_deadline_exceeded:authorize_payment');
});

test('an attempt the runner’s open breaker refused waits for the trial call (ADR 14)', () => {
  let views = 0;
  const refused = new ShopError('SHOP_CIRCUIT_OPEN', 'open', { target: 'payment' });
  const next = afterFailure(
    position({ currentStep: 3 }),
    stepAt(3),
    failure(refused, {
      startedAt: t(16),
      finishedAt: t(16),
      breaker: () => {
        views++;
        return { state: 'open', openedAt: t(10), halfOpensAt: t(20) };
      },
    }),
    draws,
  );
  assert.equal(views, 1);
  assert.equal(next.outcome, 'FAILED');
  assert.equal(next.gaveUp, undefined);
  // The trial call at 20 s, plus the jitter of attempt 1 (1 s with random() = 1).
  assert.deepEqual(next.progress.nextAttemptAt, t(21));
});

test('a step retried forever and a failing compensation back off and never give up', () => {
  const confirm = afterFailure(
    position({ currentStep: 6, attempts: 1 }),
    stepAt(6),
    failure(new Error('database down'), { startedAt: t(60), finishedAt: t(61) }),
    draws,
  );
  assert.equal(confirm.progress.state, 'RUNNING');
  assert.deepEqual(confirm.progress.nextAttemptAt, t(62));

  const saga = position({ state: 'COMPENSATING', attempts: 3, compensations: ['release_stock'] });
  const release = afterFailure(
    saga,
    { kind: 'compensation', name: 'release_stock' },
    failure(new SagaRefusal('x', 'refused'), { finishedAt: t(100) }),
    draws,
  );
  assert.equal(release.outcome, 'REFUSED');
  assert.equal(release.continueNow, false);
  assert.deepEqual(release.progress.compensations, ['release_stock']);
  assert.deepEqual(release.progress.nextAttemptAt, t(104)); // backoff of attempt 3: 4 s
});

test('the breaker that refused a call is named by its SHOP_CIRCUIT_OPEN error', () => {
  assert.equal(breakerTarget(new ShopError('SHOP_CIRCUIT_OPEN', 'open', { target: 'catalog' })), 'catalog');
  assert.equal(breakerTarget(new ShopError('SHOP_CIRCUIT_OPEN', 'open')), 'unknown');
  assert.equal(breakerTarget(new ShopError('SHOP_TIMEOUT', 'slow')), undefined);
  assert.equal(breakerTarget(new Error('boom')), undefined);
});
