import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditReport, CollectError, type Verdict } from '@shoplab/audit';
import { auditUntilSettled, isSettling } from '../../src/audit-wait';

function report(failing: number[]): AuditReport {
  const results = [1, 2, 3, 4, 5, 6, 7].map((invariant) => ({
    invariant,
    name: `invariant ${invariant}`,
    verdict: (failing.includes(invariant) ? 'FAIL' : 'PASS') as Verdict,
    counts: {},
    details: [],
  }));
  return { ok: failing.length === 0, checkedAt: new Date(0).toISOString(), results };
}

/** A fake clock: sleeping moves time on. */
function clock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
  };
}

test('pending orders and messaging backlog settle; other failures do not', () => {
  assert.equal(isSettling(report([1])), true);
  assert.equal(isSettling(report([6])), true);
  assert.equal(isSettling(report([2, 6])), true);
  assert.equal(isSettling(report([2])), false);
  assert.equal(isSettling(report([])), false);
});

test('retries while invariant 1 or 6 fails and returns the first passing report', async () => {
  const answers = [report([1, 6]), report([6]), report([])];
  const retries: string[] = [];
  const { report: last, attempts } = await auditUntilSettled(async () => answers.shift() as AuditReport, {
    waitMs: 60_000,
    ...clock(),
    onRetry: (reason) => retries.push(reason),
  });
  assert.equal(last.ok, true);
  assert.equal(attempts, 3);
  assert.deepEqual(retries, ['invariant(s) 1, 6 FAIL', 'invariant(s) 6 FAIL']);
});

test('a failure waiting cannot fix is reported at once', async () => {
  let calls = 0;
  const { report: last } = await auditUntilSettled(
    async () => {
      calls++;
      return report([3]);
    },
    { waitMs: 60_000, ...clock() },
  );
  assert.equal(calls, 1);
  assert.equal(last.ok, false);
});

test('when time is up the last failing report is returned', async () => {
  const c = clock();
  let calls = 0;
  const { report: last } = await auditUntilSettled(
    async () => {
      calls++;
      return report([1]);
    },
    { waitMs: 5_000, pollMs: 1_000, ...c },
  );
  assert.equal(last.ok, false);
  assert.equal(calls, 6); // at 0, 1, 2, 3, 4 and 5 s
  assert.equal(c.now(), 5_000);
});

test('a service that does not answer is retried, and its error rethrown when time is up', async () => {
  const answers: (AuditReport | Error)[] = [new CollectError('order: refused'), report([])];
  const ok = await auditUntilSettled(
    async () => {
      const next = answers.shift() as AuditReport | Error;
      if (next instanceof Error) throw next;
      return next;
    },
    { waitMs: 10_000, ...clock() },
  );
  assert.equal(ok.report.ok, true);
  await assert.rejects(
    auditUntilSettled(
      async () => {
        throw new CollectError('order: refused');
      },
      { waitMs: 3_000, ...clock() },
    ),
    /order: refused/,
  );
});
