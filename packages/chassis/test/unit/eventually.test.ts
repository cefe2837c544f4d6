import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, until } from '../../src/testing';

test('eventually returns the first answer that is not undefined, probing again until then', async () => {
  let probes = 0;
  const value = await eventually('the third probe', () => (++probes === 3 ? 'ready' : undefined), { intervalMs: 1 });
  assert.equal(value, 'ready');
  assert.equal(probes, 3);
});

test('a falsy answer other than undefined is an answer', async () => {
  assert.equal(await eventually('zero', async () => 0), 0);
  assert.equal(await eventually('false', () => false), false);
});

test('a probe that throws is retried, and the timeout names what was awaited and the last error', async () => {
  let probes = 0;
  await assert.rejects(
    eventually(
      'the thing',
      () => {
        probes++;
        throw new Error(`not yet (${probes})`);
      },
      { timeoutMs: 30, intervalMs: 5 },
    ),
    (err: Error) => {
      assert.match(err.message, /^timed out after 30 ms waiting for the thing; last error: Error: not yet \(\d+\)$/);
      return true;
    },
  );
  assert.ok(probes >= 2, `probed ${probes} time(s)`);
});

test("onError: 'fail' fails the wait at the probe's first error", async () => {
  let probes = 0;
  const boom = new Error('boom');
  await assert.rejects(
    eventually(
      'the thing',
      () => {
        probes++;
        throw boom;
      },
      { onError: 'fail' },
    ),
    (err) => err === boom,
  );
  assert.equal(probes, 1);
});

test('a wait that never gets an answer fails after probing at least once past its deadline', async () => {
  let probes = 0;
  await assert.rejects(
    eventually(
      'nothing',
      () => {
        probes++;
        return undefined;
      },
      { timeoutMs: 0, intervalMs: 1 },
    ),
    /^Error: timed out after 0 ms waiting for nothing$/,
  );
  assert.ok(probes >= 1);
});

test('until waits for a condition to hold', async () => {
  let checks = 0;
  await until('the fourth check', async () => ++checks === 4, { intervalMs: 1 });
  assert.equal(checks, 4);
  await assert.rejects(
    until('never', () => false, { timeoutMs: 10, intervalMs: 1 }),
    /waiting for never$/,
  );
});

test('a `what` given as a function tells what the probes last saw when the wait times out', async () => {
  let seen = 0;
  await assert.rejects(
    eventually(
      () => `the count to reach 100 (still ${seen})`,
      () => (++seen >= 100 ? seen : undefined),
      {
        timeoutMs: 5,
        intervalMs: 10,
      },
    ),
    /waiting for the count to reach 100 \(still [12]\)$/,
  );
});
