// The checkout saga's state in PostgreSQL: claiming due sagas (FOR UPDATE SKIP LOCKED + a
// lease), and the two writes around every attempt. Each write checks and bumps
// saga_instances.version (optimistic lock), so a runner that lost its saga changes nothing.
import { processClock, writeOutbox } from '@shoplab/chassis';
import type {
  AttemptEnd,
  SagaEnd,
  SagaProgress,
  SagaSnapshot,
  SagaStore,
  SealedCard,
  StepEffects,
} from '../application/ports';
import { money } from '../domain/money';
import type { ShippingAddress } from '../domain/order';
import { type CompensationName, isCompensation } from '../domain/saga';
import type { Prisma, PrismaClient } from '../generated/prisma/client';

const sagaInclude = {
  order: { include: { lines: { orderBy: { lineNo: 'asc' } } } },
} satisfies Prisma.SagaInstanceInclude;

type SagaRow = Prisma.SagaInstanceGetPayload<{ include: typeof sagaInclude }>;

/**
 * The two writes around an attempt wait up to 10 s for a connection (Prisma's default is 2 s):
 * under a checkout burst the pool is busy with new orders, and a write that gives up leaves its
 * saga leased until the lease lapses — long enough to miss a step deadline on a healthy step.
 */
const ATTEMPT_TX = { maxWait: 10_000, timeout: 15_000 } as const;

export class PrismaSagaRepository implements SagaStore {
  constructor(private readonly prisma: PrismaClient) {}

  async claimDue(limit: number, now: Date, leaseUntil: Date): Promise<SagaSnapshot[]> {
    // One statement: the rows are locked while they are picked (SKIP LOCKED leaves the ones a
    // concurrent claim holds) and leased before the lock is released, so no two runners get one.
    const claimed = await this.prisma.$queryRaw<{ order_id: string; version: number }[]>`
      UPDATE saga_instances s
         SET next_attempt_at = ${leaseUntil}, version = s.version + 1, updated_at = ${now}
        FROM (SELECT order_id
                FROM saga_instances
               WHERE state IN ('STARTED', 'RUNNING', 'COMPENSATING')
                 AND next_attempt_at <= ${now}
               ORDER BY next_attempt_at
               LIMIT ${limit}
                 FOR UPDATE SKIP LOCKED) due
       WHERE s.order_id = due.order_id
   RETURNING s.order_id, s.version`;
    if (claimed.length === 0) return [];
    const rows = await this.prisma.sagaInstance.findMany({
      where: { orderId: { in: claimed.map((c) => c.order_id) } },
      include: sagaInclude,
      orderBy: { nextAttemptAt: 'asc' },
    });
    const versions = new Map(claimed.map((c) => [c.order_id, c.version]));
    // A saga whose version moved again since the claim belongs to someone else by now.
    return rows.filter((row) => versions.get(row.orderId) === row.version).map(toSnapshot);
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
    return this.prisma.$transaction(async (tx) => {
      const updated = await tx.sagaInstance.updateMany({
        where: { orderId: saga.orderId, version: saga.version },
        data: {
          state: saga.state === 'STARTED' ? 'RUNNING' : saga.state,
          attempts: attempt.number,
          deadlineAt: attempt.deadlineAt,
          nextAttemptAt: attempt.leaseUntil,
          ...(attempt.traceContext && !saga.traceContext ? { traceContext: attempt.traceContext } : {}),
          version: { increment: 1 },
        },
      });
      if (updated.count === 0) return undefined;
      // An attempt whose runner stopped or died before recording its end stays visible as such.
      await tx.sagaStep.updateMany({
        where: { orderId: saga.orderId, outcome: 'STARTED' },
        data: { outcome: 'INTERRUPTED', finishedAt: attempt.startedAt },
      });
      // A local event of the order service: its clocks order the attempt among the events it
      // causes (the gRPC call that follows ticks again) and those it has received.
      const clocks = processClock.tick();
      const row = await tx.sagaStep.create({
        data: {
          orderId: saga.orderId,
          step: attempt.step,
          attempt: attempt.number,
          outcome: 'STARTED',
          traceId: attempt.traceId ?? null,
          startedAt: attempt.startedAt,
          lamport: BigInt(clocks.lamport),
          hlc: clocks.hlc,
        },
        select: { id: true },
      });
      return {
        rowId: row.id,
        version: saga.version + 1,
        ...(attempt.traceContext && !saga.traceContext ? { traceContext: attempt.traceContext } : {}),
      };
    }, ATTEMPT_TX);
  }

  async finishAttempt(
    saga: SagaSnapshot,
    change: { attempt?: AttemptEnd; progress: SagaProgress; effects?: StepEffects; end?: SagaEnd },
  ): Promise<number | undefined> {
    const { attempt, progress, effects = {}, end } = change;
    return this.prisma.$transaction(async (tx) => {
      const updated = await tx.sagaInstance.updateMany({
        where: { orderId: saga.orderId, version: saga.version },
        data: {
          state: progress.state,
          currentStep: progress.currentStep,
          attempts: progress.attempts,
          nextAttemptAt: progress.nextAttemptAt,
          deadlineAt: progress.deadlineAt,
          compensations: progress.compensations,
          failureReason: progress.failureReason ?? null,
          version: { increment: 1 },
        },
      });
      if (updated.count === 0) return undefined;
      if (attempt) {
        await tx.sagaStep.update({
          where: { id: attempt.rowId },
          data: {
            outcome: attempt.outcome,
            errorCode: attempt.error?.code ?? null,
            error: attempt.error?.message ?? null,
            finishedAt: attempt.finishedAt,
          },
        });
      }
      const order: Prisma.OrderUpdateInput = {
        ...(effects.paymentId ? { paymentId: effects.paymentId } : {}),
        ...(effects.shippingAddress ? { shippingAddress: { ...effects.shippingAddress } } : {}),
        ...(end ? { status: end.status, cancelReason: end.cancelReason ?? null } : {}),
      };
      // The order row is locked (updated) before the outbox row is written: per-order event order.
      if (Object.keys(order).length > 0) await tx.order.update({ where: { id: saga.orderId }, data: order });
      // PCI DSS: the card (with its CVC) goes as soon as it is authorized, or when the saga ends.
      if (effects.deleteCard || end) await tx.sagaPaymentInstruction.deleteMany({ where: { orderId: saga.orderId } });
      if (end) await writeOutbox(tx, end.event);
      return saga.version + 1;
    }, ATTEMPT_TX);
  }

  async release(saga: SagaSnapshot, now: Date): Promise<void> {
    await this.prisma.sagaInstance.updateMany({
      where: { orderId: saga.orderId, version: saga.version },
      data: { nextAttemptAt: now, version: { increment: 1 } },
    });
  }

  async sealedCard(orderId: string): Promise<SealedCard | undefined> {
    const row = await this.prisma.sagaPaymentInstruction.findUnique({ where: { orderId } });
    return row
      ? {
          keyId: row.keyId,
          iv: Buffer.from(row.iv),
          ciphertext: Buffer.from(row.ciphertext),
          authTag: Buffer.from(row.authTag),
        }
      : undefined;
  }
}

function toSnapshot(row: SagaRow): SagaSnapshot {
  const { order } = row;
  const traceContext = row.traceContext as Record<string, string> | null;
  return {
    orderId: row.orderId,
    userId: order.userId,
    state: row.state,
    currentStep: row.currentStep,
    attempts: row.attempts,
    deadlineAt: row.deadlineAt,
    version: row.version,
    compensations: row.compensations.map((name) => compensationName(row.orderId, name)),
    ...(row.failureReason ? { failureReason: row.failureReason } : {}),
    ...(traceContext && Object.keys(traceContext).length > 0 ? { traceContext } : {}),
    lines: order.lines.map((line) => pricedLine(line, order.currency)),
    total: money(Number(order.totalAmount), order.currency),
    cartVersion: Number(order.cartVersion),
    ...(order.shippingAddress ? { shippingAddress: order.shippingAddress as ShippingAddress } : {}),
    ...(order.paymentId ? { paymentId: order.paymentId } : {}),
    createdAt: order.createdAt,
  };
}

function compensationName(orderId: string, name: string): CompensationName {
  // Never skip a compensation silently: a name this version does not know stops the saga loudly.
  if (!isCompensation(name)) throw new Error(`saga of order ${orderId} lists an unknown compensation ${name}`);
  return name;
}

/** An order line as the saga and the end events carry it. */
export function pricedLine(
  line: { productId: string; name: string; quantity: number; unitPriceAmount: bigint; lineTotalAmount: bigint },
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
