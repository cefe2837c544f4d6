// The chassis' one backoff, sleep, error-to-text and getOrCreate: the helpers every retry loop,
// log line and component metric goes through.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { backoffDelayMs, backoffMs, sleep } from '../../src/backoff';
import { errorText } from '../../src/errors';
import { getOrCreate } from '../../src/metrics';
import { backoffDelay } from '../../src/resilience';

const top = () => 1 - Number.EPSILON;

describe('backoffMs', () => {
  test('the ceiling doubles from initialMs on each attempt up to maxMs', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => Math.round(backoffMs(n, { initialMs: 50, maxMs: 1000 }, top))),
      [50, 100, 200, 400, 800, 1000],
    );
    assert.equal(backoffMs(0, { initialMs: 50, maxMs: 1000 }, top) <= 50, true, 'attempt 0 counts as the first');
  });

  test('the draw lies between minShare of the ceiling and the ceiling', () => {
    const policy = { initialMs: 100, maxMs: 100, minShare: 0.5 };
    assert.equal(
      backoffMs(1, policy, () => 0),
      50,
    );
    assert.equal(
      backoffMs(1, policy, () => 0.5),
      75,
    );
    assert.equal(
      backoffMs(1, { initialMs: 100, maxMs: 100 }, () => 0),
      0,
      'full jitter by default',
    );
  });

  test("messaging's and retry's delays are the same formula, rounded their ways", () => {
    for (const r of [0, 0.25, 0.5, 0.999999]) {
      const random = () => r;
      assert.equal(
        backoffDelayMs(4, { initialMs: 10, maxMs: 60 }, random),
        Math.round(backoffMs(4, { initialMs: 10, maxMs: 60, minShare: 0.1 }, random)),
      );
      assert.equal(backoffDelay(4, 10, 60, random), Math.floor(backoffMs(4, { initialMs: 10, maxMs: 60 }, random)));
    }
  });
});

describe('sleep', () => {
  test('ends when the signal aborts, without rejecting', async () => {
    const abort = new AbortController();
    const waiting = sleep(600_000, abort.signal);
    abort.abort();
    assert.equal(await waiting, undefined);
  });

  test('returns at once for a signal that has already aborted', async () => {
    assert.equal(await sleep(600_000, AbortSignal.abort()), undefined);
  });

  test('waits without a signal', async () => {
    assert.equal(await sleep(1), undefined);
  });
});

describe('errorText', () => {
  test("an Error's message; anything else thrown as a string", () => {
    assert.equal(errorText(new Error('boom')), 'boom');
    assert.equal(errorText('plain'), 'plain');
    assert.equal(errorText(42), '42');
  });

  test('appends the cause only when asked', () => {
    const err = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    assert.equal(errorText(err), 'fetch failed');
    assert.equal(errorText(err, { cause: true }), 'fetch failed: connect ECONNREFUSED 127.0.0.1:1');
    assert.equal(errorText(new Error('alone'), { cause: true }), 'alone');
    assert.equal(errorText(new Error('odd', { cause: 'not an error' }), { cause: true }), 'odd');
  });
});

describe('getOrCreate', () => {
  test('creates a metric once per registry and hands the same one back', () => {
    const registry = new Registry();
    let created = 0;
    const make = () => {
      created++;
      return new Counter({ name: 'shop_test_things_total', help: 'things', registers: [registry] });
    };
    const first = getOrCreate(registry, 'shop_test_things_total', make);
    const second = getOrCreate(registry, 'shop_test_things_total', make);
    assert.equal(second, first);
    assert.equal(created, 1);
    const other = new Registry();
    assert.notEqual(
      getOrCreate(
        other,
        'shop_test_things_total',
        () => new Counter({ name: 'shop_test_things_total', help: 'x', registers: [other] }),
      ),
      first,
      'another registry gets its own',
    );
  });
});
