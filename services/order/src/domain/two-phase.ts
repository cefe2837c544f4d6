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

/**
 * The answer to a participant that waited too long: the logged decision, ABORT for an order the
 * log does not know (it never reached the log, so it can never commit), and undefined while the
 * coordinator has not decided (the caller decides ABORT itself, or waits).
 */
export function inquiryAnswer(record: TwoPhaseRecord | undefined): TwoPhaseDecision | undefined {
  if (!record) return 'ABORT';
  return record.decision;
}

/** The cancel reason of an order whose transaction was aborted because a participant could not prepare. */
export function abortReason(refusal: string | undefined, code: string | undefined): string {
  if (refusal) return refusal;
  return `two_phase_aborted${code ? `:${code}` : ''}`;
}

/** The cancel reason of an undecided transaction rolled back after the coordinator restarted. */
export const COORDINATOR_RESTARTED = 'two_phase_aborted:coordinator_restarted';
