// `shopctl audit --wait`: right after a fault or a load run, some invariants fail only because
// the shop has not caught up yet — sagas still PENDING (1), outbox rows not yet relayed or
// consumers behind (6). This retries the audit while those fail, until they hold or time is up.
import { type AuditReport, CollectError } from '@shoplab/audit';

/** Invariants that settle by themselves once the shop is quiet: 1 (orders settled) and 6 (messaging). */
export const SETTLING_INVARIANTS: readonly number[] = [1, 6];

/** True when a FAIL in the report may still go away by waiting. */
export function isSettling(report: AuditReport): boolean {
  return report.results.some((r) => r.verdict === 'FAIL' && SETTLING_INVARIANTS.includes(r.invariant));
}

export interface AuditWaitOptions {
  /** How long to keep retrying. */
  waitMs: number;
  /** Pause between attempts (default 1 s). */
  pollMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each retry with why it retries. */
  onRetry?: (reason: string, attempt: number) => void;
}

/**
 * Runs `audit` until it passes, fails for a reason waiting cannot fix (an invariant other than
 * SETTLING_INVARIANTS and none of those), or `waitMs` has passed; resolves the last report.
 * A CollectError (a service restarting) is retried too, and rethrown when time is up.
 */
export async function auditUntilSettled(
  audit: () => Promise<AuditReport>,
  options: AuditWaitOptions,
): Promise<{ report: AuditReport; attempts: number }> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + options.waitMs;
  for (let attempt = 1; ; attempt++) {
    let reason: string;
    try {
      const report = await audit();
      if (report.ok || !isSettling(report) || now() >= deadline) return { report, attempts: attempt };
      const failing = report.results.filter((r) => r.verdict === 'FAIL').map((r) => r.invariant);
      reason = `invariant(s) ${failing.join(', ')} FAIL`;
    } catch (err) {
      if (!(err instanceof CollectError) || now() >= deadline) throw err;
      reason = `could not collect: ${err.message}`;
    }
    options.onRetry?.(reason, attempt);
    await sleep(Math.max(0, Math.min(options.pollMs ?? 1000, deadline - now())));
  }
}
