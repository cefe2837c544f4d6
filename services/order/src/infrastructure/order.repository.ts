// Orders in PostgreSQL through Prisma. `create` is the checkout transaction: order, lines,
// saga row, idempotency record, sealed card and outbox event commit together or not at all.
// An order's timeline is its saga steps and its recorded payment events, merged in time order.
import { writeOutbox } from '@shoplab/chassis';
import {
  type AuditedOrder,
  type CheckoutRecord,
  DuplicateCheckoutError,
  type NewOrder,
  type OrderRepository,
  type OrderSummary,
} from '../application/ports';
import type { OrderCursor } from '../domain/cursor';
import { money } from '../domain/money';
import {
  EVENT_RECEIVED,
  FIRST_SAGA_STEP,
  mergeTimeline,
  ORDER_STATUSES,
  type OrderView,
  type ShippingAddress,
} from '../domain/order';
import { Prisma, type PrismaClient } from '../generated/prisma/client';

const orderInclude = {
  lines: { orderBy: { lineNo: 'asc' } },
  steps: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] },
  paymentEvents: { orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }] },
} satisfies Prisma.OrderInclude;

type OrderRow = Prisma.OrderGetPayload<{ include: typeof orderInclude }>;

export class PrismaOrderRepository implements OrderRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async findCheckout(userId: string, idempotencyKey: string): Promise<CheckoutRecord | undefined> {
    const row = await this.prisma.idempotencyKey.findUnique({
      where: { userId_idempotencyKey: { userId, idempotencyKey } },
      select: { orderId: true, requestHash: true, order: { select: { status: true } } },
    });
    return row ? { orderId: row.orderId, requestHash: row.requestHash, status: row.order.status } : undefined;
  }

  async create(order: NewOrder): Promise<void> {
    const { currency } = order.total;
    try {
      await this.prisma.$transaction(async (tx) => {
        await tx.order.create({
          data: {
            id: order.id,
            userId: order.userId,
            status: 'PENDING',
            currency,
            totalAmount: BigInt(order.total.amount),
            ...(order.shippingAddress ? { shippingAddress: order.shippingAddress } : {}),
            cartVersion: BigInt(order.cartVersion),
            createdAt: order.createdAt,
            updatedAt: order.createdAt,
            lines: {
              create: order.lines.map((line, i) => ({
                lineNo: i + 1,
                productId: line.productId,
                name: line.name,
                quantity: line.quantity,
                unitPriceAmount: BigInt(line.unitPrice.amount),
                lineTotalAmount: BigInt(line.lineTotal.amount),
              })),
            },
            saga: {
              create: {
                state: 'STARTED',
                currentStep: FIRST_SAGA_STEP,
                attempts: 0,
                nextAttemptAt: order.saga.nextAttemptAt,
                deadlineAt: order.saga.deadlineAt,
                ...(order.saga.traceContext ? { traceContext: order.saga.traceContext } : {}),
              },
            },
          },
        });
        // The primary key (user_id, idempotency_key) makes a concurrent duplicate wait here
        // until this transaction ends, then fail with a unique violation.
        await tx.idempotencyKey.create({
          data: {
            userId: order.userId,
            idempotencyKey: order.idempotency.key,
            requestHash: order.idempotency.requestHash,
            orderId: order.id,
          },
        });
        await tx.sagaPaymentInstruction.create({
          data: {
            orderId: order.id,
            keyId: order.card.keyId,
            iv: new Uint8Array(order.card.iv),
            ciphertext: new Uint8Array(order.card.ciphertext),
            authTag: new Uint8Array(order.card.authTag),
          },
        });
        await writeOutbox(tx, order.event);
      });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
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
