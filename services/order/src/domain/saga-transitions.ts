// The checkout saga's state machine (docs/reference.md#saga): from where a saga stands and how
// its last attempt ended, where it stands next. Plain TypeScript, no I/O: the runner
// (application/saga-runner.ts) brings the clock, the random draws and its breakers' views, and
// records what these functions return.
import { ShopError } from '@shoplab/chassis/errors';
import {
  afterStepFailure,
  type BreakerView,
  CANCEL_STEP,
  type CompensationName,
  classifyFailure,
  compensationStep,
  deadlineReason,
  refusalReason,
  retryDelayMs,
  SagaOutcomeDecided,
  type SagaState,
  type SagaStepName,
} from './saga';

/** A step as the state machine sees it: its name and what undoes it (application/checkout-saga.ts adds how it runs). */
export interface SagaStepRule {
  name: SagaStepName;
  /** If this step is refused or gives up, these undo the earlier steps, in this order. */
  compensate: readonly CompensationName[];
  /** If it gives up without knowing whether its command acted (timeouts), this undoes the step itself first. */
  ifOutcomeUnknown?: CompensationName;
  /** A local step that is retried until it succeeds: nothing after the capture is compensated for an outage. */
  retryForever?: boolean;
}

/** Where a saga stands (saga_instances): its state, step, attempts and when it is next due. */
export interface SagaProgress {
  state: SagaState;
  currentStep: number;
  attempts: number;
  nextAttemptAt: Date;
  deadlineAt: Date;
  compensations: CompensationName[];
  failureReason?: string;
}

/** Where a saga stands, without when it is due: what its next transition starts from. */
export type SagaPosition = Omit<SagaProgress, 'nextAttemptAt'> & { orderId: string };

/** What a saga does next: a forward step, its next compensation, or the cancel that ends it. */
export type SagaAction<S extends SagaStepRule = SagaStepRule> =
  | { kind: 'step'; step: S }
  | { kind: 'compensation'; name: CompensationName }
  | { kind: 'cancel' };

/** How an attempt ends: the outcome on the timeline, where the saga stands next, whether it ended. */
export interface SagaTransition {
  outcome: 'SUCCEEDED' | 'FAILED' | 'REFUSED';
  progress: SagaProgress;
  end?: { status: 'CONFIRMED' } | { status: 'CANCELLED'; cancelReason: string };
  /** Go on with the next action now (the saga stays leased to the runner that ran this one). */
  continueNow: boolean;
  /** A forward step kept failing until its deadline passed and now compensates. */
  gaveUp?: true;
}

/** A failed attempt, with what the runner knows about it. */
export interface FailedAttempt {
  err: unknown;
  startedAt: Date;
  finishedAt: Date;
  /** The lease from `finishedAt`: a saga that compensates now is due again then, should its runner die. */
  leaseUntil: Date;
  /** The view of the runner's breaker that refused the attempt (read only when needed); absent if none did. */
  breaker?: () => BreakerView;
  /** The budget of one call to the participant. */
  callDeadlineMs: number;
  /** How long the runner's breakers stay open before a trial call. */
  breakerResetMs: number;
}

/** The retry delays' bounds and their random source (retryDelayMs). */
export interface RetryDraws {
  backoff: { baseMs: number; maxMs: number };
  random: () => number;
}

/** The compensations to run when `step` is refused (outcome known) or gives up (outcome unknown). */
export function compensationPlan(step: SagaStepRule, outcomeKnown: boolean): CompensationName[] {
  const plan = outcomeKnown || !step.ifOutcomeUnknown ? [] : [step.ifOutcomeUnknown];
  return [...plan, ...step.compensate.filter((c) => !plan.includes(c))];
}

/** The saga's next action; `steps` are the forward steps in order (`currentStep` is 1-based). */
export function nextAction<S extends SagaStepRule>(saga: SagaPosition, steps: readonly S[]): SagaAction<S> {
  if (saga.state === 'COMPENSATING') {
    const [name] = saga.compensations;
    return name ? { kind: 'compensation', name } : { kind: 'cancel' };
  }
  const step = steps[saga.currentStep - 1];
  if (!step) throw new Error(`saga of order ${saga.orderId} is at step ${saga.currentStep}, which does not exist`);
  return { kind: 'step', step };
}

/** The action's name on the timeline: `reserve_stock`, `compensate:release_stock`, `cancel`. */
export function timelineName(action: SagaAction): string {
  switch (action.kind) {
    case 'step':
      return action.step.name;
    case 'compensation':
      return compensationStep(action.name);
    case 'cancel':
      return CANCEL_STEP;
  }
}

/** After a successful attempt finished at `finishedAt`; `leaseUntil` keeps the saga leased while it goes on. */
export function afterSuccess(
  saga: SagaPosition,
  action: SagaAction,
  finishedAt: Date,
  leaseUntil: Date,
): SagaTransition {
  const outcome = 'SUCCEEDED';
  const base = { ...progressOf(saga), attempts: 0, nextAttemptAt: leaseUntil };
  switch (action.kind) {
    case 'step': {
      if (action.step.name === 'confirm') {
        return {
          outcome,
          progress: { ...base, state: 'CONFIRMED', nextAttemptAt: finishedAt },
          end: { status: 'CONFIRMED' },
          continueNow: false,
        };
      }
      return { outcome, progress: { ...base, state: 'RUNNING', currentStep: saga.currentStep + 1 }, continueNow: true };
    }
    case 'compensation':
      return { outcome, progress: { ...base, compensations: saga.compensations.slice(1) }, continueNow: true };
    case 'cancel': {
      const cancelReason = saga.failureReason ?? 'cancelled';
      return {
        outcome,
        progress: { ...base, state: 'CANCELLED', nextAttemptAt: finishedAt },
        end: { status: 'CANCELLED', cancelReason },
        continueNow: false,
      };
    }
  }
}

/**
 * After a failed attempt. A compensation is retried with backoff until it succeeds (a saga never
 * stops half way). A refused step compensates at once. Any other failure of a step is retried
 * (a `retryForever` step, or one whose outcome is decided already (SagaOutcomeDecided), with
 * backoff, forever; the others as afterStepFailure decides, ADR 14) or, once that gives up, compensates with the cancel reason `step_deadline_exceeded:<step>`.
 */
export function afterFailure(
  saga: SagaPosition,
  action: SagaAction,
  failed: FailedAttempt,
  draws: RetryDraws,
): SagaTransition {
  const kind = classifyFailure(failed.err);
  const outcome = kind === 'refused' ? 'REFUSED' : 'FAILED';
  const progress = progressOf(saga);
  const { finishedAt } = failed;
  if (action.kind !== 'step') {
    const delay = retryDelayMs(saga.attempts, draws.backoff, draws.random);
    return { outcome, progress: { ...progress, nextAttemptAt: at(finishedAt, delay) }, continueNow: false };
  }
  const { step } = action;
  if (kind === 'refused') {
    const reason = refusalReason(step.name, failed.err);
    return { outcome, progress: compensating(saga, step, true, reason, failed.leaseUntil), continueNow: true };
  }
  const delay = retryDelayMs(saga.attempts, draws.backoff, draws.random);
  if (step.retryForever || failed.err instanceof SagaOutcomeDecided) {
    return { outcome, progress: { ...progress, nextAttemptAt: at(finishedAt, delay) }, continueNow: false };
  }
  const decision = afterStepFailure({
    startedAt: failed.startedAt,
    finishedAt,
    deadlineAt: saga.deadlineAt,
    ...(failed.breaker ? { breaker: failed.breaker() } : {}),
    callDeadlineMs: failed.callDeadlineMs,
    breakerResetMs: failed.breakerResetMs,
    backoffMs: delay,
    jitterMs: retryDelayMs(1, draws.backoff, draws.random),
  });
  if ('retryAt' in decision) {
    return { outcome, progress: { ...progress, nextAttemptAt: decision.retryAt }, continueNow: false };
  }
  return {
    outcome,
    progress: compensating(saga, step, false, deadlineReason(step.name), failed.leaseUntil),
    continueNow: true,
    gaveUp: true,
  };
}

/** The participant whose breaker refused the call (SHOP_CIRCUIT_OPEN names it), if that is what failed. */
export function breakerTarget(err: unknown): string | undefined {
  if (!(err instanceof ShopError) || err.code !== 'SHOP_CIRCUIT_OPEN') return undefined;
  const target = err.details?.target;
  return typeof target === 'string' ? target : 'unknown';
}

function compensating(
  saga: SagaPosition,
  step: SagaStepRule,
  outcomeKnown: boolean,
  reason: string,
  leaseUntil: Date,
): SagaProgress {
  return {
    ...progressOf(saga),
    state: 'COMPENSATING',
    attempts: 0,
    nextAttemptAt: leaseUntil,
    compensations: compensationPlan(step, outcomeKnown),
    failureReason: reason,
  };
}

function progressOf(saga: SagaPosition): SagaProgress {
  return {
    state: saga.state,
    currentStep: saga.currentStep,
    attempts: saga.attempts,
    nextAttemptAt: saga.deadlineAt,
    deadlineAt: saga.deadlineAt,
    compensations: saga.compensations,
    ...(saga.failureReason ? { failureReason: saga.failureReason } : {}),
  };
}

function at(from: Date, ms: number): Date {
  return new Date(from.getTime() + ms);
}
