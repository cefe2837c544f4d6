// The two-phase checkout's rules (docs/patterns/two-phase-commit.md, ADR 37): what the decision
// log holds and what the coordinator does with a row of it — after a crash, on a retry, or when a
// participant asks. Plain TypeScript: no I/O.
//
// Presumed abort: until COMMIT is in the log, the answer for a transaction is ABORT. The decision
// is written once (the first one wins), so a participant told ABORT can never meet a COMMIT later.

export type TwoPhaseDecision = 'COMMIT' | 'ABORT';

/** One row of the decision log (two_phase_transactions). */
export interface TwoPhaseRecord {
  orderId: string;
  /** The participants asked to prepare, each under `shop2pc:<orderId>:<participant>`. */
  participants: string[];
  decision?: TwoPhaseDecision;
  /** Why it was aborted (the order's cancel reason). */
  reason?: string;
  /** The authorization prepared at payment (COMMIT only). */
  paymentId?: string;
  startedAt: Date;
  decidedAt?: Date;
  finishedAt?: Date;
}

/**
 * What the coordinator does with a row it finds (on a restart, or when the checkout's step runs
 * again): nothing once finished; re-send COMMIT where COMMIT was decided; anything else was
 * undecided or aborted and is rolled back — an undecided row is decided ABORT first.
 */
export function recoveryAction(record: TwoPhaseRecord): 'none' | 'commit' | 'rollback' {
  if (record.finishedAt) return 'none';
  return record.decision === 'COMMIT' ? 'commit' : 'rollback';
}

/** What a participant that asks is told: the decision, or UNKNOWN (hold on and ask again later). */
export type InquiryAnswer = TwoPhaseDecision | 'UNKNOWN';

/**
 * The answer to a participant that waited too long (presumed abort): the logged decision; ABORT
 * for an order the log does not know (the row is written before any prepare, so it can never
 * commit); for an undecided one, UNKNOWN while its coordinator may still decide — this process
 * is running it, or it began less than `decisionTimeoutMs` ago — and otherwise `presume_abort`:
 * the caller logs ABORT (the first decision wins, so a late COMMIT changes nothing) and answers it.
 */
export function inquiryAnswer(
  record: TwoPhaseRecord | undefined,
  at: { now: Date; decisionTimeoutMs: number; running: boolean },
): InquiryAnswer | 'presume_abort' {
  if (!record) return 'ABORT';
  if (record.decision) return record.decision;
  if (at.running || at.now.getTime() - record.startedAt.getTime() < at.decisionTimeoutMs) return 'UNKNOWN';
  return 'presume_abort';
}

/** The cancel reason of an order whose transaction was aborted because a participant could not prepare. */
export function abortReason(refusal: string | undefined, code: string | undefined): string {
  if (refusal) return refusal;
  return `two_phase_aborted${code ? `:${code}` : ''}`;
}

/** The cancel reason of an undecided transaction rolled back after the coordinator restarted. */
export const COORDINATOR_RESTARTED = 'two_phase_aborted:coordinator_restarted';
