// Runs one exercise: context → run → cleanup stack (always, last-in first-out) → audit.
// The verdict is PASS only when every check, every cleanup and the audit pass.
import { type AuditReport, collectAuditData, formatReport, runAudit } from '@shoplab/audit';
import { auditUntilSettled } from '../audit-wait';
import { messageOf } from '../error-text';
import {
  type Check,
  type CheckoutMode,
  check,
  type Exercise,
  type ExerciseContext,
  type ExerciseInfo,
  type ShopTarget,
} from './types';

/** The order service's checkout switch (`GET`/`PUT /v1/admin/checkout-mode` on its admin listener). */
export interface CheckoutSwitch {
  get: () => Promise<string>;
  set: (mode: string) => Promise<void>;
}

/** The switch of the shop at `target`. */
export function checkoutSwitch(target: ShopTarget): CheckoutSwitch {
  return {
    get: async () => (await target.admin.request<{ mode: string }>('order', 'GET', '/v1/admin/checkout-mode')).mode,
    set: async (mode) => {
      await target.admin.request('order', 'PUT', '/v1/admin/checkout-mode', { body: { mode } });
    },
  };
}

export interface RunOptions {
  target: ShopTarget;
  out: (text: string) => void;
  /** Ctrl-C: the run stops waiting for the exercise, unwinds the cleanup stack and skips the audit. */
  signal: AbortSignal;
  /** The audit after the cleanups (default `auditWhenSettled`); `null` skips it. */
  audit?: ((target: ShopTarget, signal: AbortSignal) => Promise<AuditReport>) | null;
  /** Per undo (default 90 s): a hung cleanup is reported and the next one runs. */
  cleanupTimeoutMs?: number;
  /**
   * The checkout mode to run in: the runner puts the order service's switch there before the
   * exercise, again whenever the exercise starts order anew, and back to what it was after
   * (a cleanup: also after a failure or Ctrl-C). Absent: the switch is left alone and the
   * exercise runs as `orchestrated`, its default.
   */
  checkoutMode?: CheckoutMode;
  /** The switch (default: the order service's, checkoutSwitch(target)). */
  checkoutSwitch?: CheckoutSwitch;
  /** For tests (default `Date.now`). */
  now?: () => number;
}

export interface ExerciseResult {
  exercise: ExerciseInfo;
  ok: boolean;
  interrupted: boolean;
  /** The exercise's checks, then any failed cleanup, then the audit's verdict. */
  checks: Check[];
  audit?: AuditReport;
  durationMs: number;
}

class Interrupted extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('interrupted (Ctrl-C)');
  }
}

/** Rejects when `signal` aborts (at once if it already has). */
function abortion(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Interrupted());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/** Waits `ms`, or rejects on abort. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  const abort = abortion(signal);
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([slept, abort.promise]).finally(() => {
    clearTimeout(timer);
    abort.dispose();
  });
}

/** `p`, or a rejection after `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * The audit once the shop has settled (`shopctl audit --wait 60s`): sagas and relays finishing
 * their work after an exercise are not a failure, a violation that stays is.
 */
export async function auditWhenSettled(target: ShopTarget, signal: AbortSignal, waitMs = 60_000): Promise<AuditReport> {
  const { report } = await auditUntilSettled(
    async () =>
      runAudit(
        await collectAuditData({ adminToken: target.adminToken, baseUrl: (service) => target.adminUrl(service) }),
      ),
    { waitMs, pollMs: 2_000, sleep: (ms) => abortableSleep(ms, signal) },
  );
  return report;
}

/** `PASS  name` with its evidence indented below. */
export function formatCheck(c: Check): string {
  return [`${c.verdict.padEnd(4)}  ${c.name}`, ...c.evidence.map((e) => `        ${e}`)].join('\n');
}

export async function runExercise(exercise: Exercise, options: RunOptions): Promise<ExerciseResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const { out, signal } = options;
  const seconds = () => ((now() - started) / 1000).toFixed(1).padStart(5);
  const info: ExerciseInfo = {
    number: exercise.number,
    slug: exercise.slug,
    title: exercise.title,
    pattern: exercise.pattern,
    doc: exercise.doc,
  };
  const undos: { label: string; undo: () => Promise<unknown> | unknown }[] = [];
  const mode = options.checkoutMode;
  const modeSwitch = mode ? (options.checkoutSwitch ?? checkoutSwitch(options.target)) : undefined;
  const ctx: ExerciseContext = {
    ...options.target,
    exercise: info,
    runId: `ex${String(exercise.number).padStart(2, '0')}-${started.toString(36)}`,
    signal,
    log: (message) => out(`  [${seconds()} s] ${message}\n`),
    step: (title) => out(`▸ ${title}\n`),
    defer: (label, undo) => {
      undos.push({ label, undo });
    },
    sleep: (ms) => abortableSleep(ms, signal),
    checkoutMode: mode ?? 'orchestrated',
    orderStarted: async () => {
      // A restarted order service is at its configured mode: the run's mode again.
      if (mode && modeSwitch) await modeSwitch.set(mode);
    },
  };
  /** The switch at the run's mode, its way back registered first (so it is the last cleanup). */
  const setMode = async (): Promise<void> => {
    if (!mode || !modeSwitch) return;
    const previous = await modeSwitch.get();
    ctx.defer(`checkout mode back to ${previous}`, () => modeSwitch.set(previous));
    if (previous !== mode) await modeSwitch.set(mode);
    ctx.log(`checkout mode: ${mode}${previous === mode ? '' : ` (the switch was at ${previous})`}`);
  };

  out(`━━ Exercise ${exercise.number} · ${exercise.title}\n   pattern: ${exercise.pattern} · page: ${exercise.doc}\n`);
  const checks: Check[] = [];
  let interrupted = signal.aborted;
  if (!interrupted) {
    const abort = abortion(signal);
    try {
      const run = async () => {
        await setMode();
        return exercise.run(ctx);
      };
      checks.push(...(await Promise.race([run(), abort.promise])));
    } catch (err) {
      if (err instanceof Interrupted || signal.aborted) interrupted = true;
      else
        checks.push(
          check('the exercise ran to the end', false, `stopped with an error: ${messageOf(err, { cause: false })}`),
        );
    } finally {
      abort.dispose();
    }
  }
  for (const c of checks) out(`${formatCheck(c)}\n`);

  if (undos.length > 0) out(interrupted ? 'interrupted: cleaning up…\n' : 'cleaning up:\n');
  const cleanupTimeoutMs = options.cleanupTimeoutMs ?? 90_000;
  for (const { label, undo } of undos.reverse()) {
    try {
      await withDeadline(Promise.resolve().then(undo), cleanupTimeoutMs, label);
      out(`  ✓ ${label}\n`);
    } catch (err) {
      out(`  ✗ ${label}: ${messageOf(err, { cause: false })}\n`);
      checks.push(check(`clean up: ${label}`, false, messageOf(err, { cause: false })));
    }
  }

  let audit: AuditReport | undefined;
  if (!interrupted && options.audit !== null) {
    out('audit (the invariants of docs/architecture.md):\n');
    try {
      audit = await (options.audit ?? auditWhenSettled)(options.target, signal);
      out(formatReport(audit));
      const failed = audit.results.filter((r) => r.verdict === 'FAIL').map((r) => `${r.invariant}. ${r.name}`);
      checks.push(
        check(
          'the audit: every invariant holds afterwards',
          audit.ok,
          failed.length === 0 ? 'every checked invariant PASSes' : `FAIL: ${failed.join('; ')}`,
        ),
      );
    } catch (err) {
      if (signal.aborted) interrupted = true;
      else
        checks.push(
          check(
            'the audit: every invariant holds afterwards',
            false,
            `could not run: ${messageOf(err, { cause: false })}`,
          ),
        );
    }
  }

  const ok = !interrupted && checks.length > 0 && checks.every((c) => c.verdict === 'PASS');
  const durationMs = now() - started;
  const failed = checks.filter((c) => c.verdict === 'FAIL').length;
  out(
    `Exercise ${exercise.number}: ${interrupted ? 'INTERRUPTED' : ok ? 'PASS' : 'FAIL'} ` +
      `(${checks.length} checks, ${failed} failed, ${(durationMs / 1000).toFixed(1)} s)\n\n`,
  );
  return { exercise: info, ok, interrupted, checks, ...(audit ? { audit } : {}), durationMs };
}
