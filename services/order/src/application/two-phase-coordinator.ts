// The coordinator of the two-phase checkout (docs/patterns/two-phase-commit.md, ADR 37): the
// checkout's reserve and authorize as ONE distributed transaction. Order writes its decision log,
// catalog and payment each prepare their part as a PostgreSQL prepared transaction
// (`shop2pc:<orderId>:<participant>`), the coordinator writes COMMIT (both prepared) or ABORT
// (one could not) and then tells both. It runs as the saga's reserve step of a two-phase order
// (checkout-saga.ts); the saga's later steps (commit stock, capture, confirm) are unchanged.
//
// What it costs is the point of the mode: between prepare and the decision's delivery, the
// participants hold the order's rows locked and cannot decide alone — a coordinator that dies
// there leaves them in doubt (pg_prepared_xacts) until it is back and recovers (recover()).
import { type FinishOutcome, type Logger, preparedTransactionId, type TwoPhaseParticipant } from '@shoplab/chassis';
import type { Money } from '@shoplab/contracts';
import type { Card } from '../domain/checkout-request';
import { classifyFailure, refusalReason, SagaOutcomeDecided, SagaRefusal, type SagaStepName } from '../domain/saga';
import {
  abortReason,
  COORDINATOR_RESTARTED,
  type InquiryAnswer,
  inquiryAnswer,
  recoveryAction,
  type TwoPhaseDecision,
  type TwoPhaseRecord,
} from '../domain/two-phase';
import type { CommandOptions } from './ports';

/** The decision log (infrastructure/two-phase-log.ts): durable before anyone acts on it. */
export interface TwoPhaseLog {
  /** Writes the row if the order has none; returns the row and whether this call wrote it. */
  begin(orderId: string, participants: readonly string[]): Promise<{ record: TwoPhaseRecord; created: boolean }>;
  find(orderId: string): Promise<TwoPhaseRecord | undefined>;
  /** Records the decision unless one is recorded; returns the row as it is after (the first decision wins). */
  decide(
    orderId: string,
    decision: TwoPhaseDecision,
    fields: { reason?: string; paymentId?: string },
  ): Promise<TwoPhaseRecord>;
  finish(orderId: string): Promise<void>;
  /** Rows without finishedAt, oldest first. */
  unfinished(): Promise<TwoPhaseRecord[]>;
  /**
   * Makes these orders' sagas due now. Their runner died with the coordinator and its lease
   * would keep them another SAGA_LEASE_MS; their step now answers from the log (and the saga's
   * version fences a runner that is still alive elsewhere).
   */
  wakeSagas(orderIds: readonly string[]): Promise<void>;
}

/** The participants' gRPC methods (infrastructure/two-phase.participants.ts). */
export interface TwoPhaseParticipants {
  prepareReserve(
    transactionId: string,
    orderId: string,
    lines: { productId: string; quantity: number }[],
    options: CommandOptions,
  ): Promise<void>;
  /** The prepared authorization's payment id. */
  prepareAuthorize(
    transactionId: string,
    orderId: string,
    amount: Money,
    card: Card,
    options: CommandOptions,
  ): Promise<{ paymentId: string }>;
  finish(participant: TwoPhaseParticipant, transactionId: string, commit: boolean): Promise<FinishOutcome>;
}

/** Where the chaos hook may hold a checkout (PUT /v1/admin/two-phase/chaos; exercise 18). */
export type PausePoint = 'none' | 'prepared' | 'decided';

export interface TwoPhaseChaos {
  /** Hold every checkout this long at `at`: after both prepared (undecided), or after COMMIT was logged. */
  pause: { at: PausePoint; ms: number };
}

export interface TwoPhaseOrder {
  orderId: string;
  lines: { productId: string; quantity: number }[];
  total: Money;
  card: Card | undefined;
  /** Call options for a participant (deadline, idempotency key of the step). */
  options(target: 'catalog' | 'payment'): CommandOptions;
}

const PARTICIPANTS: readonly TwoPhaseParticipant[] = ['catalog', 'payment'];

export class TwoPhaseCoordinator {
  /** The chaos hook (off by default; a restart turns it off, like every switch of ADR 13). */
  readonly chaos: TwoPhaseChaos = { pause: { at: 'none', ms: 0 } };
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: () => Date;
  /** The orders this process is preparing or deciding right now: a participant asking about one is told UNKNOWN. */
  private readonly running = new Set<string>();

  constructor(
    private readonly deps: {
      log: TwoPhaseLog;
      participants: TwoPhaseParticipants;
      logger: Logger;
      sleep?: (ms: number) => Promise<void>;
      clock?: () => Date;
      /**
       * How long an undecided transaction may wait for its coordinator before a participant's
       * question decides it ABORT (presumed abort); until then, and while this process runs it,
       * the answer is UNKNOWN. Longer than both prepares' call budgets (TWO_PHASE_DECISION_TIMEOUT_MS).
       */
      decisionTimeoutMs?: number;
    },
  ) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.clock = deps.clock ?? (() => new Date());
  }

  /**
   * Reserves and authorizes in one distributed transaction. Resolves with the payment id once
   * both committed; throws a SagaRefusal (the order is cancelled) once both rolled back; throws
   * anything else while a decided transaction is not delivered yet — the saga step runs it again,
   * and the log makes that a re-delivery of the same decision.
   */
  async run(order: TwoPhaseOrder): Promise<{ paymentId: string }> {
    const { orderId } = order;
    let { record, created } = await this.deps.log.begin(orderId, PARTICIPANTS);
    // A row this attempt did not write and nobody decided: an earlier attempt died between
    // prepare and decision. Presumed abort: nothing it prepared may commit now.
    if (!created && !record.decision) {
      record = await this.deps.log.decide(orderId, 'ABORT', { reason: COORDINATOR_RESTARTED });
    }
    if (created) {
      this.running.add(orderId);
      try {
        record = await this.prepareAndDecide(order);
      } finally {
        this.running.delete(orderId);
      }
    }
    return this.deliver(record);
  }

  /**
   * On start: finishes every transaction the log holds unfinished — COMMIT PREPARED where COMMIT
   * was decided, ROLLBACK PREPARED (after deciding ABORT) where nothing was. A participant that
   * cannot be reached leaves its row unfinished for the order's step to finish later.
   */
  async recover(): Promise<{ committed: number; rolledBack: number; failed: number }> {
    const counts = { committed: 0, rolledBack: 0, failed: 0 };
    const finished: string[] = [];
    for (let record of await this.deps.log.unfinished()) {
      try {
        if (!record.decision) {
          record = await this.deps.log.decide(record.orderId, 'ABORT', { reason: COORDINATOR_RESTARTED });
        }
        const action = recoveryAction(record);
        if (action === 'none') continue;
        await this.finishAll(record, action === 'commit');
        finished.push(record.orderId);
        counts[action === 'commit' ? 'committed' : 'rolledBack']++;
      } catch (err) {
        counts.failed++;
        this.deps.logger.warn({ err, orderId: record.orderId }, 'two-phase recovery: transaction still in doubt');
      }
    }
    if (finished.length > 0) await this.deps.log.wakeSagas(finished);
    if (counts.committed + counts.rolledBack + counts.failed > 0) {
      this.deps.logger.info(counts, 'two-phase recovery: in-doubt transactions finished');
    }
    return counts;
  }

  /**
   * A participant's question about a transaction it has held prepared too long: the logged
   * decision; ABORT for an order the log does not know; UNKNOWN for an undecided one while its
   * coordinator may still decide, and after that it is decided ABORT now (presumed abort), so the
   * answer holds.
   */
  async inquire(orderId: string): Promise<InquiryAnswer> {
    const record = await this.deps.log.find(orderId);
    const answer = inquiryAnswer(record, {
      now: this.clock(),
      decisionTimeoutMs: this.deps.decisionTimeoutMs ?? 10_000,
      running: this.running.has(orderId),
    });
    if (answer !== 'presume_abort') return answer;
    const decided = await this.deps.log.decide(orderId, 'ABORT', { reason: 'two_phase_aborted:participant_timeout' });
    return decided.decision ?? 'ABORT';
  }

  private async prepareAndDecide(order: TwoPhaseOrder): Promise<TwoPhaseRecord> {
    const { orderId } = order;
    let paymentId: string;
    let step: SagaStepName = 'reserve_stock';
    try {
      if (!order.card) throw new SagaRefusal('card_unavailable', 'The order’s card is no longer held');
      await this.deps.participants.prepareReserve(
        preparedTransactionId(orderId, 'catalog'),
        orderId,
        order.lines,
        order.options('catalog'),
      );
      step = 'authorize_payment';
      ({ paymentId } = await this.deps.participants.prepareAuthorize(
        preparedTransactionId(orderId, 'payment'),
        orderId,
        order.total,
        order.card,
        order.options('payment'),
      ));
    } catch (err) {
      // One could not prepare (a refusal, or no answer): abort. A prepare whose answer was lost
      // may still have prepared: the rollback below (or the participant's own question) ends it.
      const refusal = classifyFailure(err) === 'refused' ? refusalReason(step, err) : undefined;
      const code = (err as { code?: unknown }).code;
      this.deps.logger.info({ err, orderId }, 'two-phase: a participant could not prepare; aborting');
      return this.deps.log.decide(orderId, 'ABORT', {
        reason: abortReason(refusal, typeof code === 'string' ? code : undefined),
      });
    }
    await this.pauseAt('prepared', orderId);
    const record = await this.deps.log.decide(orderId, 'COMMIT', { paymentId });
    await this.pauseAt('decided', orderId);
    return record;
  }

  /**
   * Tells both participants the decision. Once COMMIT is logged the order can only be confirmed:
   * a failed delivery is a SagaOutcomeDecided, which the saga retries until it gets through
   * instead of giving the step up at its deadline and cancelling the order (whose prepared
   * payment would commit later anyway). A failed ABORT delivery is retried to the step's
   * deadline as usual: the order is cancelled either way, and the participants' own questions
   * (or the coordinator's recovery) roll back what is left.
   */
  private async deliver(record: TwoPhaseRecord): Promise<{ paymentId: string }> {
    if (recoveryAction(record) !== 'none') {
      const commit = record.decision === 'COMMIT';
      try {
        await this.finishAll(record, commit);
      } catch (err) {
        if (!commit) throw err;
        throw new SagaOutcomeDecided(
          `order ${record.orderId}: COMMIT is logged, its delivery failed (${(err as Error).message}); retrying until done`,
          { cause: err },
        );
      }
    }
    if (record.decision === 'COMMIT' && record.paymentId) return { paymentId: record.paymentId };
    throw new SagaRefusal(
      record.reason ?? 'two_phase_aborted',
      `The two-phase checkout of order ${record.orderId} was aborted (${record.reason ?? 'no reason logged'})`,
    );
  }

  /** Tells every participant the decision (each answer idempotent: `absent` = finished before), then logs it finished. */
  private async finishAll(record: TwoPhaseRecord, commit: boolean): Promise<void> {
    const outcomes = await Promise.all(
      PARTICIPANTS.map((p) => this.deps.participants.finish(p, preparedTransactionId(record.orderId, p), commit)),
    );
    await this.deps.log.finish(record.orderId);
    this.deps.logger.debug({ orderId: record.orderId, commit, outcomes }, 'two-phase transaction finished');
  }

  private async pauseAt(point: PausePoint, orderId: string): Promise<void> {
    const { at, ms } = this.chaos.pause;
    if (at !== point || ms <= 0) return;
    this.deps.logger.warn({ orderId, at, ms }, 'two-phase chaos: holding the transaction (participants prepared)');
    await this.sleep(ms);
  }
}
