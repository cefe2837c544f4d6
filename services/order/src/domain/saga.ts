// The checkout saga's vocabulary and rules (ARCHITECTURE.md §3): the steps and compensations by
// name, what a failure means (a refusal compensates at once, anything else is retried until
// the step's deadline), the cancel reason it leads to, idempotency keys and retry delays.
// Plain TypeScript: no I/O.
import { type ErrorCode, GrpcStatus, ShopError } from '@shoplab/chassis/errors';

/** The forward steps in order; `saga_instances.current_step` is the 1-based position. */
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

export function stepAt(position: number): SagaStepName {
  const step = SAGA_STEPS[position - 1];
  if (!step) throw new RangeError(`no saga step ${position}`);
  return step;
}

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
 * Exponential backoff with jitter: attempt n waits between half and all of
 * min(maxMs, baseMs · 2^(n-1)), so retries of many sagas spread out but never spin.
 */
export function retryDelayMs(
  attempt: number,
  { baseMs, maxMs }: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(ceiling * (0.5 + 0.5 * random())));
}
