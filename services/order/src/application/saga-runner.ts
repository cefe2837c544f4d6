// The saga runner: an Intake (start/stop) that finds due sagas and drives them through the
// checkout saga (checkout-saga.ts), one recorded attempt at a time.
//
// - Woken in-process right after checkout, with a polling fallback; claims due sagas with
//   FOR UPDATE SKIP LOCKED and leases them (next_attempt_at = now + SAGA_LEASE_MS), so several
//   order instances share the work and never run one saga at the same time. A runner that dies
//   leaves its sagas leased; another takes them over when the lease ends.
// - Every attempt is written before its command is sent (a STARTED row) and after it returns
//   (SUCCEEDED / FAILED / REFUSED with the saga's next state, in one transaction). Each write
//   checks and bumps saga_instances.version: a runner that lost its saga writes nothing.
// - What comes next is the domain's state machine (domain/saga-transitions.ts); the runner brings
//   the clock, the random draws and its breakers' views, and records the transition with the
//   order's end event (order-end-events.ts) when the saga ends.
// - A refusal compensates at once; other failures are retried with backoff and jitter. The step's
//   deadline is the time its participant has to come back: the step gives up only when an
//   attempt started at or after it failed, and an attempt the runner's own open breaker refused
//   waits for the breaker's trial call instead of counting (afterStepFailure, ADR 14). A saga
//   taken over after its deadline therefore gets one more attempt before it may compensate.
//   Compensations are retried until they succeed.
import { isSpanContextValid, ROOT_CONTEXT, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { extractTraceContext, type Logger, traceHeaders } from '@shoplab/chassis';
import type { Card } from '../domain/checkout-request';
import { type BreakerView, describeFailure, idempotencyKey, SagaRefusal } from '../domain/saga';
import {
  afterFailure,
  afterSuccess,
  breakerTarget,
  nextAction,
  type SagaAction,
  type SagaTransition,
  timelineName,
} from '../domain/saga-transitions';
import { CHECKOUT_SAGA, COMPENSATE, type SagaContext, type SagaStepDefinition } from './checkout-saga';
import { orderCancelledEvent, orderConfirmedEvent } from './order-end-events';
import type {
  AttemptEnd,
  BreakerWatch,
  CardVault,
  CommandOptions,
  Payments,
  SagaEnd,
  SagaObserver,
  SagaProgress,
  SagaSnapshot,
  SagaStore,
  StepEffects,
  StockReservations,
  UserDirectory,
} from './ports';
import type { TwoPhaseCoordinator } from './two-phase-coordinator';

export interface SagaRunnerSettings {
  pollIntervalMs: number;
  /** The time a step's participant has to come back, from the step's first attempt. */
  stepDeadlineMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  leaseMs: number;
  concurrency: number;
  /** Budget of one call to each participant. */
  callDeadlineMs: { user: number; catalog: number; payment: number };
  /** How long the runner's breakers to the participants stay open before a trial call. */
  breakerResetMs: number;
}

export interface SagaRunnerDeps {
  store: SagaStore;
  users: UserDirectory;
  stock: StockReservations;
  payments: Payments;
  /** Runs the reserve-and-authorize of `two-phase` orders; without it they run as orchestrated. */
  twoPhase?: TwoPhaseCoordinator;
  vault: CardVault;
  observer: SagaObserver;
  /** The runner's breakers to the participants; without it a refused attempt simply backs off. */
  breakers?: BreakerWatch;
  logger: Logger;
  settings: SagaRunnerSettings;
  clock?: () => Date;
  random?: () => number;
}

type Action = SagaAction<SagaStepDefinition>;

interface Change {
  attempt: AttemptEnd;
  progress: SagaProgress;
  effects?: StepEffects;
  end?: SagaEnd;
  /** Go on with the next action now (the saga stays leased to this runner). */
  continueNow: boolean;
}

const tracer = trace.getTracer('shoplab-order/saga');

export class SagaRunner {
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly random: () => number;
  private readonly settings: SagaRunnerSettings;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakePending = false;
  private wakeWaiter: (() => void) | undefined;
  private timer: { at: number; handle: NodeJS.Timeout } | undefined;

  constructor(private readonly deps: SagaRunnerDeps) {
    this.log = deps.logger.child({ component: 'saga-runner' });
    this.clock = deps.clock ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.settings = deps.settings;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts claiming and driving sagas in the background; returns at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.wakePending = true;
    this.loopDone = this.loop();
    this.log.info({ ...this.settings }, 'saga runner started');
  }

  /** Stops claiming; the attempts in flight finish and are recorded, their sagas are handed back. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight]);
    if (this.timer) clearTimeout(this.timer.handle);
    this.timer = undefined;
    this.log.info('saga runner stopped');
  }

  /** A saga became due (checkout just created one): look now rather than at the next poll. */
  wake(): void {
    this.wakePending = true;
    this.wakeWaiter?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.settings.concurrency - this.inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const now = this.clock();
          const sagas = await this.deps.store.claimDue(free, now, this.leaseFrom(now));
          claimed = sagas.length;
          for (const saga of sagas) this.track(this.drive(saga));
        } catch (err) {
          this.log.error({ err }, 'claiming due sagas failed; trying again at the next poll');
        }
      }
      // A full batch: more may be due.
      if (claimed > 0 && claimed === free) continue;
      await this.nextWake();
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      this.wake();
    });
  }

  private nextWake(): Promise<void> {
    if (this.wakePending || !this.running) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.settings.pollIntervalMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeWaiter = undefined;
        self.wakePending = false;
        resolve();
      }
      this.wakeWaiter = done;
    });
  }

  /** Wakes the loop when a retry falls due, so backoff does not wait for the next poll. */
  private wakeAt(at: Date): void {
    const ms = at.getTime();
    if (this.timer && this.timer.at <= ms) return;
    if (this.timer) clearTimeout(this.timer.handle);
    const handle = setTimeout(
      () => {
        this.timer = undefined;
        this.wake();
      },
      Math.max(0, ms - this.clock().getTime()),
    );
    handle.unref();
    this.timer = { at: ms, handle };
  }

  private async drive(claimed: SagaSnapshot): Promise<void> {
    let saga: SagaSnapshot | undefined = claimed;
    try {
      while (saga) {
        if (!this.running) {
          await this.deps.store.release(saga, this.clock());
          return;
        }
        saga = await this.advance(saga);
      }
    } catch (err) {
      // The database failed under us. Hand the saga back for a retry in a moment (the version
      // check makes this a no-op if an attempt was half recorded); if even that fails, it stays
      // leased and is taken again when the lease ends.
      const retryAt = at(this.clock(), Math.min(this.settings.retryMaxMs, 1_000));
      const released = saga
        ? await this.deps.store.release(saga, retryAt).then(
            () => true,
            () => false,
          )
        : false;
      this.log.error(
        { err, orderId: claimed.orderId, handedBack: released },
        'saga attempt could not be recorded; retrying shortly (or after its lease)',
      );
      if (released) this.wakeAt(retryAt);
    }
  }

  /** Runs the saga's next action once; returns the saga to go on with now, or undefined. */
  private async advance(saga: SagaSnapshot): Promise<SagaSnapshot | undefined> {
    // Even when the step's deadline passed while no runner could try (a crashed runner's lease),
    // it gets its attempt: only an attempt after the deadline can show the participant is still down.
    const action = nextAction(saga, CHECKOUT_SAGA);
    const name = timelineName(action);
    const attempt = saga.attempts + 1;
    const parent = saga.traceContext ? extractTraceContext(saga.traceContext) : ROOT_CONTEXT;
    const attributes = { 'order.id': saga.orderId, 'saga.step': name, 'saga.attempt': attempt };
    return tracer.startActiveSpan(`saga ${name}`, { attributes }, parent, async (span) => {
      try {
        return await this.attempt(saga, action, name, attempt, span);
      } finally {
        span.end();
      }
    });
  }

  private async attempt(
    saga: SagaSnapshot,
    action: Action,
    name: string,
    attempt: number,
    span: Span,
  ): Promise<SagaSnapshot | undefined> {
    const startedAt = this.clock();
    const firstOfStep = action.kind === 'step' && saga.attempts === 0;
    const deadlineAt = firstOfStep ? new Date(startedAt.getTime() + this.settings.stepDeadlineMs) : saga.deadlineAt;
    const spanContext = span.spanContext();
    const traced = isSpanContextValid(spanContext);
    const begun = await this.deps.store.beginAttempt(saga, {
      step: name,
      number: attempt,
      ...(traced ? { traceId: spanContext.traceId } : {}),
      // A saga that came without the checkout's context (created untraced) makes its first span
      // the parent of all the others, so it is still one trace.
      ...(traced && !saga.traceContext ? { traceContext: traceHeaders(trace.setSpan(ROOT_CONTEXT, span)) } : {}),
      startedAt,
      deadlineAt,
      leaseUntil: this.leaseFrom(startedAt),
    });
    if (!begun) {
      this.log.warn({ orderId: saga.orderId, step: name }, 'another runner took this saga over');
      return undefined;
    }
    const current: SagaSnapshot = {
      ...saga,
      ...(begun.traceContext ? { traceContext: begun.traceContext } : {}),
      version: begun.version,
      attempts: attempt,
      deadlineAt,
      state: action.kind === 'step' ? 'RUNNING' : saga.state,
    };

    let effects: StepEffects = {};
    let failure: unknown;
    let succeeded = false;
    try {
      effects = await this.run(action, current);
      succeeded = true;
    } catch (err) {
      failure = err;
    }
    const finishedAt = this.clock();
    const transition = succeeded
      ? afterSuccess(current, action, finishedAt, this.leaseFrom(finishedAt))
      : this.afterFailure(current, action, failure, startedAt, finishedAt);
    const change = this.recorded(current, action, begun.rowId, finishedAt, transition, effects, failure);

    if (change.attempt.outcome !== 'SUCCEEDED') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: change.attempt.error?.code ?? 'failed' });
      span.setAttribute('saga.outcome', change.attempt.outcome);
      if (failure instanceof Error) span.recordException(failure);
    }
    const version = await this.deps.store.finishAttempt(current, change);
    if (version === undefined) {
      this.log.warn(
        { orderId: saga.orderId, step: name },
        'another runner took this saga over; its attempt is not recorded',
      );
      return undefined;
    }
    this.observe(current, name, change, finishedAt);

    const next: SagaSnapshot = {
      ...current,
      ...change.progress,
      version,
      ...(effects.paymentId ? { paymentId: effects.paymentId } : {}),
      ...(effects.shippingAddress ? { shippingAddress: effects.shippingAddress } : {}),
    };
    if (change.end) return undefined;
    if (change.continueNow) return next;
    this.wakeAt(change.progress.nextAttemptAt);
    return undefined;
  }

  private run(action: Action, saga: SagaSnapshot): Promise<StepEffects> {
    const ctx = this.contextFor(saga, timelineName(action));
    switch (action.kind) {
      case 'step':
        return action.step.run(ctx);
      case 'compensation':
        return COMPENSATE[action.name](ctx).then(() => ({}));
      case 'cancel':
        return Promise.resolve({});
    }
  }

  /** The domain's decision on a failed attempt, with this runner's breakers and budgets; logged. */
  private afterFailure(
    saga: SagaSnapshot,
    action: Action,
    err: unknown,
    startedAt: Date,
    finishedAt: Date,
  ): SagaTransition {
    const target = breakerTarget(err);
    const transition = afterFailure(
      saga,
      action,
      {
        err,
        startedAt,
        finishedAt,
        leaseUntil: this.leaseFrom(finishedAt),
        ...(target ? { breaker: () => this.breakerView(target) } : {}),
        callDeadlineMs: this.callDeadlineOf(target),
        breakerResetMs: this.settings.breakerResetMs,
      },
      { backoff: this.backoff(), random: this.random },
    );
    if (action.kind !== 'step') {
      const log = transition.outcome === 'REFUSED' ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
      log(
        { orderId: saga.orderId, step: timelineName(action), attempt: saga.attempts, err },
        'compensation failed; retrying',
      );
    } else if (transition.gaveUp) {
      this.log.warn(
        { orderId: saga.orderId, step: action.step.name, attempts: saga.attempts, deadlineAt: saga.deadlineAt },
        'step still failing after its deadline; compensating',
      );
    }
    return transition;
  }

  /** What is recorded of an attempt: its end on the timeline, the saga's progress, a step's effects, the end event. */
  private recorded(
    saga: SagaSnapshot,
    action: Action,
    rowId: bigint,
    finishedAt: Date,
    transition: SagaTransition,
    effects: StepEffects,
    err: unknown,
  ): Change {
    const { outcome, progress, continueNow } = transition;
    if (outcome !== 'SUCCEEDED') {
      return { attempt: { rowId, outcome, error: describeFailure(err), finishedAt }, progress, continueNow };
    }
    const attempt: AttemptEnd = { rowId, outcome, finishedAt };
    const end = transition.end && endOf(saga, transition.end, finishedAt);
    return {
      attempt,
      ...(action.kind === 'step' ? { effects } : {}),
      progress,
      ...(end ? { end } : {}),
      continueNow,
    };
  }

  private breakerView(target: string): BreakerView {
    return this.deps.breakers?.view(target) ?? { state: 'unknown' };
  }

  /** The call budget of `target` (the longest one when the failure does not say). */
  private callDeadlineOf(target: string | undefined): number {
    const budgets = this.settings.callDeadlineMs;
    if (target && target in budgets) return budgets[target as keyof typeof budgets];
    return Math.max(budgets.user, budgets.catalog, budgets.payment);
  }

  private contextFor(saga: SagaSnapshot, step: string): SagaContext {
    const { callDeadlineMs } = this.settings;
    // Every call gets the participant's full budget, also the last attempt at (or after) the
    // step's deadline: cut short, it could fail a participant that is back.
    const optionsAs = (target: keyof typeof callDeadlineMs, keyStep: string): CommandOptions => ({
      deadlineMs: callDeadlineMs[target],
      idempotencyKey: idempotencyKey(saga.orderId, keyStep),
    });
    return {
      saga,
      users: this.deps.users,
      stock: this.deps.stock,
      payments: this.deps.payments,
      ...(this.deps.twoPhase ? { twoPhase: this.deps.twoPhase } : {}),
      card: () => this.openCard(saga.orderId),
      options: (target) => optionsAs(target, step),
      optionsAs,
    };
  }

  private async openCard(orderId: string): Promise<Card | undefined> {
    const sealed = await this.deps.store.sealedCard(orderId);
    if (!sealed) return undefined;
    try {
      return this.deps.vault.open(orderId, sealed);
    } catch (err) {
      // Another key, or tampered bytes: no retry will ever open it.
      throw new SagaRefusal('card_unavailable', 'The order’s card cannot be opened', 'SHOP_INTERNAL', { cause: err });
    }
  }

  private observe(saga: SagaSnapshot, step: string, change: Change, finishedAt: Date): void {
    this.deps.observer.attempt(step, change.attempt.outcome);
    if (!change.end) return;
    const seconds = (finishedAt.getTime() - saga.createdAt.getTime()) / 1000;
    this.deps.observer.ended(change.end.status === 'CONFIRMED' ? 'confirmed' : 'cancelled', seconds);
    this.deps.observer.orderStatus(change.end.status);
    if (change.end.status === 'CONFIRMED') this.deps.observer.revenue?.(saga.total);
    this.log.info(
      { orderId: saga.orderId, status: change.end.status, reason: change.end.cancelReason, seconds },
      `order ${change.end.status.toLowerCase()}`,
    );
  }

  private backoff() {
    return { baseMs: this.settings.retryBaseMs, maxMs: this.settings.retryMaxMs };
  }

  private leaseFrom(now: Date): Date {
    return at(now, this.settings.leaseMs);
  }
}

/** The saga's end as recorded: the order's status, the cancel reason and the end event. */
function endOf(saga: SagaSnapshot, end: NonNullable<SagaTransition['end']>, finishedAt: Date): SagaEnd {
  if (end.status === 'CONFIRMED') return { status: 'CONFIRMED', event: orderConfirmedEvent(saga, finishedAt) };
  return {
    status: 'CANCELLED',
    cancelReason: end.cancelReason,
    event: orderCancelledEvent(saga, end.cancelReason, finishedAt),
  };
}

function at(from: Date, ms: number): Date {
  return new Date(from.getTime() + ms);
}
