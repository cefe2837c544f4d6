// The checkout saga's state in PostgreSQL: claiming due sagas (FOR UPDATE SKIP LOCKED + a
// lease), and the two writes around every attempt. Each write checks and bumps
// saga_instances.version (optimistic lock), so a runner that lost its saga changes nothing.
//
// Plain SQL on the pg pool under the service's Prisma client (pgPoolOf), not Prisma's query
// builder: these are the saga's hot path — a checkout makes a dozen of them — and each is ONE
// statement (data-modifying CTEs) where Prisma sent a transaction of three to six. Prisma still
// owns the schema and its migrations (ADR 31).
import { pgTransactionRunner, processClock, writeOutbox } from '@shoplab/chassis';
import type pg from 'pg';
import type {
  AttemptEnd,
  SagaEnd,
  SagaProgress,
  SagaSnapshot,
  SagaStore,
  SealedCard,
  StepEffects,
} from '../application/ports';
import { isCheckoutMode } from '../domain/checkout-mode';
import { money } from '../domain/money';
import type { ShippingAddress } from '../domain/order';
import { type CompensationName, isCompensation, type SagaState } from '../domain/saga';

/** A claimed saga with what its steps need of the order, as CLAIM_SQL returns it. */
interface SagaRow {
  order_id: string;
  state: SagaState;
  current_step: number;
  attempts: number;
  deadline_at: Date;
  version: number;
  compensations: string[] | null;
  failure_reason: string | null;
  trace_context: Record<string, string> | null;
  user_id: string;
  currency: string;
  total_amount: string;
  cart_version: string;
  shipping_address: ShippingAddress | null;
  payment_id: string | null;
  checkout_mode: string;
  created_at: Date;
  lines: {
    productId: string;
    name: string;
    quantity: number;
    unitPriceAmount: number | string;
    lineTotalAmount: number | string;
  }[];
}

// One statement: the rows are locked while they are picked (SKIP LOCKED leaves the ones a
// concurrent claim holds) and leased before the lock is released, so no two runners get one;
// the same statement reads the orders and their lines.
const CLAIM_SQL = `
WITH due AS (
  SELECT order_id
    FROM saga_instances
   WHERE state IN ('STARTED', 'RUNNING', 'COMPENSATING')
     AND next_attempt_at <= $1
   ORDER BY next_attempt_at
   LIMIT $3
     FOR UPDATE SKIP LOCKED
), claimed AS (
  UPDATE saga_instances s
     SET next_attempt_at = $2, version = s.version + 1, updated_at = $1
    FROM due
   WHERE s.order_id = due.order_id
RETURNING s.*
)
SELECT c.order_id, c.state, c.current_step, c.attempts, c.deadline_at, c.version, c.compensations,
       c.failure_reason, c.trace_context, o.user_id, o.currency, o.total_amount, o.cart_version,
       o.shipping_address, o.payment_id, o.checkout_mode, o.created_at,
       COALESCE((SELECT json_agg(json_build_object(
                          'productId', l.product_id, 'name', l.name, 'quantity', l.quantity,
                          'unitPriceAmount', l.unit_price_amount, 'lineTotalAmount', l.line_total_amount)
                        ORDER BY l.line_no)
                   FROM order_lines l
                  WHERE l.order_id = c.order_id), '[]') AS lines
  FROM claimed c
  JOIN orders o ON o.id = c.order_id
 ORDER BY o.created_at`;

// Before the command: bump the version (if it is still ours), mark a STARTED attempt of a runner
// that stopped or died INTERRUPTED, and add this attempt's STARTED row — nothing if the version moved.
// (The statement's CTEs all see the rows as they were before it: the new row is not interrupted.)
const BEGIN_SQL = `
WITH saga AS (
  UPDATE saga_instances
     SET state = CASE WHEN state = 'STARTED' THEN 'RUNNING'::"SagaState" ELSE state END,
         attempts = $3, deadline_at = $4, next_attempt_at = $5,
         trace_context = COALESCE($6::jsonb, trace_context),
         version = version + 1, updated_at = $7
   WHERE order_id = $1 AND version = $2
RETURNING order_id
), interrupted AS (
  UPDATE saga_steps SET outcome = 'INTERRUPTED', finished_at = $7
   WHERE order_id IN (SELECT order_id FROM saga) AND outcome = 'STARTED'
)
INSERT INTO saga_steps (order_id, step, attempt, outcome, trace_id, started_at, lamport, hlc)
SELECT order_id, $8::text, $3::int, 'STARTED', $9::text, $7::timestamptz, $10::bigint, $11::text FROM saga
RETURNING id`;

// After the command: the saga's progress (if the version is still ours), the attempt's end, and
// what the step changed on the order; the card goes when it is authorized or the saga ends.
// The order row is updated here, before the end event's outbox row: per-order event order.
const FINISH_SQL = `
WITH saga AS (
  UPDATE saga_instances
     SET state = $3::text::"SagaState", current_step = $4, attempts = $5, next_attempt_at = $6, deadline_at = $7,
         compensations = $8::text[], failure_reason = $9::text, version = version + 1, updated_at = $10
   WHERE order_id = $1 AND version = $2
RETURNING order_id
), attempt AS (
  UPDATE saga_steps SET outcome = $12::text, error_code = $13::text, error = $14::text, finished_at = $10
   WHERE id = $11::bigint AND order_id IN (SELECT order_id FROM saga)
), ord AS (
  UPDATE orders
     SET payment_id = COALESCE($15::text, payment_id),
         shipping_address = COALESCE($16::jsonb, shipping_address),
         status = COALESCE($17::text::"OrderStatus", status),
         cancel_reason = CASE WHEN $17::text IS NULL THEN cancel_reason ELSE $18::text END,
         updated_at = $10
   WHERE id IN (SELECT order_id FROM saga) AND ($15::text IS NOT NULL OR $16::jsonb IS NOT NULL OR $17::text IS NOT NULL)
), card AS (
  DELETE FROM saga_payment_instructions
   WHERE order_id IN (SELECT order_id FROM saga) AND $19::boolean
)
SELECT count(*)::int AS n FROM saga`;

export class PgSagaRepository implements SagaStore {
  private readonly transaction: ReturnType<typeof pgTransactionRunner>;

  constructor(private readonly pool: pg.Pool) {
    this.transaction = pgTransactionRunner(pool);
  }

  async claimDue(limit: number, now: Date, leaseUntil: Date): Promise<SagaSnapshot[]> {
    const { rows } = await this.pool.query<SagaRow>(CLAIM_SQL, [now, leaseUntil, limit]);
    return rows.map(toSnapshot);
  }

  async beginAttempt(
    saga: SagaSnapshot,
    attempt: {
      step: string;
      number: number;
      traceId?: string;
      traceContext?: Record<string, string>;
      startedAt: Date;
      deadlineAt: Date;
      leaseUntil: Date;
    },
  ): Promise<{ rowId: bigint; version: number; traceContext?: Record<string, string> } | undefined> {
    const traceContext = attempt.traceContext && !saga.traceContext ? attempt.traceContext : undefined;
    // A local event of the order service: its clocks order the attempt among the events it
    // causes (the gRPC call that follows ticks again) and those it has received.
    const clocks = processClock.tick();
    const { rows } = await this.pool.query<{ id: string }>(BEGIN_SQL, [
      saga.orderId,
      saga.version,
      attempt.number,
      attempt.deadlineAt,
      attempt.leaseUntil,
      traceContext ? JSON.stringify(traceContext) : null,
      attempt.startedAt,
      attempt.step,
      attempt.traceId ?? null,
      String(clocks.lamport),
      clocks.hlc,
    ]);
    const row = rows[0];
    if (!row) return undefined;
    return { rowId: BigInt(row.id), version: saga.version + 1, ...(traceContext ? { traceContext } : {}) };
  }

  async finishAttempt(
    saga: SagaSnapshot,
    change: { attempt?: AttemptEnd; progress: SagaProgress; effects?: StepEffects; end?: SagaEnd },
  ): Promise<number | undefined> {
    const { attempt, progress, effects = {}, end } = change;
    const values = [
      saga.orderId,
      saga.version,
      progress.state,
      progress.currentStep,
      progress.attempts,
      progress.nextAttemptAt,
      progress.deadlineAt,
      progress.compensations,
      progress.failureReason ?? null,
      attempt?.finishedAt ?? new Date(),
      attempt ? String(attempt.rowId) : null,
      attempt?.outcome ?? null,
      attempt?.error?.code ?? null,
      attempt?.error?.message ?? null,
      effects.paymentId ?? null,
      effects.shippingAddress ? JSON.stringify(effects.shippingAddress) : null,
      end?.status ?? null,
      end?.cancelReason ?? null,
      Boolean(effects.deleteCard || end),
    ];
    // Without an end event it is one statement (atomic on its own); with one, the outbox row
    // joins it in one transaction.
    const finish = async (client: pg.Pool | pg.PoolClient): Promise<number | undefined> => {
      const { rows } = await client.query<{ n: number }>(FINISH_SQL, values);
      return rows[0]?.n === 1 ? saga.version + 1 : undefined;
    };
    if (!end) return finish(this.pool);
    return this.transaction(async (tx) => {
      const version = await finish(tx);
      if (version === undefined) return undefined;
      await writeOutbox(tx, end.event);
      return version;
    });
  }

  async release(saga: SagaSnapshot, now: Date): Promise<void> {
    await this.pool.query(
      `UPDATE saga_instances SET next_attempt_at = $3, version = version + 1, updated_at = $3
        WHERE order_id = $1 AND version = $2`,
      [saga.orderId, saga.version, now],
    );
  }

  async sealedCard(orderId: string): Promise<SealedCard | undefined> {
    const { rows } = await this.pool.query<{ key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }>(
      'SELECT key_id, iv, ciphertext, auth_tag FROM saga_payment_instructions WHERE order_id = $1',
      [orderId],
    );
    const row = rows[0];
    return row ? { keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, authTag: row.auth_tag } : undefined;
  }
}

function toSnapshot(row: SagaRow): SagaSnapshot {
  const traceContext = row.trace_context;
  return {
    orderId: row.order_id,
    userId: row.user_id,
    state: row.state,
    currentStep: row.current_step,
    attempts: row.attempts,
    deadlineAt: row.deadline_at,
    version: row.version,
    compensations: (row.compensations ?? []).map((name) => compensationName(row.order_id, name)),
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
    ...(traceContext && Object.keys(traceContext).length > 0 ? { traceContext } : {}),
    lines: row.lines.map((line) => pricedLine(line, row.currency)),
    total: money(Number(row.total_amount), row.currency),
    cartVersion: Number(row.cart_version),
    ...(row.shipping_address ? { shippingAddress: row.shipping_address } : {}),
    ...(row.payment_id ? { paymentId: row.payment_id } : {}),
    ...(isCheckoutMode(row.checkout_mode) ? { checkoutMode: row.checkout_mode } : {}),
    createdAt: row.created_at,
  };
}

function compensationName(orderId: string, name: string): CompensationName {
  // Never skip a compensation silently: a name this version does not know stops the saga loudly.
  if (!isCompensation(name)) throw new Error(`saga of order ${orderId} lists an unknown compensation ${name}`);
  return name;
}

/** An order line as the saga and the end events carry it. */
export function pricedLine(
  line: {
    productId: string;
    name: string;
    quantity: number;
    unitPriceAmount: bigint | number | string;
    lineTotalAmount: bigint | number | string;
  },
  currency: string,
) {
  return {
    productId: line.productId,
    name: line.name,
    quantity: line.quantity,
    unitPrice: money(Number(line.unitPriceAmount), currency),
    lineTotal: money(Number(line.lineTotalAmount), currency),
  };
}
