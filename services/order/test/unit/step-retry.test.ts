// When a failed forward step is tried again or given up (domain/saga.ts afterStepFailure, ADR 14),
// and the runner's view of its breakers (infrastructure/breaker-watch.ts) on a real chassis breaker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BreakerRegistry, createBreaker, createMetrics, ShopError } from '@shoplab/chassis';
import { afterStepFailure, breakerPatienceEnds, type FailedStepAttempt, type StepRetry } from '../../src/domain/saga';
import { CircuitBreakerWatch } from '../../src/infrastructure/breaker-watch';

const T0 = Date.parse('2026-01-01T10:00:00Z');
/** A time `s` seconds after T0. */
const t = (s: number) => new Date(T0 + s * 1000);
const DEADLINE = t(15);

/** A failed attempt of a step whose deadline is T0 + 15 s; catalog-like budgets (1.5 s call, 10 s reset). */
function failure(over: Partial<FailedStepAttempt>): FailedStepAttempt {
  return {
    startedAt: t(1),
    finishedAt: t(1.1),
    deadlineAt: DEADLINE,
    callDeadlineMs: 1_500,
    breakerResetMs: 10_000,
    backoffMs: 800,
    jitterMs: 150,
    ...over,
  };
}

function retryAt(decision: StepRetry): number {
  assert.ok('retryAt' in decision, `expected a retry, got ${JSON.stringify(decision)}`);
  return (decision.retryAt.getTime() - T0) / 1000;
}

test('an attempt that reached the participant before the deadline is retried after its backoff', () => {
  assert.equal(retryAt(afterStepFailure(failure({ startedAt: t(1), finishedAt: t(1.1), backoffMs: 800 }))), 1.9);
});

test('the backoff never jumps over the deadline: the last retry is moved onto it', () => {
  assert.equal(retryAt(afterStepFailure(failure({ startedAt: t(12), finishedAt: t(12.5), backoffMs: 10_000 }))), 15);
  // An attempt started before the deadline that ended after it (a timeout) is retried at once.
  assert.equal(retryAt(afterStepFailure(failure({ startedAt: t(14.5), finishedAt: t(16), backoffMs: 400 }))), 16);
});

test('an attempt started at or after the deadline that reached the participant and failed gives up', () => {
  assert.deepEqual(afterStepFailure(failure({ startedAt: t(15), finishedAt: t(15.2) })), { giveUp: true });
  // However late (a runner took the saga over long after its deadline): that one attempt decided.
  assert.deepEqual(afterStepFailure(failure({ startedAt: t(40), finishedAt: t(41.5) })), { giveUp: true });
});

test('refused by an open breaker: tried again when the breaker lets its trial call through, even past the deadline', () => {
  const open = { state: 'open' as const, openedAt: t(1), halfOpensAt: t(11) };
  assert.equal(retryAt(afterStepFailure(failure({ breaker: open, startedAt: t(2), finishedAt: t(2) }))), 11.15);
  // The breaker opened before the deadline: its refusals after the deadline say nothing about the participant.
  const late = { state: 'open' as const, openedAt: t(14), halfOpensAt: t(24) };
  assert.equal(retryAt(afterStepFailure(failure({ breaker: late, startedAt: t(15), finishedAt: t(15) }))), 24.15);
  // A breaker whose reset is already due (its timer not fired yet): a short pause, not a spin.
  const due = { state: 'open' as const, openedAt: t(1), halfOpensAt: t(11) };
  assert.equal(retryAt(afterStepFailure(failure({ breaker: due, startedAt: t(11.2), finishedAt: t(11.2) }))), 11.35);
});

test('a breaker that reopened after the deadline (plus one call) is evidence the participant is still down', () => {
  const reopened = { state: 'open' as const, openedAt: t(16.6), halfOpensAt: t(26.6) };
  assert.deepEqual(afterStepFailure(failure({ breaker: reopened, startedAt: t(17), finishedAt: t(17) })), {
    giveUp: true,
  });
  // Reopened within one call of the deadline: that call may have started before it — not evidence.
  const edge = { state: 'open' as const, openedAt: t(16.4), halfOpensAt: t(26.4) };
  assert.equal(retryAt(afterStepFailure(failure({ breaker: edge, startedAt: t(17), finishedAt: t(17) }))), 26.55);
});

test('refused while a trial call is in flight, or by a breaker that closed since: tried again shortly', () => {
  const halfOpen = afterStepFailure(failure({ breaker: { state: 'half-open' }, startedAt: t(11), finishedAt: t(11) }));
  assert.equal(retryAt(halfOpen), 11.95, 'the backoff, when shorter than one call');
  const longBackoff = afterStepFailure(
    failure({ breaker: { state: 'half-open' }, startedAt: t(11), finishedAt: t(11), backoffMs: 10_000 }),
  );
  assert.equal(retryAt(longBackoff), 12.65, 'no longer than one call (the trial ends by then)');
  const closed = afterStepFailure(failure({ breaker: { state: 'closed' }, startedAt: t(16), finishedAt: t(16) }));
  assert.equal(retryAt(closed), 16.15);
  const unknown = afterStepFailure(failure({ breaker: { state: 'unknown' }, startedAt: t(16), finishedAt: t(16) }));
  assert.equal(retryAt(unknown), 16.8);
});

test('behind a breaker a step waits at most two breaker cycles past its deadline', () => {
  assert.equal((breakerPatienceEnds(failure({})) - T0) / 1000, 38, '15 s + 2 × (10 s reset + 1.5 s call)');
  for (const breaker of [
    { state: 'open' as const, halfOpensAt: t(45) },
    { state: 'half-open' as const },
    { state: 'closed' as const },
    { state: 'unknown' as const },
  ]) {
    assert.deepEqual(afterStepFailure(failure({ breaker, startedAt: t(38), finishedAt: t(38) })), { giveUp: true });
    assert.ok('retryAt' in afterStepFailure(failure({ breaker, startedAt: t(37.9), finishedAt: t(37.9) })));
  }
});

test('the breaker watch reports when a real breaker opened, when it half-opens, its trial and its closing', async () => {
  const registry = new BreakerRegistry();
  let now = T0;
  let healthy = false;
  let hold: Promise<void> | undefined;
  const breaker = createBreaker(
    async () => {
      await hold;
      if (!healthy) throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'down');
      return 'ok';
    },
    {
      caller: 'order',
      target: 'catalog',
      timeoutMs: false,
      errorThresholdPercentage: 50,
      volumeThreshold: 2,
      resetTimeoutMs: 50,
    },
    { metrics: createMetrics('order-watch-test'), registry },
  );
  const watch = new CircuitBreakerWatch({ catalog: breaker }, 50, () => new Date(now));
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    assert.deepEqual(watch.view('catalog'), { state: 'closed' });
    assert.deepEqual(watch.view('payment'), { state: 'unknown' });

    for (let i = 0; i < 2; i++) await breaker.fire().catch(() => undefined);
    assert.deepEqual(watch.view('catalog'), { state: 'open', openedAt: new Date(T0), halfOpensAt: new Date(T0 + 50) });
    await assert.rejects(breaker.fire(), (err: ShopError) => err.code === 'SHOP_CIRCUIT_OPEN');

    // The reset passes: one trial call goes through; while it runs, the others are refused.
    await sleep(80);
    now = T0 + 80;
    let release = () => {};
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const trial = breaker.fire().catch(() => 'failed');
    await assert.rejects(breaker.fire(), (err: ShopError) => err.code === 'SHOP_CIRCUIT_OPEN');
    assert.deepEqual(watch.view('catalog'), { state: 'half-open' });
    release();
    hold = undefined;
    assert.equal(await trial, 'failed');
    // The failed trial reopened it: a new opening time, a new half-open time.
    assert.deepEqual(watch.view('catalog'), {
      state: 'open',
      openedAt: new Date(T0 + 80),
      halfOpensAt: new Date(T0 + 130),
    });

    await sleep(80);
    healthy = true;
    assert.equal(await breaker.fire(), 'ok');
    assert.deepEqual(watch.view('catalog'), { state: 'closed' });
  } finally {
    registry.close();
  }
});
