// Orders in PostgreSQL. `create` is the checkout transaction: order, lines,
// saga row, idempotency record, sealed card and outbox event commit together or not at all.
// An order's timeline is its saga steps and its recorded payment events, merged in time order.
import { pgPoolOf, pgTransactionRunner, writeOutbox } from '@shoplab/chassis';
import type pg from 'pg';
import {
  type AuditedOrder,
  type CheckoutRecord,
  DuplicateCheckoutError,
  type NewOrder,
  type OrderRepository,
  type OrderSummary,
} from '../application/ports';
import { DEFAULT_CHECKOUT_MODE, isCheckoutMode } from '../domain/checkout-mode';
import type { OrderCursor } from '../domain/cursor';
import { money } from '../domain/money';
import {
  EVENT_RECEIVED,
  FIRST_SAGA_STEP,
  mergeTimeline,
  ORDER_STATUSES,
  type OrderStatus,
  type OrderView,
  type ShippingAddress,
} from '../domain/order';
import type { Prisma, PrismaClient } from '../generated/prisma/client';

const orderInclude = {
  lines: { orderBy: { lineNo: 'asc' } },
  steps: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] },
  paymentEvents: { orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }] },
} satisfies Prisma.OrderInclude;

type OrderRow = Prisma.OrderGetPayload<{ include: typeof orderInclude }>;

const UNIQUE_VIOLATION = '23505';

// The checkout's writes as one statement (the lines as parallel arrays, unnested in order).
// Foreign keys are checked at the end of the statement, when the order row is there.
const CREATE_SQL = `
WITH o AS (
  INSERT INTO orders (id, user_id, status, currency, total_amount, shipping_address, cart_version, created_at, updated_at, checkout_mode)
  VALUES ($1, $2, 'PENDING', $3, $4::bigint, $5::jsonb, $6::bigint, $7, $7, $23)
), l AS (
  INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_amount, line_total_amount)
  SELECT $1, line.n, line.product_id, line.name, line.quantity, line.unit_price, line.line_total
    FROM unnest($8::text[], $9::text[], $10::int[], $11::bigint[], $12::bigint[])
           WITH ORDINALITY AS line(product_id, name, quantity, unit_price, line_total, n)
), s AS (
  -- A choreographed order has no saga: the services' reactions to each other's events end it.
  INSERT INTO saga_instances (order_id, state, current_step, attempts, next_attempt_at, deadline_at, trace_context, updated_at)
  SELECT $1, 'STARTED', $13, 0, $14, $15, $16::jsonb, $7 WHERE $23::text <> 'choreographed'
), k AS (
  INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, order_id)
  VALUES ($2, $17, $18, $1)
)
INSERT INTO saga_payment_instructions (order_id, key_id, iv, ciphertext, auth_tag)
VALUES ($1, $19, $20, $21, $22)`;

export class PrismaOrderRepository implements OrderRepository {
  private readonly pool: pg.Pool;
  private readonly transaction: ReturnType<typeof pgTransactionRunner>;

  constructor(private readonly prisma: PrismaClient) {
    // Checkout's reads and writes are plain SQL on Prisma's own pool (ADR 31); the order
    // pages and the audit stay on Prisma.
    this.pool = pgPoolOf(prisma);
    this.transaction = pgTransactionRunner(this.pool);
  }

  async findCheckout(userId: string, idempotencyKey: string): Promise<CheckoutRecord | undefined> {
    const { rows } = await this.pool.query<{ order_id: string; request_hash: string; status: OrderStatus }>(
      `SELECT k.order_id, k.request_hash, o.status
         FROM idempotency_keys k JOIN orders o ON o.id = k.order_id
        WHERE k.user_id = $1 AND k.idempotency_key = $2`,
      [userId, idempotencyKey],
    );
    const row = rows[0];
    return row ? { orderId: row.order_id, requestHash: row.request_hash, status: row.status } : undefined;
  }

  async create(order: NewOrder): Promise<void> {
    const { currency } = order.total;
    const lines = order.lines;
    try {
      await this.transaction(async (tx) => {
        // One statement for the order and everything that belongs to it. The primary key
        // (user_id, idempotency_key) makes a concurrent duplicate wait here until this
        // transaction ends, then fail with a unique violation.
        await tx.query(CREATE_SQL, [
          order.id,
          order.userId,
          currency,
          String(order.total.amount),
          order.shippingAddress ? JSON.stringify(order.shippingAddress) : null,
          String(order.cartVersion),
          order.createdAt,
          lines.map((line) => line.productId),
          lines.map((line) => line.name),
          lines.map((line) => line.quantity),
          lines.map((line) => String(line.unitPrice.amount)),
          lines.map((line) => String(line.lineTotal.amount)),
          FIRST_SAGA_STEP,
          order.saga.nextAttemptAt,
          order.saga.deadlineAt,
          order.saga.traceContext ? JSON.stringify(order.saga.traceContext) : null,
          order.idempotency.key,
          order.idempotency.requestHash,
          order.card.keyId,
          order.card.iv,
          order.card.ciphertext,
          order.card.authTag,
          order.checkoutMode ?? DEFAULT_CHECKOUT_MODE,
        ]);
        await writeOutbox(tx, order.event);
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) {
        throw new DuplicateCheckoutError(`checkout ${order.idempotency.key} of ${order.userId} already exists`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  async get(userId: string, orderId: string): Promise<OrderView | undefined> {
    const row = await this.prisma.order.findFirst({ where: { id: orderId, userId }, include: orderInclude });
    return row ? toView(row) : undefined;
  }

  async list(userId: string, limit: number, after?: OrderCursor) {
    const rows = await this.prisma.order.findMany({
      where: {
        userId,
        ...(after
          ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      include: orderInclude,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      orders: page.map(toView),
      ...(rows.length > limit && last ? { next: { createdAt: last.createdAt, id: last.id } } : {}),
    };
  }

  async summary(): Promise<OrderSummary> {
    const [byStatus, confirmed, held] = await Promise.all([
      this.prisma.order.groupBy({ by: ['status'], _count: { _all: true } }),
      this.prisma.order.groupBy({
        by: ['currency'],
        where: { status: 'CONFIRMED' },
        _sum: { totalAmount: true },
        orderBy: { currency: 'asc' },
      }),
      this.prisma.sagaPaymentInstruction.count(),
    ]);
    const counts = Object.fromEntries(ORDER_STATUSES.map((s) => [s, 0])) as OrderSummary['byStatus'];
    for (const row of byStatus) counts[row.status] = row._count._all;
    return {
      byStatus: counts,
      confirmedTotals: confirmed.map((row) => money(Number(row._sum.totalAmount ?? 0n), row.currency)),
      paymentInstructionsHeld: held,
    };
  }

  async auditList(since?: Date): Promise<AuditedOrder[]> {
    const rows = await this.prisma.order.findMany({
      ...(since ? { where: { createdAt: { gte: since } } } : {}),
      select: { id: true, status: true, currency: true, totalAmount: true, paymentId: true, createdAt: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map((row) => ({
      id: row.id,
      status: row.status,
      total: money(Number(row.totalAmount), row.currency),
      paymentId: row.paymentId,
      createdAt: row.createdAt,
    }));
  }
}

function toView(row: OrderRow): OrderView {
  const currency = row.currency;
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    lines: row.lines.map((line) => ({
      productId: line.productId,
      name: line.name,
      quantity: line.quantity,
      unitPrice: money(Number(line.unitPriceAmount), currency),
      lineTotal: money(Number(line.lineTotalAmount), currency),
    })),
    total: money(Number(row.totalAmount), currency),
    ...(row.shippingAddress ? { shippingAddress: row.shippingAddress as ShippingAddress } : {}),
    ...(row.cancelReason ? { cancelReason: row.cancelReason } : {}),
    ...(row.paymentId ? { paymentId: row.paymentId } : {}),
    checkoutMode: isCheckoutMode(row.checkoutMode) ? row.checkoutMode : DEFAULT_CHECKOUT_MODE,
    timeline: mergeTimeline(
      row.steps.map((step) => ({
        kind: 'step' as const,
        step: step.step,
        attempt: step.attempt,
        outcome: step.outcome,
        ...(step.errorCode ? { errorCode: step.errorCode } : {}),
        ...(step.error ? { error: step.error } : {}),
        ...(step.traceId ? { traceId: step.traceId } : {}),
        startedAt: step.startedAt.toISOString(),
        ...(step.finishedAt ? { finishedAt: step.finishedAt.toISOString() } : {}),
        ...clocksOf(step),
      })),
      row.paymentEvents.map((event) => ({
        kind: 'event' as const,
        step: event.type,
        attempt: 1,
        outcome: EVENT_RECEIVED,
        ...(event.traceId ? { traceId: event.traceId } : {}),
        startedAt: event.occurredAt.toISOString(),
        finishedAt: event.receivedAt.toISOString(),
        ...clocksOf(event),
      })),
    ),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A row's logical clocks, when it has them. */
function clocksOf(row: { lamport: bigint | null; hlc: string | null }): { lamport?: number; hlc?: string } {
  return {
    ...(row.lamport !== null ? { lamport: Number(row.lamport) } : {}),
    ...(row.hlc !== null ? { hlc: row.hlc } : {}),
  };
}
