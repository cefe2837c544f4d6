import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assessAttempt,
  counterDuringAttempt,
  DEFAULT_LOGIN_THROTTLE,
  slowdownDelayMs,
} from '../../src/domain/login-throttle';

const settings = DEFAULT_LOGIN_THROTTLE;
const now = new Date('2026-11-27T12:00:00Z');
const secondsAgo = (s: number) => new Date(now.getTime() - s * 1000);

describe('login slowdown', () => {
  test('the defaults: 3 failures before waiting, 250 ms doubling to 5 s, refused from 10 within 15 minutes', () => {
    assert.deepEqual(settings, {
      slowdownAfter: 3,
      baseDelayMs: 250,
      maxDelayMs: 5000,
      blockAfter: 10,
      windowMs: 900_000,
    });
  });

  test('the wait is min(2^(failures-3) x 250 ms, 5 s) from the third failure on', () => {
    const waits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((f) => slowdownDelayMs(f, settings));
    assert.deepEqual(waits, [0, 0, 0, 250, 500, 1000, 2000, 4000, 5000, 5000]);
    assert.equal(slowdownDelayMs(1000, settings), 5000, 'huge counts stay at the cap');
  });

  test('a fresh email proceeds at once and its attempt counts as a failure until it succeeds', () => {
    const decision = assessAttempt({ failures: 0, lastFailureAt: null }, now, settings);
    assert.deepEqual(decision, { kind: 'proceed', delayMs: 0, failuresBefore: 0 });
    assert.deepEqual(counterDuringAttempt(decision, now), { failures: 1, lastFailureAt: now });
  });

  test('recent failures slow the next attempt down', () => {
    assert.deepEqual(assessAttempt({ failures: 4, lastFailureAt: secondsAgo(10) }, now, settings), {
      kind: 'proceed',
      delayMs: 500,
      failuresBefore: 4,
    });
  });

  test('ten failures within the window refuse further attempts until 15 minutes after the last one', () => {
    const decision = assessAttempt({ failures: 10, lastFailureAt: secondsAgo(60) }, now, settings);
    assert.deepEqual(decision, { kind: 'blocked', retryAfterSeconds: 840, failuresBefore: 10 });
    assert.equal(counterDuringAttempt(decision, now), undefined, 'a refused attempt changes nothing');
  });

  test('retryAfterSeconds rounds up and is never 0', () => {
    const decision = assessAttempt({ failures: 12, lastFailureAt: new Date(now.getTime() - 899_999) }, now, settings);
    assert.deepEqual(decision, { kind: 'blocked', retryAfterSeconds: 1, failuresBefore: 12 });
  });

  test('failures older than the window are forgotten', () => {
    const decision = assessAttempt({ failures: 10, lastFailureAt: secondsAgo(900) }, now, settings);
    assert.deepEqual(decision, { kind: 'proceed', delayMs: 0, failuresBefore: 0 });
    assert.deepEqual(counterDuringAttempt(decision, now), { failures: 1, lastFailureAt: now });
  });
});
