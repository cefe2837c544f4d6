// The payment use cases. Every command follows one recipe:
//   validate → replay a stored outcome for a known key → (processor latency) → ONE transaction:
//   claim the key, load the payment from its events (snapshot + later events), apply the rule,
//   append its event at the version read (the projections follow in the same statement), write
//   the outbox event, store the outcome → commit → answer (a recorded decline is thrown only
//   after its commit). An append that finds its version taken (another command got there
//   first) rolls the transaction back and runs it again on what the store now holds; after
//   `appendRetries` such conflicts the command answers SHOP_CONFLICT (gRPC ABORTED).
// Money therefore moves once per key however often a command is retried or raced.
import { createHash, randomUUID } from 'node:crypto';
import { createContractEvent, sleep } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import { type EventInput, type Money, paymentEventsV1, type paymentEventV1Core } from '@shoplab/contracts';
import type { z } from 'zod';
import { type CardInput, checkCard, normalizeCardNumber } from '../domain/card';
import {
  checkMoney,
  type PaymentRecord,
  type PaymentView,
  planCapture,
  planRefund,
  planVoid,
  viewOf,
} from '../domain/payment';
import { type PaymentAggregate, type PaymentEventData, replay } from '../domain/payment-events';
import type { CardNetworkPort } from './card-network';
import { type CommandOutcome, type PaymentStore, type PaymentTx, StreamConflict } from './ports';

export interface PaymentServiceOptions {
  store: PaymentStore;
  /** Simulated processor latency for Authorize and Capture. */
  latencyMs: number;
  /** Re-reads after a version conflict before a command answers SHOP_CONFLICT (default 3). */
  appendRetries?: number;
  /** Who decides an authorization (default: payment's own table, domain/card.ts). */
  cardNetwork?: CardNetworkPort;
  now?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CommandContext {
  /** Aborted when the caller gave up: a command that has not started its transaction stops. */
  signal?: AbortSignal;
}

export interface AuthorizeCommand {
  idempotencyKey: string;
  orderId: string;
  amount: Money | undefined;
  card: CardInput | undefined;
}

const MAX_KEY_LENGTH = 200;
const MAX_ID_LENGTH = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function required(value: string, field: string, max = MAX_ID_LENGTH): string {
  const v = value.trim();
  if (!v) throw new ShopError('SHOP_VALIDATION_FAILED', `${field} is required`, { field });
  if (v.length > max) throw new ShopError('SHOP_VALIDATION_FAILED', `${field} is longer than ${max}`, { field });
  return v;
}

function notFound(paymentId: string): ShopError {
  return new ShopError('SHOP_NOT_FOUND', `No payment ${paymentId}`, { paymentId });
}

/** A payment id that cannot exist (not a uuid) is simply not found. */
function checkPaymentId(value: string): string {
  const id = required(value, 'paymentId');
  if (!UUID.test(id)) throw notFound(id);
  return id.toLowerCase();
}

function fingerprintOf(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

type PaymentEventKind = keyof typeof paymentEventsV1;
/** What a kind of payment event adds to the fields every kind carries (authorized: cardLast4, declined: reason). */
type PaymentEventExtra<K extends PaymentEventKind> = Omit<
  EventInput<(typeof paymentEventsV1)[K]>,
  keyof z.input<typeof paymentEventV1Core>
>;

/** shop.payment.<kind>.v1, built through its schema in @shoplab/contracts. */
function paymentEvent<K extends PaymentEventKind>(
  kind: K,
  p: PaymentRecord,
  amount: Money,
  extra: PaymentEventExtra<K>,
) {
  const contract = paymentEventsV1[kind];
  const core: z.input<typeof paymentEventV1Core> = {
    paymentId: p.id,
    orderId: p.orderId,
    status: p.status,
    amount,
    captured: { amount: p.capturedAmount, currency: p.currency },
    refunded: { amount: p.refundedAmount, currency: p.currency },
  };
  // The core is type-checked above, the kind's own fields by PaymentEventExtra<K>; the contract's
  // schema parses the whole (createContractEvent) before it reaches the outbox.
  const data = { ...core, ...extra } as EventInput<typeof contract>;
  return createContractEvent(contract, { service: 'payment', subject: p.id, data });
}

/** The answer of a command, from its (possibly replayed) outcome. */
function answer(outcome: CommandOutcome): PaymentView {
  if ('error' in outcome) throw new ShopError(outcome.error.code, outcome.error.message, outcome.error.details);
  return outcome.payment;
}

export class PaymentService {
  private readonly store: PaymentStore;
  private readonly now: () => Date;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Appends that found their version taken and were run again (since the process started). */
  appendConflicts = 0;

  constructor(private readonly options: PaymentServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? sleep;
  }

  /** The same use cases, with the same settings, on another store (the two-phase participant's prepared one). */
  withStore(store: PaymentStore): PaymentService {
    return new PaymentService({ ...this.options, store });
  }

  async authorize(cmd: AuthorizeCommand, ctx: CommandContext = {}): Promise<PaymentView> {
    const key = required(cmd.idempotencyKey, 'idempotencyKey', MAX_KEY_LENGTH);
    const orderId = required(cmd.orderId, 'orderId');
    const money = checkMoney(cmd.amount, 'amount');
    if (!cmd.card) throw new ShopError('SHOP_INVALID_CARD', 'card is required', { field: 'card' });
    // The fingerprint identifies the request without the card number: its last four digits and expiry.
    const last4 = normalizeCardNumber(cmd.card.number)?.slice(-4) ?? '';
    const fingerprint = fingerprintOf(['authorize', orderId, money, last4, cmd.card.expMonth, cmd.card.expYear]);
    const replay = await this.replay(key, 'authorize', fingerprint);
    if (replay) return answer(replay);

    const card = checkCard(cmd.card, this.now());
    await this.processorLatency(ctx);
    const decision = this.options.cardNetwork
      ? await this.options.cardNetwork.decide(
          {
            idempotencyKey: key,
            pan: normalizeCardNumber(cmd.card.number) ?? '',
            expMonth: card.expMonth,
            expYear: card.expYear,
            amount: money,
          },
          card.decision,
          ctx.signal,
        )
      : card.decision;
    const outcome = await this.command(key, 'authorize', fingerprint, async (tx) => {
      const live = await tx.lockLivePayment(orderId);
      if (live) {
        throw new ShopError('SHOP_ALREADY_EXISTS', `Order ${orderId} already has a ${live.status} payment`, {
          orderId,
          paymentId: live.id,
          status: live.status,
        });
      }
      const declined = decision.outcome === 'declined' ? decision : undefined;
      const started: PaymentEventData = declined
        ? { type: 'PaymentDeclined', orderId, ...money, cardLast4: card.last4, reason: declined.reason ?? null }
        : { type: 'PaymentAuthorized', orderId, ...money, cardLast4: card.last4 };
      const { state: payment } = await tx.append(randomUUID(), 0, undefined, started);
      if (!declined) {
        await tx.writeEvents([paymentEvent('authorized', payment, money, { cardLast4: card.last4 })]);
        return { payment: viewOf(payment) };
      }
      await tx.writeEvents([paymentEvent('declined', payment, money, { reason: declined.reason })]);
      return {
        payment: viewOf(payment),
        error: {
          code: declined.code,
          message:
            declined.code === 'SHOP_INSUFFICIENT_FUNDS' ? 'The card has insufficient funds' : 'The card was declined',
          details: { paymentId: payment.id, orderId, reason: declined.reason },
        },
      };
    });
    return answer(outcome);
  }

  async capture(cmd: { idempotencyKey: string; paymentId: string }, ctx: CommandContext = {}): Promise<PaymentView> {
    const key = required(cmd.idempotencyKey, 'idempotencyKey', MAX_KEY_LENGTH);
    const paymentId = checkPaymentId(cmd.paymentId);
    const fingerprint = fingerprintOf(['capture', paymentId]);
    const replay = await this.replay(key, 'capture', fingerprint);
    if (replay) return answer(replay);

    await this.processorLatency(ctx);
    return answer(
      await this.command(key, 'capture', fingerprint, async (tx) => {
        const { state: p, version } = await this.loaded(tx, paymentId);
        if (planCapture(p) === 'already-captured') return { payment: viewOf(p) };
        const money = { amount: p.amount, currency: p.currency };
        const { state: captured } = await tx.append(p.id, version, p, { type: 'PaymentCaptured', ...money });
        await tx.writeEvents([paymentEvent('captured', captured, money, {})]);
        return { payment: viewOf(captured) };
      }),
    );
  }

  async void(cmd: { idempotencyKey: string; paymentId: string }): Promise<PaymentView> {
    const key = required(cmd.idempotencyKey, 'idempotencyKey', MAX_KEY_LENGTH);
    const paymentId = checkPaymentId(cmd.paymentId);
    const fingerprint = fingerprintOf(['void', paymentId]);
    const replay = await this.replay(key, 'void', fingerprint);
    if (replay) return answer(replay);

    return answer(
      await this.command(key, 'void', fingerprint, async (tx) => {
        const { state: p, version } = await this.loaded(tx, paymentId);
        if (planVoid(p) === 'nothing-to-void') return { payment: viewOf(p) };
        const money = { amount: p.amount, currency: p.currency };
        const { state: voided } = await tx.append(p.id, version, p, { type: 'PaymentVoided', ...money });
        await tx.writeEvents([paymentEvent('voided', voided, money, {})]);
        return { payment: viewOf(voided) };
      }),
    );
  }

  async refund(cmd: { idempotencyKey: string; paymentId: string; amount: Money | undefined }): Promise<PaymentView> {
    const key = required(cmd.idempotencyKey, 'idempotencyKey', MAX_KEY_LENGTH);
    const paymentId = checkPaymentId(cmd.paymentId);
    const money = checkMoney(cmd.amount, 'amount');
    const fingerprint = fingerprintOf(['refund', paymentId, money]);
    const replay = await this.replay(key, 'refund', fingerprint);
    if (replay) return answer(replay);

    return answer(
      await this.command(key, 'refund', fingerprint, async (tx) => {
        const { state: p, version } = await this.loaded(tx, paymentId);
        planRefund(p, money);
        const { state: refunded } = await tx.append(p.id, version, p, { type: 'PaymentRefunded', ...money });
        await tx.writeEvents([paymentEvent('refunded', refunded, money, {})]);
        return { payment: viewOf(refunded) };
      }),
    );
  }

  /** By payment id, or by order id (the order's live payment, else its latest attempt). */
  async get(query: { paymentId: string; orderId: string }): Promise<PaymentView> {
    if (query.paymentId.trim()) {
      const id = checkPaymentId(query.paymentId);
      const p = await this.store.findPayment(id);
      if (!p) throw notFound(id);
      return viewOf(p);
    }
    if (!query.orderId.trim()) {
      throw new ShopError('SHOP_VALIDATION_FAILED', 'Give a paymentId or an orderId', { field: 'paymentId' });
    }
    const orderId = required(query.orderId, 'orderId');
    const p = await this.store.findPaymentForOrder(orderId);
    if (!p) throw new ShopError('SHOP_NOT_FOUND', `No payment for order ${orderId}`, { orderId });
    return viewOf(p);
  }

  summary() {
    return this.store.summary();
  }

  /** A payment's events up to `at` (all without it) and its state then (null: it did not exist yet). */
  async streamAt(paymentIdInput: string, at?: Date) {
    const paymentId = checkPaymentId(paymentIdInput);
    const events = await this.store.stream(paymentId, at);
    if (events.length === 0 && !at) throw notFound(paymentId);
    const aggregate = replay(
      paymentId,
      undefined,
      events.map((e) => ({
        version: e.version,
        data: { ...e.data, type: e.type } as PaymentEventData,
        recordedAt: e.recordedAt,
      })),
    );
    return {
      paymentId,
      at: at ?? null,
      version: aggregate?.version ?? 0,
      payment: aggregate ? viewOf(aggregate.state) : null,
      events,
    };
  }

  balanceAt(at: Date) {
    return this.store.balanceAt(at);
  }

  rebuild() {
    return this.store.rebuild();
  }

  projections() {
    return this.store.projections();
  }

  dropProjections() {
    return this.store.dropProjections();
  }

  private async replay(key: string, operation: string, fingerprint: string): Promise<CommandOutcome | undefined> {
    const stored = await this.store.findKey(key);
    if (!stored) return undefined;
    return this.checkedOutcome(stored.operation, stored.fingerprint, stored.outcome, key, operation, fingerprint);
  }

  private checkedOutcome(
    storedOperation: string,
    storedFingerprint: string,
    outcome: CommandOutcome | null,
    key: string,
    operation: string,
    fingerprint: string,
  ): CommandOutcome {
    if (storedOperation !== operation || storedFingerprint !== fingerprint || !outcome) {
      throw new ShopError(
        'SHOP_IDEMPOTENCY_KEY_REUSED',
        `The idempotency key ${key} was already used for a different ${storedOperation} request`,
        { idempotencyKey: key },
      );
    }
    return outcome;
  }

  /**
   * Runs one command in a transaction under its idempotency key; a version conflict rolls it back
   * and runs it again (it re-reads the stream), up to `appendRetries` times.
   */
  private async command(
    key: string,
    operation: string,
    fingerprint: string,
    work: (tx: PaymentTx) => Promise<CommandOutcome>,
  ): Promise<CommandOutcome> {
    const retries = this.options.appendRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.transaction(async (tx) => {
          const claim = await tx.claimKey(key, operation, fingerprint);
          // A concurrent twin committed first: answer with its outcome.
          if (claim !== 'claimed') {
            return this.checkedOutcome(claim.operation, claim.fingerprint, claim.outcome, key, operation, fingerprint);
          }
          const outcome = await work(tx);
          await tx.saveOutcome(key, outcome);
          return outcome;
        });
      } catch (err) {
        if (!(err instanceof StreamConflict)) throw err;
        this.appendConflicts++;
        if (attempt >= retries) {
          throw new ShopError(
            'SHOP_CONFLICT',
            `Payment ${err.streamId} kept changing under the command (${attempt + 1} version conflicts); retry`,
            { paymentId: err.streamId },
          );
        }
      }
    }
  }

  /** The payment from its event stream. */
  private async loaded(tx: PaymentTx, paymentId: string): Promise<PaymentAggregate> {
    const p = await tx.loadPayment(paymentId);
    if (!p) throw notFound(paymentId);
    return p;
  }

  private async processorLatency(ctx: CommandContext): Promise<void> {
    if (this.options.latencyMs > 0) await this.sleep(this.options.latencyMs, ctx.signal);
    if (ctx.signal?.aborted) {
      throw new ShopError('SHOP_TIMEOUT', 'The caller gave up before the processor answered; nothing was done');
    }
  }
}
