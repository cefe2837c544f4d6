// The order service's consumers in a choreographed checkout (domain/choreography.ts): the
// catalog's stock events and the payment service's events about choreographed orders, each
// applied in ONE transaction with its processed_events row (the chassis' Prisma consumer:
// retries, then `<topic>.dlq`). The order row is locked (FOR UPDATE) for the reaction, so two
// events about one order (they come on two topics) are applied one after the other.
//
// What the reactions write is what the saga writes: the order's status and cancel reason, its
// payment id, the sealed card deleted, the end event in the outbox, and rows on the order's
// timeline (saga_steps) — here the catalog's events as they arrived and the order's own
// reactions, where the saga has its steps.
import { trace } from '@opentelemetry/api';
import {
  createPrismaConsumer,
  type DomainEvent,
  type EventConsumer,
  type Intake,
  type Logger,
  type PrismaConsumerWiring,
  writeOutbox,
} from '@shoplab/chassis';
import { orderCancelledEvent, orderConfirmedEvent } from '../application/order-end-events';
import type { CardVault, Payments } from '../application/ports';
import { isCheckoutMode } from '../domain/checkout-mode';
import {
  CAPTURE_HEARD,
  choreographyKey,
  type OrderFacts,
  orderIdOf,
  orderReaction,
  PAYMENT_CAPTURED,
  STOCK_COMMITTED,
} from '../domain/choreography';
import { money } from '../domain/money';
import type { OrderStatus } from '../domain/order';
import { classifyFailure, describeFailure, refusalReason } from '../domain/saga';
import type { Prisma, PrismaClient } from '../generated/prisma/client';

export const CHOREOGRAPHY_CATALOG_GROUP = 'order-choreography-catalog';
export const CHOREOGRAPHY_PAYMENT_GROUP = 'order-choreography-payment';

/** A refusal of Authorize that payment records as an event (shop.payment.declined.v1): the catalog releases on it. */
const DECLINE_CODES: ReadonlySet<string> = new Set(['SHOP_PAYMENT_DECLINED', 'SHOP_INSUFFICIENT_FUNDS']);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ChoreographyDeps {
  payments: Payments;
  vault: CardVault;
  /** Budget of the Authorize call. */
  paymentDeadlineMs: number;
  /** Record the event itself on the order's timeline (the catalog's events; payment's are recorded by the payment-events consumer). */
  recordEvents: boolean;
  clock?: () => Date;
}

export type ChoreographyConsumerOptions = PrismaConsumerWiring<PrismaClient> & { deps: ChoreographyDeps };

export function createChoreographyConsumer(options: ChoreographyConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'choreography' });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...options,
    groupId: options.groupId ?? CHOREOGRAPHY_CATALOG_GROUP,
    // Only events after the group first joined: choreographed orders began with it, and the shop's
    // earlier history holds none (a new group reading all of it would only skip).
    fromBeginning: false,
    handler: async (event, tx) => {
      const outcome = await reactToEvent(event, tx, options.deps, log);
      log[outcome === 'ignored' ? 'debug' : 'info']({ eventId: event.id, type: event.type, outcome }, 'choreography');
    },
  });
}

interface OrderRow {
  status: OrderStatus;
  checkout_mode: string;
  user_id: string;
  currency: string;
  total_amount: bigint;
  cart_version: bigint;
  payment_id?: string | null;
}

/** Applies the order's reaction to one event; what it did. */
export async function reactToEvent(
  event: DomainEvent,
  tx: Prisma.TransactionClient,
  deps: ChoreographyDeps,
  log: Logger,
): Promise<'ignored' | 'recorded' | 'authorized' | 'refused' | 'confirmed' | 'cancelled'> {
  const orderId = orderIdOf(event);
  if (!orderId || !UUID.test(orderId)) return 'ignored';
  const rows = await tx.$queryRawUnsafe<OrderRow[]>(
    `SELECT status::text AS status, checkout_mode, user_id, currency, total_amount, cart_version, payment_id
       FROM orders WHERE id = $1::uuid FOR UPDATE`,
    orderId,
  );
  const row = rows[0];
  if (!row || !isCheckoutMode(row.checkout_mode) || row.checkout_mode !== 'choreographed') return 'ignored';
  // As the saga's spans carry it: `shopctl trace <orderId>` finds the checkout's chain of consumer spans.
  trace.getActiveSpan()?.setAttribute('order.id', orderId);
  const now = deps.clock?.() ?? new Date();
  const timeline = new Timeline(tx, orderId, now);
  if (deps.recordEvents) await timeline.event(event);
  // What the order has heard of the two events that end it, stock_committed and payment.captured
  // (on two topics, so in either order): the second one heard confirms.
  const heard = await tx.$queryRawUnsafe<{ step: string }[]>(
    'SELECT step FROM saga_steps WHERE order_id = $1::uuid AND step IN ($2, $3)',
    orderId,
    STOCK_COMMITTED,
    CAPTURE_HEARD,
  );
  const facts: OrderFacts = {
    checkoutMode: row.checkout_mode,
    status: row.status,
    stockCommitted: heard.some((h) => h.step === STOCK_COMMITTED),
    // The payment id the authorization recorded on the order (the one payment captures).
    ...(row.payment_id && heard.some((h) => h.step === CAPTURE_HEARD) ? { capturedPaymentId: row.payment_id } : {}),
  };

  const reaction = orderReaction(event, facts);
  switch (reaction.kind) {
    case 'ignore':
      return deps.recordEvents ? 'recorded' : 'ignored';
    case 'authorize':
      return authorize(tx, orderId, row, deps, timeline, log);
    case 'confirm':
      await end(tx, orderId, row, { status: 'CONFIRMED', paymentId: reaction.paymentId }, timeline);
      return 'confirmed';
    case 'await_commit':
      await timeline.insert(CAPTURE_HEARD, 'RECEIVED', new Date(event.time), undefined);
      return 'recorded';
    case 'cancel':
      await end(tx, orderId, row, { status: 'CANCELLED', reason: reaction.reason }, timeline);
      return 'cancelled';
  }
}

/** The stock is held: open the card, hand it to payment once (its idempotency key), forget it. */
async function authorize(
  tx: Prisma.TransactionClient,
  orderId: string,
  row: OrderRow,
  deps: ChoreographyDeps,
  timeline: Timeline,
  log: Logger,
): Promise<'authorized' | 'refused' | 'cancelled' | 'ignored'> {
  const sealed = await tx.$queryRawUnsafe<{ key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }[]>(
    'SELECT key_id, iv, ciphertext, auth_tag FROM saga_payment_instructions WHERE order_id = $1::uuid',
    orderId,
  );
  const card = sealed[0];
  // Handed over already (a redelivered stock_reserved): payment's events carry the rest.
  if (!card) return 'ignored';
  const total = money(Number(row.total_amount), row.currency);
  const step = 'authorize_payment';
  try {
    const opened = deps.vault.open(orderId, {
      keyId: card.key_id,
      iv: card.iv,
      ciphertext: card.ciphertext,
      authTag: card.auth_tag,
    });
    const payment = await deps.payments.authorize(orderId, total, opened, {
      deadlineMs: deps.paymentDeadlineMs,
      idempotencyKey: choreographyKey(orderId, step),
    });
    await tx.$executeRawUnsafe(
      'UPDATE orders SET payment_id = $2, updated_at = now() WHERE id = $1::uuid',
      orderId,
      payment.id,
    );
    await forgetCard(tx, orderId);
    await timeline.reaction(step, 'SUCCEEDED');
    return 'authorized';
  } catch (err) {
    // Anything but a refusal (payment down, a deadline): the event is tried again (the consumer's retries).
    if (classifyFailure(err) !== 'refused') throw err;
    const failure = describeFailure(err);
    await forgetCard(tx, orderId);
    await timeline.reaction(step, 'REFUSED', failure);
    if (DECLINE_CODES.has(failure.code)) return 'refused'; // payment.declined → catalog releases → stock_released
    // A refusal payment records no event for: nobody else will react, so the order ends it (the
    // catalog releases on order.cancelled).
    log.warn({ orderId, code: failure.code }, 'authorization refused without a payment event; cancelling');
    await end(tx, orderId, row, { status: 'CANCELLED', reason: refusalReason(step, err) }, timeline);
    return 'cancelled';
  }
}

/** The cancel reason of a choreographed order that did not end within CHOREOGRAPHY_DEADLINE_MS. */
export const DEADLINE_REASON = 'choreography_deadline_exceeded';

/**
 * The choreography's deadline: choreographed orders still PENDING `deadlineMs` after they were
 * placed — an event of theirs dead-lettered, or a participant that never answered — are cancelled
 * as a refused step cancels them: status, reason, the card forgotten and shop.order.cancelled.v1
 * in the outbox, on which the catalog releases what the choreography holds. Up to `limit` orders
 * per call, each in its own transaction; an order a consumer is reacting to right now is skipped
 * (SKIP LOCKED) and found by the next sweep if it is still PENDING. Returns the ids cancelled.
 *
 * Not an order whose stock was committed or whose payment was captured (the order heard it): the
 * catalog undoes only what a choreography holds, and payment voids nothing on order.cancelled, so
 * cancelling it would leave units sold and money taken for a cancelled order. Such an order
 * stays PENDING, and the audit's invariant 1 names it (`shopctl dlq redrive` finishes it).
 */
export async function cancelOverdueChoreographies(
  prisma: PrismaClient,
  options: { deadlineMs: number; limit?: number; clock?: () => Date },
): Promise<string[]> {
  const now = options.clock?.() ?? new Date();
  const before = new Date(now.getTime() - options.deadlineMs);
  const cancelled: string[] = [];
  for (let i = 0; i < (options.limit ?? 50); i++) {
    const id = await prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRawUnsafe<(OrderRow & { id: string })[]>(
        `SELECT id::text AS id, status::text AS status, checkout_mode, user_id, currency, total_amount, cart_version
           FROM orders
          WHERE status = 'PENDING' AND checkout_mode = 'choreographed' AND created_at < $1
            AND NOT EXISTS (SELECT 1 FROM saga_steps s WHERE s.order_id = orders.id AND s.step IN ($2, $4))
            AND NOT EXISTS (SELECT 1 FROM payment_events p WHERE p.order_id = orders.id AND p.type = $3)
          ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
        before,
        STOCK_COMMITTED,
        PAYMENT_CAPTURED,
        CAPTURE_HEARD,
      );
      const row = rows[0];
      if (!row) return undefined;
      const timeline = new Timeline(tx, row.id, now);
      await timeline.reaction('deadline', 'REFUSED', {
        code: 'DEADLINE_EXCEEDED',
        message: `not ended ${options.deadlineMs} ms after it was placed`,
      });
      await end(tx, row.id, row, { status: 'CANCELLED', reason: DEADLINE_REASON }, timeline);
      return row.id;
    });
    if (!id) break;
    cancelled.push(id);
  }
  return cancelled;
}

/** Runs cancelOverdueChoreographies every `intervalMs` (main.ts: an intake of the service). */
export function choreographyDeadlineIntake(options: {
  prisma: PrismaClient;
  logger: Logger;
  deadlineMs: number;
  intervalMs: number;
}): Intake {
  const log = options.logger.child({ component: 'choreography-deadline' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const sweep = async () => {
    try {
      const ids = await cancelOverdueChoreographies(options.prisma, { deadlineMs: options.deadlineMs });
      for (const orderId of ids)
        log.warn({ orderId, deadlineMs: options.deadlineMs }, 'choreographed order cancelled at its deadline');
    } catch (err) {
      log.warn({ err }, 'choreography deadline sweep failed; next sweep retries');
    }
  };
  return {
    name: 'choreography-deadline',
    start: () => {
      timer = setInterval(() => {
        running = running.then(sweep);
      }, options.intervalMs);
      timer.unref();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

type Ending = { status: 'CONFIRMED'; paymentId: string } | { status: 'CANCELLED'; reason: string };

/** The order ends: status, reason or payment id, the card gone, the end event in the outbox. */
async function end(
  tx: Prisma.TransactionClient,
  orderId: string,
  row: OrderRow,
  ending: Ending,
  timeline: Timeline,
): Promise<void> {
  const lines = await tx.$queryRawUnsafe<
    { product_id: string; name: string; quantity: number; unit_price_amount: bigint; line_total_amount: bigint }[]
  >(
    `SELECT product_id, name, quantity, unit_price_amount, line_total_amount
       FROM order_lines WHERE order_id = $1::uuid ORDER BY line_no`,
    orderId,
  );
  const paymentId = ending.status === 'CONFIRMED' ? ending.paymentId : undefined;
  const facts = {
    orderId,
    userId: row.user_id,
    lines: lines.map((l) => ({
      productId: l.product_id,
      name: l.name,
      quantity: l.quantity,
      unitPrice: money(Number(l.unit_price_amount), row.currency),
      lineTotal: money(Number(l.line_total_amount), row.currency),
    })),
    total: money(Number(row.total_amount), row.currency),
    cartVersion: Number(row.cart_version),
    ...(paymentId ? { paymentId } : {}),
  };
  const event =
    ending.status === 'CONFIRMED'
      ? orderConfirmedEvent(facts, timeline.now)
      : orderCancelledEvent(facts, ending.reason, timeline.now);
  await tx.$executeRawUnsafe(
    `UPDATE orders SET status = $2::"OrderStatus", cancel_reason = $3, payment_id = COALESCE($4, payment_id), updated_at = $5
      WHERE id = $1::uuid AND status = 'PENDING'`,
    orderId,
    ending.status,
    ending.status === 'CANCELLED' ? ending.reason : null,
    paymentId ?? null,
    timeline.now,
  );
  await forgetCard(tx, orderId);
  await writeOutbox(tx, event);
  await timeline.reaction(ending.status === 'CONFIRMED' ? 'confirm' : 'cancel', 'SUCCEEDED');
}

async function forgetCard(tx: Prisma.TransactionClient, orderId: string): Promise<void> {
  await tx.$executeRawUnsafe('DELETE FROM saga_payment_instructions WHERE order_id = $1::uuid', orderId);
}

/** Rows on the order's timeline: an event as it arrived, or one of the order's reactions. */
class Timeline {
  constructor(
    private readonly tx: Prisma.TransactionClient,
    private readonly orderId: string,
    readonly now: Date,
  ) {}

  /** The event, at the time its producer wrote it (startedAt) and when it arrived here (finishedAt). */
  event(event: DomainEvent): Promise<void> {
    return this.insert(event.type, 'RECEIVED', new Date(event.time), undefined);
  }

  reaction(step: string, outcome: 'SUCCEEDED' | 'REFUSED', error?: { code: string; message: string }): Promise<void> {
    return this.insert(`choreography:${step}`, outcome, this.now, error);
  }

  async insert(
    step: string,
    outcome: string,
    startedAt: Date,
    error: { code: string; message: string } | undefined,
  ): Promise<void> {
    const traceId = trace.getActiveSpan()?.spanContext().traceId ?? null;
    await this.tx.$executeRawUnsafe(
      `INSERT INTO saga_steps (order_id, step, attempt, outcome, error_code, error, trace_id, started_at, finished_at)
       VALUES ($1::uuid, $2, 1, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (order_id, step, attempt) DO NOTHING`,
      this.orderId,
      step,
      outcome,
      error?.code ?? null,
      error?.message ?? null,
      traceId,
      startedAt,
      this.now,
    );
  }
}
