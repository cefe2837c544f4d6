import assert from 'node:assert/strict';
import { type EventEmitter, once } from 'node:events';
import { describe, test } from 'node:test';
import { ERROR_CODES, type ErrorCode, ShopError } from '../../src/errors';
import { createMetrics, type ServiceMetrics } from '../../src/metrics';
import {
  type Breaker,
  BreakerRegistry,
  Bulkhead,
  backoffDelay,
  createBreaker,
  isClientMistake,
  isTransient,
  retry,
  withTimeout,
} from '../../src/resilience';

const caller = 'order';
const target = 'catalog';

async function gaugeValue(metrics: ServiceMetrics): Promise<number | undefined> {
  const { values } = await metrics.breakerState.get();
  return values.find((v) => v.labels.caller === caller && v.labels.target === target)?.value;
}

async function eventCount(metrics: ServiceMetrics, event: string): Promise<number> {
  const { values } = await metrics.breakerEvents.get();
  return values.find((v) => v.labels.event === event)?.value ?? 0;
}

function setup(options: { resetTimeoutMs?: number; timeoutMs?: number | false } = {}) {
  const metrics = createMetrics('test');
  const registry = new BreakerRegistry();
  let behaviour: () => Promise<string> = async () => 'ok';
  let calls = 0;
  const breaker = createBreaker(
    async () => {
      calls++;
      return behaviour();
    },
    {
      caller,
      target,
      timeoutMs: options.timeoutMs ?? false,
      errorThresholdPercentage: 50,
      volumeThreshold: 4,
      resetTimeoutMs: options.resetTimeoutMs ?? 100,
    },
    { metrics, registry },
  );
  return {
    metrics,
    registry,
    breaker,
    calls: () => calls,
    behave(fn: () => Promise<string>) {
      behaviour = fn;
    },
  };
}

/**
 * Waits for an event. opossum's reset timer is unref'd (it never keeps a process alive), so a
 * ref'd guard timer keeps this test process running meanwhile and bounds the wait.
 */
async function nextEvent(emitter: EventEmitter, name: string, limitMs = 2_000): Promise<void> {
  let guard: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(`no ${name} event within ${limitMs} ms`)), limitMs);
  });
  try {
    await Promise.race([once(emitter, name), limit]);
  } finally {
    clearTimeout(guard);
  }
}

async function failTimes(breaker: Breaker<[], string>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(breaker.fire());
}

describe('circuit breaker', () => {
  test('opens at its threshold and then rejects without calling the target', async (t) => {
    const s = setup();
    t.after(() => s.registry.close());
    s.behave(async () => {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE');
    });
    await failTimes(s.breaker, 3);
    assert.equal(s.breaker.state, 'closed', 'below the volume threshold it stays closed');
    await failTimes(s.breaker, 1);
    assert.equal(s.breaker.state, 'open');
    assert.equal(await gaugeValue(s.metrics), 2);

    const callsBefore = s.calls();
    await assert.rejects(s.breaker.fire(), (err: unknown) => {
      assert.ok(err instanceof ShopError);
      assert.equal(err.code, 'SHOP_CIRCUIT_OPEN');
      assert.deepEqual(err.details, { caller, target });
      return true;
    });
    assert.equal(s.calls(), callsBefore, 'an open breaker does not call the target');
    assert.equal(await eventCount(s.metrics, 'reject'), 1);
    assert.equal(await eventCount(s.metrics, 'open'), 1);
  });

  test('half-opens after its reset time and closes on a successful trial call', async (t) => {
    const s = setup({ resetTimeoutMs: 80 });
    t.after(() => s.registry.close());
    s.behave(async () => {
      throw new Error('boom');
    });
    await failTimes(s.breaker, 4);
    assert.equal(s.breaker.state, 'open');

    await nextEvent(s.breaker.circuit, 'halfOpen');
    assert.equal(s.breaker.state, 'half-open');
    assert.equal(await gaugeValue(s.metrics), 1);

    s.behave(async () => 'recovered');
    assert.equal(await s.breaker.fire(), 'recovered');
    assert.equal(s.breaker.state, 'closed');
    assert.equal(await gaugeValue(s.metrics), 0);
    assert.equal(await eventCount(s.metrics, 'half_open'), 1);
    assert.equal(await eventCount(s.metrics, 'close'), 1);
  });

  test('a failing trial call in half-open opens it again', async (t) => {
    const s = setup({ resetTimeoutMs: 50 });
    t.after(() => s.registry.close());
    s.behave(async () => {
      throw new Error('still down');
    });
    await failTimes(s.breaker, 4);
    await nextEvent(s.breaker.circuit, 'halfOpen');
    await assert.rejects(s.breaker.fire(), /still down/);
    assert.equal(s.breaker.state, 'open');
    assert.equal(await gaugeValue(s.metrics), 2);
  });

  test('client mistakes pass through without opening it', async (t) => {
    const s = setup();
    t.after(() => s.registry.close());
    for (const code of ['SHOP_NOT_FOUND', 'SHOP_VALIDATION_FAILED', 'SHOP_OUT_OF_STOCK', 'SHOP_FORBIDDEN'] as const) {
      s.behave(async () => {
        throw new ShopError(code);
      });
      await failTimes(s.breaker, 3);
    }
    assert.equal(s.breaker.state, 'closed');
    const [row] = s.registry.list();
    assert.equal(row?.stats.failures, 0);
    assert.equal(row?.stats.fires, 12);
  });

  test('a slow call times out as SHOP_TIMEOUT', async (t) => {
    const s = setup({ timeoutMs: 30 });
    t.after(() => s.registry.close());
    s.behave(() => new Promise(() => {}));
    await assert.rejects(s.breaker.fire(), (err: unknown) => err instanceof ShopError && err.code === 'SHOP_TIMEOUT');
    assert.equal(await eventCount(s.metrics, 'timeout'), 1);
  });

  test('the registry lists each breaker with its state and stats', async (t) => {
    const s = setup();
    t.after(() => s.registry.close());
    await s.breaker.fire();
    s.behave(async () => {
      throw new Error('x');
    });
    await failTimes(s.breaker, 3);
    assert.deepEqual(s.registry.list(), [
      {
        caller,
        target,
        state: 'open',
        enabled: true,
        stats: { fires: 4, failures: 3, rejects: 0, timeouts: 0, successes: 1 },
      },
    ]);
  });

  test('switching breakers off turns an open breaker into a pass-through', async (t) => {
    const s = setup({ resetTimeoutMs: 10_000 });
    t.after(() => s.registry.close());
    s.behave(async () => {
      throw new Error('down');
    });
    await failTimes(s.breaker, 4);
    assert.equal(s.breaker.state, 'open');

    s.registry.setEnabled(false);
    s.behave(async () => 'through');
    assert.equal(await s.breaker.fire(), 'through');
    assert.equal(s.registry.list()[0]?.enabled, false);

    s.registry.setEnabled(true);
    await assert.rejects(s.breaker.fire(), (err: unknown) => (err as ShopError).code === 'SHOP_CIRCUIT_OPEN');
  });

  test('a second breaker for the same caller and target is refused', (t) => {
    const s = setup();
    t.after(() => s.registry.close());
    assert.throws(
      () =>
        createBreaker(
          async () => 1,
          { caller, target, timeoutMs: false, errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 10 },
          { metrics: s.metrics, registry: s.registry },
        ),
      /already exists/,
    );
  });
});

describe('error classification', () => {
  test('client mistakes are recognised on ShopErrors and on gRPC service errors', () => {
    assert.equal(isClientMistake(new ShopError('SHOP_NOT_FOUND')), true);
    assert.equal(isClientMistake(new ShopError('SHOP_INTERNAL')), false);
    assert.equal(isClientMistake({ code: 3, details: 'bad', metadata: {} }), true);
    assert.equal(isClientMistake(new Error('plain')), false);
  });

  test('every 4xx code of the table is a client mistake and never transient; 5xx codes never are mistakes', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const err = new ShopError(code as ErrorCode);
      assert.equal(isClientMistake(err), spec.http < 500, `${code} (${spec.http}) client mistake`);
      if (spec.http < 500) assert.equal(isTransient(err), false, `${code} (${spec.http}) must not be retried`);
    }
    // A downstream's 409 conflict or 429 rate limit is its answer to this request: the caller decides.
    assert.equal(isTransient(new ShopError('SHOP_CONFLICT')), false);
    assert.equal(isTransient(new ShopError('SHOP_RATE_LIMITED')), false);
  });

  test('bare gRPC statuses: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, … are mistakes', () => {
    const mistakes = [3, 5, 6, 7, 9, 11, 16];
    for (const code of mistakes) {
      assert.equal(isClientMistake({ code, details: '', metadata: {} }), true, `status ${code}`);
      assert.equal(isTransient({ code, details: '', metadata: {} }), false, `status ${code}`);
    }
    for (const code of [2, 4, 13, 14]) assert.equal(isClientMistake({ code, details: '', metadata: {} }), false);
  });

  test('transient errors are server-side: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED', () => {
    assert.equal(isTransient(new ShopError('SHOP_DEPENDENCY_UNAVAILABLE')), true);
    assert.equal(isTransient(new ShopError('SHOP_TIMEOUT')), true);
    assert.equal(isTransient(new ShopError('SHOP_BULKHEAD_FULL')), true);
    assert.equal(isTransient(new ShopError('SHOP_CIRCUIT_OPEN')), true);
    assert.equal(isTransient(new ShopError('SHOP_OUT_OF_STOCK')), false);
    assert.equal(isTransient(new ShopError('SHOP_INTERNAL')), false);
    for (const code of [14, 4, 8, 10]) assert.equal(isTransient({ code, metadata: {} }), true);
    assert.equal(isTransient({ code: 13, metadata: {} }), false);
    assert.equal(isTransient(new Error('plain')), false);
  });

  test('a burst of every client mistake leaves the breaker closed with no failure; then a call succeeds', async (t) => {
    const s = setup();
    t.after(() => s.registry.close());
    const clientCodes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].http < 500);
    for (const code of clientCodes) {
      s.behave(async () => {
        throw new ShopError(code);
      });
      await failTimes(s.breaker, 5);
    }
    s.behave(async () => {
      throw Object.assign(new Error('bare INVALID_ARGUMENT'), { code: 3, details: 'bad', metadata: {} });
    });
    await failTimes(s.breaker, 5);
    assert.equal(s.breaker.state, 'closed');
    assert.equal(s.registry.list()[0]?.stats.failures, 0);
    s.behave(async () => 'ok');
    assert.equal(await s.breaker.fire(), 'ok');
    // Five server failures open a breaker like it: the classification, not the threshold, kept this one closed.
    const control = setup();
    t.after(() => control.registry.close());
    control.behave(async () => {
      throw new ShopError('SHOP_INTERNAL');
    });
    await failTimes(control.breaker, 5);
    assert.equal(control.breaker.state, 'open');
  });
});

describe('withTimeout', () => {
  test('rejects with SHOP_TIMEOUT and aborts the work when it takes too long', async () => {
    let aborted: unknown;
    const work = (signal: AbortSignal) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          resolve('late');
        });
      });
    await assert.rejects(withTimeout(work, 20, 'loading the product'), (err: unknown) => {
      assert.ok(err instanceof ShopError);
      assert.equal(err.code, 'SHOP_TIMEOUT');
      assert.match(err.message, /loading the product did not finish within 20 ms/);
      return true;
    });
    assert.ok(aborted instanceof ShopError);
  });

  test('passes the result through when the work is fast enough', async () => {
    assert.equal(await withTimeout(async () => 42, 1_000, 'fast'), 42);
  });
});

describe('retry', () => {
  function recorder() {
    const delays: number[] = [];
    return { delays, sleep: async (ms: number) => void delays.push(ms) };
  }

  test('retries a transient error and returns the eventual success', async () => {
    const { delays, sleep } = recorder();
    let attempts = 0;
    const result = await retry(
      async () => {
        attempts++;
        if (attempts < 3) throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE');
        return 'done';
      },
      { retries: 5, baseDelayMs: 10, sleep, random: () => 0.5 },
    );
    assert.equal(result, 'done');
    assert.equal(attempts, 3);
    assert.equal(delays.length, 2);
  });

  test('does not retry a client mistake or an unknown error', async () => {
    for (const error of [new ShopError('SHOP_OUT_OF_STOCK'), new Error('bug')]) {
      let attempts = 0;
      await assert.rejects(
        retry(
          async () => {
            attempts++;
            throw error;
          },
          { retries: 3, sleep: async () => {} },
        ),
        (err) => err === error,
      );
      assert.equal(attempts, 1);
    }
  });

  test('respects the retry count and throws the last error', async () => {
    let attempts = 0;
    await assert.rejects(
      retry(
        async () => {
          attempts++;
          throw Object.assign(new Error(`unavailable ${attempts}`), { code: 14, metadata: {} });
        },
        { retries: 3, sleep: async () => {} },
      ),
      /unavailable 4/,
    );
    assert.equal(attempts, 4);
  });

  test('backoff caps grow exponentially up to the maximum, with full jitter below them', async () => {
    const { delays, sleep } = recorder();
    await assert.rejects(
      retry(
        async () => {
          throw new ShopError('SHOP_TIMEOUT');
        },
        { retries: 6, baseDelayMs: 10, maxDelayMs: 200, sleep, random: () => 0.999999 },
      ),
    );
    assert.deepEqual(delays, [9, 19, 39, 79, 159, 199]);
    assert.equal(
      backoffDelay(3, 10, 200, () => 0),
      0,
      'full jitter may not wait at all',
    );
    assert.equal(
      backoffDelay(3, 10, 200, () => 0.5),
      20,
    );
  });

  test('a custom shouldRetry decides which errors are retried', async () => {
    let attempts = 0;
    await assert.rejects(
      retry(
        async () => {
          attempts++;
          throw new Error('flaky');
        },
        { retries: 2, shouldRetry: (err) => (err as Error).message === 'flaky', sleep: async () => {} },
      ),
    );
    assert.equal(attempts, 3);
  });
});

describe('bulkhead', () => {
  function deferred() {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  }

  test('runs up to its limit, queues the next ones and refuses beyond the queue', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 1, name: 'catalog' });
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      bulkhead.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await Promise.resolve();
    assert.deepEqual(started, [0, 1]);
    assert.equal(bulkhead.active, 2);
    assert.equal(bulkhead.queued, 1);

    await assert.rejects(
      bulkhead.run(async () => 99),
      (err: unknown) => {
        assert.ok(err instanceof ShopError);
        assert.equal(err.code, 'SHOP_BULKHEAD_FULL');
        return true;
      },
    );

    gates[0]!.resolve();
    assert.equal(await runs[0], 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2], 'the queued call starts when a slot frees');
    assert.equal(bulkhead.active, 2);
    assert.equal(bulkhead.queued, 0);

    gates[1]!.resolve();
    gates[2]!.resolve();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
    assert.equal(bulkhead.active, 0);
  });

  test('a failing call frees its slot', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 });
    await assert.rejects(
      bulkhead.run(async () => {
        throw new Error('x');
      }),
    );
    assert.equal(bulkhead.active, 0);
    assert.equal(await bulkhead.run(async () => 'next'), 'next');
  });
});
