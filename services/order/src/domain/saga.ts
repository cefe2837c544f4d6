// The checkout saga's vocabulary and rules (docs/reference.md#saga): the steps and compensations by name, what a failure means (a refusal compensates at once, anything
// else is retried until the step's deadline), when a failed step is retried or given up (ADR 14),
// the cancel reason it leads to, idempotency keys and retry delays. Plain TypeScript: no I/O.
// The state machine built on these rules is saga-transitions.ts.
import { backoffMs } from '@shoplab/chassis/backoff';
import { type ErrorCode, GrpcStatus, ShopError } from '@shoplab/chassis/errors';

/**
 * The forward steps in order; `saga_instances.current_step` is the 1-based position. The one list
 * of them: application/checkout-saga.ts says how each runs and builds its table in this order.
 */
export const SAGA_STEPS = [
  'validate_user',
  'reserve_stock',
  'authorize_payment',
  'commit_stock',
  'capture_payment',
  'confirm',
] as const;
export type SagaStepName = (typeof SAGA_STEPS)[number];

export const COMPENSATIONS = ['release_stock', 'void_payment', 'restock_committed'] as const;
export type CompensationName = (typeof COMPENSATIONS)[number];

/** The last action of a compensated saga: the order becomes CANCELLED. */
export const CANCEL_STEP = 'cancel';

export const SAGA_STATES = ['STARTED', 'RUNNING', 'COMPENSATING', 'CONFIRMED', 'CANCELLED'] as const;
export type SagaState = (typeof SAGA_STATES)[number];

/** Outcomes of one attempt on the timeline. */
export type AttemptOutcome = 'STARTED' | 'SUCCEEDED' | 'FAILED' | 'REFUSED' | 'INTERRUPTED';

export function isCompensation(value: string): value is CompensationName {
  return (COMPENSATIONS as readonly string[]).includes(value);
}

/** The timeline name of a compensation: `compensate:release_stock`. */
export function compensationStep(name: CompensationName): string {
  return `compensate:${name}`;
}

/**
 * The idempotency key of the commands one step (or compensation) sends: `<orderId>:<step>`.
 * Every attempt of the step uses the same key, so a retried command never acts twice.
 */
export function idempotencyKey(orderId: string, step: string): string {
  return `${orderId}:${step}`;
}

/** A refusal the saga decides itself (the buyer is unknown, the card cannot be read), with its cancel reason. */
export class SagaRefusal extends Error {
  override readonly name = 'SagaRefusal';
  constructor(
    readonly reason: string,
    message: string,
    readonly code: string = 'SHOP_BAD_REQUEST',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A failure of a step whose outcome is already decided and durable — a two-phase COMMIT in the
 * decision log whose delivery failed. The step is retried until it succeeds (like a
 * `retryForever` step), never given up at its deadline: compensating it would cancel an order
 * whose participants are bound to commit.
 */
export class SagaOutcomeDecided extends Error {
  override readonly name = 'SagaOutcomeDecided';
}

/** Statuses by which a participant says no: asking again gives the same answer. */
const REFUSAL_STATUSES: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.OUT_OF_RANGE,
]);

/**
 * `refused`: a business refusal, the step did not act and the saga compensates at once.
 * `failed`: anything else — transient (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 * ABORTED, an open breaker, a timeout) or unexpected (INTERNAL, a database error). The step may
 * or may not have acted, so it is retried, with the same idempotency key, until its deadline.
 */
export function classifyFailure(err: unknown): 'refused' | 'failed' {
  if (err instanceof SagaRefusal) return 'refused';
  if (err instanceof ShopError && REFUSAL_STATUSES.has(err.grpcStatus)) return 'refused';
  return 'failed';
}

const REASON_OF_CODE: Partial<Record<ErrorCode, string>> = {
  SHOP_PAYMENT_DECLINED: 'payment_declined',
  SHOP_INSUFFICIENT_FUNDS: 'insufficient_funds',
  SHOP_INVALID_CARD: 'invalid_card',
  SHOP_OUT_OF_STOCK: 'out_of_stock',
  SHOP_PRODUCT_UNAVAILABLE: 'product_unavailable',
};

/** The cancel reason of a refused step: `payment_declined`, `out_of_stock`, … or `<step>_refused`. */
export function refusalReason(step: SagaStepName, err: unknown): string {
  if (err instanceof SagaRefusal) return err.reason;
  const reason = err instanceof ShopError ? REASON_OF_CODE[err.code] : undefined;
  return reason ?? `${step}_refused`;
}

/** The cancel reason of a step that kept failing until its deadline. */
export function deadlineReason(step: SagaStepName): string {
  return `step_deadline_exceeded:${step}`;
}

/** The code and message an attempt's failure is recorded with. */
export function describeFailure(err: unknown): { code: string; message: string } {
  if (err instanceof ShopError || err instanceof SagaRefusal) return { code: err.code, message: err.message };
  return { code: 'SHOP_INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Exponential backoff with jitter (the chassis' one formula, backoffMs): attempt n waits between
 * half and all of min(maxMs, baseMs · 2^(n-1)), so retries of many sagas spread out but never spin.
 */
export function retryDelayMs(
  attempt: number,
  { baseMs, maxMs }: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  return Math.max(1, Math.round(backoffMs(attempt, { initialMs: baseMs, maxMs, minShare: 0.5 }, random)));
}

// ---------------------------------------------------------------------------------------
// When a failed step is tried again, or given up (docs/adr/0014-step-deadline-needs-evidence.md)

/**
 * The runner's own circuit breaker to the participant, as seen right after it refused an attempt
 * (SHOP_CIRCUIT_OPEN): the participant was not asked at all.
 * - `open`: it lets a trial call through at `halfOpensAt`; `openedAt` is when a call last failed
 *   enough to (re)open it (absent if not seen).
 * - `half-open`: its one trial call is in flight; the breaker closes or reopens when it ends.
 * - `closed`: it closed again since (a trial succeeded).
 * - `unknown`: the runner cannot see this breaker.
 */
export type BreakerView =
  | { state: 'open'; openedAt?: Date; halfOpensAt: Date }
  | { state: 'half-open' }
  | { state: 'closed' }
  | { state: 'unknown' };

export interface FailedStepAttempt {
  startedAt: Date;
  finishedAt: Date;
  /** The step's deadline: the participant has until then to come back. */
  deadlineAt: Date;
  /** Set when the runner's own breaker refused the attempt. */
  breaker?: BreakerView;
  /** The budget of one call to the participant. */
  callDeadlineMs: number;
  /** How long the breaker stays open before its trial call. */
  breakerResetMs: number;
  /** The backoff drawn for this attempt (retryDelayMs). */
  backoffMs: number;
  /** A short random pause, so sagas waiting on one breaker do not all call at the same instant. */
  jitterMs: number;
}

export type StepRetry = { retryAt: Date } | { giveUp: true };

/**
 * After a transient failure of a forward step: when to try again, or whether to give up.
 *
 * The deadline is the time the participant has to come back, so the step gives up only on
 * evidence that the participant still failed after it:
 * - an attempt that reached the participant (or its address) and was started at or after the
 *   deadline failed: give up. One started before it is retried with backoff, but never later
 *   than the deadline itself, so there is always a last attempt at the deadline;
 * - an attempt the runner's own breaker refused asked nobody: it is tried again when the breaker
 *   lets a trial call through (or right after a trial in flight ends). It gives up only when the
 *   breaker (re)opened after the deadline plus one call's budget — a call started after the
 *   deadline failed — or, as a safety net, two breaker cycles after the deadline.
 */
export function afterStepFailure(a: FailedStepAttempt): StepRetry {
  const deadline = a.deadlineAt.getTime();
  const finished = a.finishedAt.getTime();
  if (!a.breaker) {
    if (a.startedAt.getTime() >= deadline) return { giveUp: true };
    return { retryAt: new Date(Math.max(finished, Math.min(finished + a.backoffMs, deadline))) };
  }
  if (finished >= breakerPatienceEnds(a)) return { giveUp: true };
  const view = a.breaker;
  switch (view.state) {
    case 'open': {
      if (view.openedAt && view.openedAt.getTime() > deadline + a.callDeadlineMs) return { giveUp: true };
      return { retryAt: new Date(Math.max(view.halfOpensAt.getTime(), finished) + a.jitterMs) };
    }
    case 'half-open':
      return { retryAt: new Date(finished + Math.min(a.backoffMs, a.callDeadlineMs) + a.jitterMs) };
    case 'closed':
      return { retryAt: new Date(finished + a.jitterMs) };
    case 'unknown':
      return { retryAt: new Date(finished + a.backoffMs) };
  }
}

/**
 * The latest time a step keeps trying behind its own open breaker: two breaker cycles (reset
 * and one trial call) after the deadline. A participant back by the deadline has closed the
 * breaker within one cycle (its trial succeeds), so this only stops a wait that evidence
 * (the breaker reopening) would normally have ended earlier.
 */
export function breakerPatienceEnds(a: Pick<FailedStepAttempt, 'deadlineAt' | 'callDeadlineMs' | 'breakerResetMs'>) {
  return a.deadlineAt.getTime() + 2 * (a.breakerResetMs + a.callDeadlineMs);
}
