import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditReport } from '@shoplab/audit';
import { AdminApi, ShopApi } from '../../src/api';
import {
  type CheckoutSwitch,
  check,
  concerns,
  type Exercise,
  type ExerciseContext,
  exerciseCommand,
  findExercise,
  listExercises,
  type RunOptions,
  registerExercise,
  runExercise,
  type ShopTarget,
} from '../../src/exercises';
import { describeMs, quantile, sumSamples } from '../../src/exercises/support';

const target: ShopTarget = {
  gatewayUrl: 'http://127.0.0.1:1',
  serviceUrl: () => 'http://127.0.0.1:1',
  adminUrl: () => 'http://127.0.0.1:1',
  adminToken: 'unit-test-token',
  env: {},
  shop: new ShopApi({ env: {} }),
  admin: new AdminApi({ env: {}, token: 'unit-test-token' }),
};

function fake(run: (ctx: ExerciseContext) => Promise<ReturnType<typeof check>[]>): Exercise {
  return {
    number: 42,
    slug: 'fake',
    title: 'a fake exercise',
    pattern: 'testing',
    doc: 'docs/none.md',
    checkout: { modes: 'both' },
    run,
  };
}

function auditReport(ok: boolean): AuditReport {
  return {
    ok,
    checkedAt: '2026-11-28T00:00:00.000Z',
    results: [{ invariant: 1, name: 'orders settled', verdict: ok ? 'PASS' : 'FAIL', counts: {}, details: [] }],
  };
}

function options(extra: Partial<RunOptions> = {}): RunOptions & { text: () => string } {
  let printed = '';
  return {
    target,
    out: (t) => {
      printed += t;
    },
    signal: new AbortController().signal,
    audit: async () => auditReport(true),
    text: () => printed,
    ...extra,
  };
}

test('a failing check makes the exercise FAIL, and its cleanups still run, last first', async () => {
  const undone: string[] = [];
  const opts = options();
  const result = await runExercise(
    fake(async (ctx) => {
      ctx.defer('clear the fault', () => {
        undone.push('fault');
      });
      ctx.defer('restart catalog', async () => {
        undone.push('catalog');
      });
      return [check('the breaker opens', false, 'state closed after 20 calls')];
    }),
    opts,
  );
  assert.equal(result.ok, false);
  assert.deepEqual(undone, ['catalog', 'fault']);
  assert.deepEqual(
    result.checks.map((c) => [c.name, c.verdict]),
    [
      ['the breaker opens', 'FAIL'],
      ['the audit: every invariant holds afterwards', 'PASS'],
    ],
  );
  assert.match(opts.text(), /FAIL {2}the breaker opens\n {8}state closed after 20 calls/);
  assert.match(opts.text(), /Exercise 42: FAIL/);
});

test('every check passing and the audit holding is a PASS', async () => {
  const result = await runExercise(
    fake(async () => [check('orders cancel fast', true, 'p95 0.4 s')]),
    options(),
  );
  assert.equal(result.ok, true);
  assert.equal(result.interrupted, false);
});

test('an audit that finds a violation fails an exercise whose own checks passed', async () => {
  const result = await runExercise(
    fake(async () => [check('orders cancel fast', true)]),
    options({ audit: async () => auditReport(false) }),
  );
  assert.equal(result.ok, false);
  assert.match(result.checks.at(-1)?.evidence.join() ?? '', /orders settled/);
});

test('an exercise that throws is a FAIL naming the error, and the cleanups run', async () => {
  let cleaned = false;
  const result = await runExercise(
    fake(async (ctx) => {
      ctx.defer('clear the fault', () => {
        cleaned = true;
      });
      throw new Error('catalog did not start');
    }),
    options(),
  );
  assert.equal(result.ok, false);
  assert.equal(cleaned, true);
  assert.equal(result.checks[0]?.verdict, 'FAIL');
  assert.match(result.checks[0]?.evidence[0] ?? '', /catalog did not start/);
});

test('a cleanup that fails is reported as FAIL and the ones below it still run', async () => {
  let first = false;
  const result = await runExercise(
    fake(async (ctx) => {
      ctx.defer('first undo', () => {
        first = true;
      });
      ctx.defer('second undo', () => {
        throw new Error('kafka refused');
      });
      return [check('something', true)];
    }),
    options(),
  );
  assert.equal(first, true);
  assert.equal(result.ok, false);
  assert.ok(result.checks.some((c) => c.name === 'clean up: second undo' && c.verdict === 'FAIL'));
});

test('a cleanup that hangs is abandoned after its deadline', async () => {
  let after = false;
  const result = await runExercise(
    fake(async (ctx) => {
      ctx.defer('runs after the hung one', () => {
        after = true;
      });
      ctx.defer('hangs', () => new Promise(() => {}));
      return [check('something', true)];
    }),
    options({ cleanupTimeoutMs: 50 }),
  );
  assert.equal(after, true);
  assert.match(result.checks.find((c) => c.name === 'clean up: hangs')?.evidence[0] ?? '', /did not finish/);
});

test('Ctrl-C stops a stuck exercise, unwinds its cleanups and skips the audit', async () => {
  const controller = new AbortController();
  let cleaned = false;
  let audited = false;
  const pending = runExercise(
    fake(async (ctx) => {
      ctx.defer('clear the fault', () => {
        cleaned = true;
      });
      setTimeout(() => controller.abort(), 10);
      await new Promise(() => {}); // a step that never ends on its own
      return [];
    }),
    options({
      signal: controller.signal,
      audit: async () => {
        audited = true;
        return auditReport(true);
      },
    }),
  );
  const result = await pending;
  assert.equal(result.interrupted, true);
  assert.equal(result.ok, false);
  assert.equal(cleaned, true);
  assert.equal(audited, false);
});

test('ctx.sleep rejects when interrupted, so waiting loops end', async () => {
  const controller = new AbortController();
  let sleptThrough: (reason: string) => void = () => {};
  const reason = new Promise<string>((resolve) => {
    sleptThrough = resolve;
  });
  await runExercise(
    fake(async (ctx) => {
      setTimeout(() => controller.abort(), 10);
      try {
        await ctx.sleep(60_000);
        sleptThrough('slept the full minute');
      } catch (err) {
        sleptThrough((err as Error).name);
      }
      return [];
    }),
    options({ signal: controller.signal, audit: null }),
  );
  assert.equal(await reason, 'AbortError');
});

test('the registry refuses a number or a slug used twice and finds by number or slug', () => {
  const first = listExercises()[0];
  assert.ok(first, 'at least one exercise is registered');
  assert.throws(() => registerExercise({ ...first, slug: 'another-slug' }), /is both/);
  assert.throws(() => registerExercise({ ...first, number: 1000 }), /used twice/);
  assert.equal(findExercise(String(first.number)), first);
  assert.equal(findExercise(first.slug), first);
  assert.equal(findExercise('999'), undefined);
});

test('exercise run of an unknown number is a usage error (exit 2)', async () => {
  let err = '';
  const code = await exerciseCommand(['run', '999'], {
    env: { ADMIN_TOKEN: 'x' },
    out: () => {},
    err: (t) => {
      err += t;
    },
  });
  assert.equal(code, 2);
  assert.match(err, /no exercise 999/);
});

test('exercise list prints every registered exercise with its page', async () => {
  let out = '';
  const code = await exerciseCommand(['list'], {
    env: {},
    out: (t) => {
      out += t;
    },
    err: () => {},
  });
  assert.equal(code, 0);
  for (const e of listExercises()) assert.ok(out.includes(e.doc), `${e.doc} listed`);
});

test('every registered exercise has its page, and exercise show prints it', async () => {
  for (const e of listExercises()) {
    let out = '';
    const code = await exerciseCommand(['show', String(e.number)], {
      env: {},
      out: (t) => {
        out += t;
      },
      err: () => {},
    });
    assert.equal(code, 0, `${e.doc} is readable`);
    assert.match(out, new RegExp(`^# Exercise ${e.number} `), `${e.doc} starts with its title`);
    for (const part of ['## Pattern', '## Steps', '## What you should see', '## The automated check', '## Clean up']) {
      assert.ok(out.includes(part), `${e.doc} has "${part}"`);
    }
  }
});

test('sumSamples adds the samples of one metric whose labels match', () => {
  const page = [
    '# HELP shop_chaos_injections_total Faults injected',
    'shop_chaos_injections_total{kind="grpc",target="payment.v1.PaymentService/Authorize",fault="latency"} 12',
    'shop_chaos_injections_total{kind="grpc",target="payment.v1.PaymentService/GetPayment",fault="latency"} 5',
    'shop_chaos_injections_total{kind="grpc",target="payment.v1.PaymentService/Capture",fault="fail"} 7',
    'shop_chaos_injections_total_other{fault="latency"} 100',
  ].join('\n');
  assert.equal(sumSamples(page, 'shop_chaos_injections_total', { fault: 'latency' }), 17);
  assert.equal(sumSamples(page, 'shop_chaos_injections_total'), 24);
  assert.equal(sumSamples(page, 'shop_chaos_injections_total', { fault: 'hang' }), 0);
});

test('quantile picks the nearest rank, and describeMs reports it', () => {
  const values = [10, 20, 30, 40, 1000];
  assert.equal(quantile(values, 0.5), 30);
  assert.equal(quantile(values, 0.95), 1000);
  assert.ok(Number.isNaN(quantile([], 0.5)));
  assert.equal(describeMs(values), 'p50 30 ms, p95 1000 ms, max 1000 ms (n=5)');
});

/** A checkout switch in memory that records every change. */
function memorySwitch(initial: string): CheckoutSwitch & { mode: () => string; sets: string[] } {
  let mode = initial;
  const sets: string[] = [];
  return {
    get: async () => mode,
    set: async (m) => {
      sets.push(m);
      mode = m;
    },
    mode: () => mode,
    sets,
  };
}

test('--checkout-mode: the switch is at the mode during the run, again after order restarts, and back afterwards', async () => {
  const modeSwitch = memorySwitch('orchestrated');
  const seen: string[] = [];
  const opts = options({ checkoutMode: 'choreographed', checkoutSwitch: modeSwitch });
  const result = await runExercise(
    fake(async (ctx) => {
      seen.push(`${ctx.checkoutMode} ${modeSwitch.mode()}`);
      ctx.defer('start the order service', async () => {
        await modeSwitch.set('orchestrated'); // order restarted: back at its configured default
        await ctx.orderStarted();
        seen.push(`cleanup ${modeSwitch.mode()}`);
      });
      await modeSwitch.set('orchestrated'); // a restart of order in the middle of the run
      await ctx.orderStarted();
      seen.push(`restarted ${modeSwitch.mode()}`);
      return [check('something', true)];
    }),
    opts,
  );
  assert.equal(result.ok, true);
  assert.deepEqual(seen, ['choreographed choreographed', 'restarted choreographed', 'cleanup choreographed']);
  assert.equal(modeSwitch.mode(), 'orchestrated', 'back at what it was');
  assert.match(opts.text(), /checkout mode: choreographed \(the switch was at orchestrated\)/);
  assert.match(opts.text(), /✓ checkout mode back to orchestrated/);
});

test('--checkout-mode: the switch goes back after an exercise that throws, and after Ctrl-C', async () => {
  const thrown = memorySwitch('orchestrated');
  await runExercise(
    fake(async () => {
      throw new Error('payment did not start');
    }),
    options({ checkoutMode: 'choreographed', checkoutSwitch: thrown }),
  );
  assert.deepEqual(thrown.sets, ['choreographed', 'orchestrated']);

  const controller = new AbortController();
  const interrupted = memorySwitch('orchestrated');
  const result = await runExercise(
    fake(async () => {
      setTimeout(() => controller.abort(), 10);
      await new Promise(() => {});
      return [];
    }),
    options({ checkoutMode: 'choreographed', checkoutSwitch: interrupted, signal: controller.signal }),
  );
  assert.equal(result.interrupted, true);
  assert.equal(interrupted.mode(), 'orchestrated');
});

test('--checkout-mode: a switch that cannot be set fails the exercise before it runs', async () => {
  let ran = false;
  const result = await runExercise(
    fake(async () => {
      ran = true;
      return [check('something', true)];
    }),
    options({
      checkoutMode: 'choreographed',
      checkoutSwitch: {
        get: async () => 'orchestrated',
        set: async () => {
          throw new Error('order answered 503');
        },
      },
    }),
  );
  assert.equal(ran, false);
  assert.equal(result.ok, false);
  assert.match(result.checks[0]?.evidence[0] ?? '', /order answered 503/);
});

test('without --checkout-mode the switch is left alone and the exercise runs as orchestrated', async () => {
  const modeSwitch = memorySwitch('choreographed');
  let mode = '';
  await runExercise(
    fake(async (ctx) => {
      mode = ctx.checkoutMode;
      await ctx.orderStarted();
      return [check('something', true)];
    }),
    options({ checkoutSwitch: modeSwitch }),
  );
  assert.equal(mode, 'orchestrated');
  assert.deepEqual(modeSwitch.sets, []);
});

test('every exercise declares its checkout modes; only those of both concern choreographed, the others say why', () => {
  const both = listExercises().filter((e) => e.checkout.modes === 'both');
  assert.ok(both.length > 0);
  for (const e of listExercises()) {
    assert.equal(concerns(e, 'orchestrated'), true, `exercise ${e.number} runs orchestrated`);
    const why = concerns(e, 'choreographed');
    if (e.checkout.modes === 'both') assert.equal(why, true);
    else assert.ok(typeof why === 'string' && why.length > 20, `exercise ${e.number} says why not choreographed`);
  }
});

test('exercise run all --checkout-mode choreographed passes over the others, one line each with the reason', async () => {
  let out = '';
  const interrupt = new AbortController();
  interrupt.abort(); // nothing runs: the selection is what is tested
  const code = await exerciseCommand(
    ['run', 'all', '--checkout-mode', 'choreographed'],
    {
      env: { ADMIN_TOKEN: 'x' },
      out: (t) => {
        out += t;
      },
      err: () => {},
    },
    { interrupt: interrupt.signal },
  );
  assert.equal(code, 130);
  for (const e of listExercises()) {
    const line = `exercise ${e.number} passed over in choreographed mode: `;
    if (e.checkout.modes === 'both') assert.ok(!out.includes(line), `exercise ${e.number} is run`);
    else assert.ok(out.includes(`${line}${e.checkout.why}\n`), `exercise ${e.number} passed over with its reason`);
  }
});

test('exercise run N --checkout-mode: a mode the exercise does not concern, or an unknown mode, is a usage error', async () => {
  const other = listExercises().find((e) => e.checkout.modes === 'orchestrated');
  assert.ok(other);
  for (const [argv, message] of [
    [['run', String(other.number), '--checkout-mode', 'choreographed'], /does not concern the choreographed mode/],
    [['run', '2', '--checkout-mode', 'two-phase'], /--checkout-mode is orchestrated or choreographed, not 'two-phase'/],
    [['run', '2', '--checkout-mode'], /--checkout-mode needs a value/],
  ] as const) {
    let err = '';
    const code = await exerciseCommand([...argv], {
      env: { ADMIN_TOKEN: 'x' },
      out: () => {},
      err: (t) => {
        err += t;
      },
    });
    assert.equal(code, 2, argv.join(' '));
    assert.match(err, message);
  }
});
