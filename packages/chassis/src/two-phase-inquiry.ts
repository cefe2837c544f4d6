// A participant of the two-phase checkout that asks (docs/patterns/two-phase-commit.md, ADR 37):
// every TWO_PHASE_INQUIRY_INTERVAL_MS, catalog and payment each look at their own prepared
// transactions (pg_prepared_xacts) older than TWO_PHASE_INQUIRY_AFTER_MS and ask the coordinator
// (order.v1.OrderService/GetTwoPhaseDecision) what became of each: COMMIT → COMMIT PREPARED,
// ABORT → ROLLBACK PREPARED, UNKNOWN (the coordinator is still deciding) → ask again later.
//
// While the coordinator cannot be reached the participant may decide nothing: to commit could
// break atomicity if the coordinator aborted, to roll back could if it committed. So it keeps
// holding the transaction — and its row locks — and asks again with back-off, logging and
// counting each time (shop_two_phase_inquiries_total{outcome="unreachable"}). That waiting is the
// blocking the pattern is known for; the gauge shop_two_phase_in_doubt shows how much is held.
import { orderV1 } from '@shoplab/contracts';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { backoffMs } from './backoff';
import { createGrpcClient } from './grpc-client';
import type { Logger } from './logging';
import { getOrCreate } from './metrics';
import {
  type FinishOutcome,
  finishPrepared,
  listPrepared,
  type PreparedTransaction,
  type PreparedTransactionsDb,
  type TwoPhaseParticipant,
} from './prepared-transactions';
import type { Intake, ServiceKit } from './service';

/** The coordinator's answer about one transaction. */
export type CoordinatorAnswer = 'COMMIT' | 'ABORT' | 'UNKNOWN';

/** A participant's settings (catalog's and payment's config extend it). */
export const twoPhaseInquiryConfigSchema = z.object({
  /**
   * A transaction prepared this long ago without a decision is asked about (scaled down in tests).
   * The coordinator delivers its decision at once unless it failed, so this is only a safety net;
   * long enough for exercise 18 to show the held rows before it kills the coordinator.
   */
  TWO_PHASE_INQUIRY_AFTER_MS: z.coerce.number().int().min(0).default(10_000),
  /** How often the participant looks for such transactions. */
  TWO_PHASE_INQUIRY_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
  /** The longest wait between two questions about one transaction (the back-off doubles up to it). */
  TWO_PHASE_INQUIRY_MAX_BACKOFF_MS: z.coerce.number().int().min(10).default(30_000),
  /** Time budget of one question to the coordinator. */
  TWO_PHASE_INQUIRY_DEADLINE_MS: z.coerce.number().int().min(10).default(1_000),
});
export type TwoPhaseInquiryConfig = z.infer<typeof twoPhaseInquiryConfigSchema>;

/** What the inquiry reads and finishes: this database's prepared transactions. */
export interface PreparedTransactionsStore {
  list(olderThanMs: number): Promise<PreparedTransaction[]>;
  finish(gid: string, commit: boolean): Promise<FinishOutcome>;
}

export function preparedTransactionsStore(db: PreparedTransactionsDb): PreparedTransactionsStore {
  return {
    list: (olderThanMs) => listPrepared(db, olderThanMs),
    finish: (gid, commit) => finishPrepared(db, gid, commit),
  };
}

/** One pass's result: finished as told, told to wait, coordinator unreachable, not asked yet (backing off). */
export interface InquiryCounts {
  committed: number;
  rolledBack: number;
  unknown: number;
  unreachable: number;
  waiting: number;
}

export interface TwoPhaseInquiryDeps {
  participant: TwoPhaseParticipant;
  store: PreparedTransactionsStore;
  /** Asks the coordinator (createTwoPhaseDecisionClient); throws when it cannot be reached. */
  ask(orderId: string): Promise<CoordinatorAnswer>;
  /** Closes what `ask` uses (its gRPC channel), on stop. */
  close?(): void;
  logger: Logger;
  registry?: Registry;
  settings: { askAfterMs: number; intervalMs: number; maxBackoffMs: number };
  clock?: () => number;
  random?: () => number;
}

const OUTCOMES = ['commit', 'abort', 'unknown', 'unreachable'] as const;

export class TwoPhaseInquiry implements Intake {
  readonly name = 'two-phase-inquiry';
  /** Transactions asked about without an answer to act on: how often, and when to ask next. */
  private readonly backingOff = new Map<string, { misses: number; nextAt: number }>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly inquiries?: Counter<'participant' | 'outcome'>;
  private readonly inDoubt?: Gauge<'participant'>;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> = Promise.resolve();
  private running = false;

  constructor(private readonly deps: TwoPhaseInquiryDeps) {
    this.clock = deps.clock ?? Date.now;
    this.random = deps.random ?? Math.random;
    const registry = deps.registry;
    if (registry) {
      const registers = [registry];
      this.inquiries = getOrCreate(
        registry,
        'shop_two_phase_inquiries_total',
        () =>
          new Counter({
            name: 'shop_two_phase_inquiries_total',
            help: 'A two-phase participant’s questions to the coordinator about transactions it held prepared too long, by answer (unreachable: it kept holding)',
            labelNames: ['participant', 'outcome'],
            registers,
          }),
      );
      this.inDoubt = getOrCreate(
        registry,
        'shop_two_phase_in_doubt',
        () =>
          new Gauge({
            name: 'shop_two_phase_in_doubt',
            help: 'Prepared transactions of the two-phase checkout held longer than TWO_PHASE_INQUIRY_AFTER_MS (their rows locked), at the last look',
            labelNames: ['participant'],
            registers,
          }),
      );
      for (const outcome of OUTCOMES) this.inquiries.inc({ participant: deps.participant, outcome }, 0);
      this.inDoubt.set({ participant: deps.participant }, 0);
    }
  }

  /**
   * One look: every prepared transaction older than askAfterMs whose next question is due is
   * asked about and finished as the coordinator decided; an unreachable coordinator or an
   * UNKNOWN answer leaves it prepared and backs off (doubling, up to maxBackoffMs). `all`: every
   * prepared transaction now, whatever its age and back-off (the admin route's "ask now").
   */
  async sweep(options: { all?: boolean } = {}): Promise<InquiryCounts> {
    const counts: InquiryCounts = { committed: 0, rolledBack: 0, unknown: 0, unreachable: 0, waiting: 0 };
    const { participant, logger, settings } = this.deps;
    const held = await this.deps.store.list(options.all ? 0 : settings.askAfterMs);
    if (!options.all) {
      this.inDoubt?.set({ participant }, held.length);
      const present = new Set(held.map((p) => p.gid));
      for (const gid of this.backingOff.keys()) if (!present.has(gid)) this.backingOff.delete(gid);
    }

    for (const prepared of held) {
      const { gid, orderId } = prepared;
      const now = this.clock();
      const backoff = this.backingOff.get(gid);
      if (!options.all && backoff && backoff.nextAt > now) {
        counts.waiting++;
        continue;
      }
      let answer: CoordinatorAnswer;
      try {
        answer = await this.deps.ask(orderId);
      } catch (err) {
        const wait = this.miss(gid, now);
        counts.unreachable++;
        this.inquiries?.inc({ participant, outcome: 'unreachable' });
        logger.warn(
          { err, transactionId: gid, heldMs: now - prepared.preparedAt.getTime(), nextQuestionInMs: wait },
          'two-phase: the coordinator cannot be reached; holding the prepared transaction (its rows stay locked)',
        );
        continue;
      }
      if (answer === 'UNKNOWN') {
        const wait = this.miss(gid, now);
        counts.unknown++;
        this.inquiries?.inc({ participant, outcome: 'unknown' });
        logger.info({ transactionId: gid, nextQuestionInMs: wait }, 'two-phase: not decided yet; holding');
        continue;
      }
      const commit = answer === 'COMMIT';
      this.inquiries?.inc({ participant, outcome: commit ? 'commit' : 'abort' });
      try {
        const outcome = await this.deps.store.finish(gid, commit);
        this.backingOff.delete(gid);
        counts[commit ? 'committed' : 'rolledBack']++;
        logger.info(
          { transactionId: gid, decision: answer, outcome },
          'two-phase: finished as the coordinator decided',
        );
      } catch (err) {
        // Our own database: the next look tries again.
        logger.error(
          { err, transactionId: gid, decision: answer },
          'two-phase: finishing a prepared transaction failed',
        );
      }
    }
    return counts;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
    this.deps.close?.();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.pass = this.sweep()
        .catch((err: unknown) =>
          this.deps.logger.error({ err }, 'two-phase inquiry: looking for prepared transactions failed'),
        )
        .finally(() => this.schedule());
    }, this.deps.settings.intervalMs);
    this.timer.unref();
  }

  /** Counts a question without a decision; returns the wait before the next one. */
  private miss(gid: string, now: number): number {
    const misses = (this.backingOff.get(gid)?.misses ?? 0) + 1;
    const { intervalMs, maxBackoffMs } = this.deps.settings;
    const wait = Math.round(
      backoffMs(misses, { initialMs: intervalMs, maxMs: maxBackoffMs, minShare: 0.5 }, this.random),
    );
    this.backingOff.set(gid, { misses, nextAt: now + wait });
    return wait;
  }
}

const ANSWERS: Partial<Record<orderV1.TwoPhaseDecision, CoordinatorAnswer>> = {
  [orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_COMMIT]: 'COMMIT',
  [orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_ABORT]: 'ABORT',
  [orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_UNKNOWN]: 'UNKNOWN',
};

/**
 * The participant's question over gRPC: order.v1.OrderService/GetTwoPhaseDecision, with the
 * service credential (order admits catalog and payment: allowed-callers.ts), a deadline and the
 * breaker per (participant, order). An answer the participant does not know counts as no answer.
 */
export function createTwoPhaseDecisionClient(
  kit: Pick<ServiceKit, 'registry' | 'metrics' | 'breakers' | 'logger'> &
    Partial<Pick<ServiceKit, 'chaos'>> & { config: { SERVICE_NAME: string } },
  settings: { deadlineMs: number },
): { ask(orderId: string): Promise<CoordinatorAnswer>; close(): void } {
  const client = createGrpcClient(
    orderV1.OrderServiceClient,
    {
      caller: kit.config.SERVICE_NAME,
      target: 'order',
      registry: kit.registry,
      deadlineMs: settings.deadlineMs,
    },
    { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger, ...(kit.chaos ? { chaos: kit.chaos } : {}) },
  );
  return {
    ask: async (orderId) => {
      const { decision } = await client.call('getTwoPhaseDecision', { orderId });
      const answer = ANSWERS[decision];
      if (!answer) throw new Error(`the coordinator answered ${decision} for order ${orderId}`);
      return answer;
    },
    close: () => client.close(),
  };
}

/** The inquiry of a participant, from its config (twoPhaseInquiryConfigSchema) and kit. */
export function createTwoPhaseInquiry(
  kit: Pick<ServiceKit, 'registry' | 'metrics' | 'breakers' | 'logger' | 'chaos'> & {
    config: TwoPhaseInquiryConfig & { SERVICE_NAME: string };
  },
  participant: TwoPhaseParticipant,
  db: PreparedTransactionsDb,
): TwoPhaseInquiry {
  const { config } = kit;
  const coordinator = createTwoPhaseDecisionClient(kit, { deadlineMs: config.TWO_PHASE_INQUIRY_DEADLINE_MS });
  return new TwoPhaseInquiry({
    participant,
    store: preparedTransactionsStore(db),
    ask: coordinator.ask,
    close: coordinator.close,
    logger: kit.logger.child({ component: 'two-phase-inquiry' }),
    registry: kit.metrics.registry,
    settings: {
      askAfterMs: config.TWO_PHASE_INQUIRY_AFTER_MS,
      intervalMs: config.TWO_PHASE_INQUIRY_INTERVAL_MS,
      maxBackoffMs: config.TWO_PHASE_INQUIRY_MAX_BACKOFF_MS,
    },
  });
}
