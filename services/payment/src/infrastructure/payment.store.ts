// PaymentStore on Prisma. Row locks are taken with SELECT … FOR UPDATE before any change, and
// the outbox rows are written after them (see writeOutbox's ordering rule).
import { type DomainEvent, writeOutbox } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import type { Money } from '@shoplab/contracts';
import type {
  CommandOutcome,
  CurrencyTotals,
  LedgerKind,
  NewPayment,
  OrderTotals,
  PaymentStore,
  PaymentTx,
  StoredKey,
} from '../application/ports';
import type { PaymentRecord, PaymentStatus } from '../domain/payment';
import { Prisma, type PrismaClient } from '../generated/prisma/client';

type Db = PrismaClient | Prisma.TransactionClient;
type PaymentRow = Prisma.PaymentGetPayload<object>;

function record(row: PaymentRow): PaymentRecord {
  return {
    id: row.id,
    orderId: row.orderId,
    status: row.status,
    currency: row.currency,
    amount: Number(row.amount),
    capturedAmount: Number(row.capturedAmount),
    refundedAmount: Number(row.refundedAmount),
    cardLast4: row.cardLast4,
    declineReason: row.declineReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function storedKey(row: { key: string; operation: string; fingerprint: string; response: unknown }): StoredKey {
  return {
    key: row.key,
    operation: row.operation,
    fingerprint: row.fingerprint,
    outcome: (row.response ?? null) as CommandOutcome | null,
  };
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

class PrismaPaymentTx implements PaymentTx {
  constructor(
    private readonly tx: Prisma.TransactionClient,
    private readonly topic: string | undefined,
  ) {}

  async claimKey(key: string, operation: string, fingerprint: string): Promise<'claimed' | StoredKey> {
    const inserted = await this.tx.$executeRaw`
      INSERT INTO idempotency_keys (key, operation, fingerprint) VALUES (${key}, ${operation}, ${fingerprint})
      ON CONFLICT (key) DO NOTHING`;
    if (inserted === 1) return 'claimed';
    const row = await this.tx.idempotencyKey.findUniqueOrThrow({ where: { key } });
    return storedKey(row);
  }

  async saveOutcome(key: string, outcome: CommandOutcome): Promise<void> {
    await this.tx.idempotencyKey.update({
      where: { key },
      data: { response: outcome as unknown as Prisma.InputJsonValue },
    });
  }

  async lockPayment(id: string): Promise<PaymentRecord | undefined> {
    const locked = await this.tx.$queryRaw<{ id: string }[]>`SELECT id FROM payments WHERE id = ${id}::uuid FOR UPDATE`;
    if (locked.length === 0) return undefined;
    return record(await this.tx.payment.findUniqueOrThrow({ where: { id } }));
  }

  async lockLivePayment(orderId: string): Promise<PaymentRecord | undefined> {
    const locked = await this.tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM payments WHERE order_id = ${orderId} AND status NOT IN ('VOIDED', 'DECLINED') FOR UPDATE`;
    const id = locked[0]?.id;
    return id ? record(await this.tx.payment.findUniqueOrThrow({ where: { id } })) : undefined;
  }

  async insertPayment(p: NewPayment): Promise<PaymentRecord> {
    try {
      const row = await this.tx.payment.create({
        data: {
          id: p.id,
          orderId: p.orderId,
          status: p.status,
          currency: p.money.currency,
          amount: BigInt(p.money.amount),
          cardLast4: p.cardLast4,
          declineReason: p.declineReason,
        },
      });
      return record(row);
    } catch (err) {
      // payments_live_order_key: a concurrent authorization for the same order committed first.
      if (isUniqueViolation(err)) {
        throw new ShopError('SHOP_ALREADY_EXISTS', `Order ${p.orderId} already has a live payment`, {
          orderId: p.orderId,
        });
      }
      throw err;
    }
  }

  async updatePayment(
    id: string,
    patch: Partial<Pick<PaymentRecord, 'status' | 'capturedAmount' | 'refundedAmount'>>,
  ): Promise<PaymentRecord> {
    const row = await this.tx.payment.update({
      where: { id },
      data: {
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.capturedAmount !== undefined ? { capturedAmount: BigInt(patch.capturedAmount) } : {}),
        ...(patch.refundedAmount !== undefined ? { refundedAmount: BigInt(patch.refundedAmount) } : {}),
      },
    });
    return record(row);
  }

  async appendLedger(paymentId: string, kind: LedgerKind, money: Money): Promise<void> {
    await this.tx.ledgerEntry.create({
      data: { paymentId, kind, amount: BigInt(money.amount), currency: money.currency },
    });
  }

  async writeEvents(events: DomainEvent[]): Promise<void> {
    await writeOutbox(this.tx, events, this.topic ? { topic: this.topic } : {});
  }
}

interface OrderSumsRow {
  order_id: string;
  currency: string;
  authorized: bigint;
  captured: bigint;
  voided: bigint;
  refunded: bigint;
  declined: bigint;
  capture_count: number;
  refund_count: number;
  payment_ids: string[];
}

export class PrismaPaymentStore implements PaymentStore {
  constructor(
    private readonly prisma: PrismaClient,
    /** Topic for the events (default `payment.events`; tests use their own). */
    private readonly topic?: string,
  ) {}

  transaction<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction((tx) => work(new PrismaPaymentTx(tx, this.topic)), {
      maxWait: 5_000,
      timeout: 15_000,
    });
  }

  async findKey(key: string): Promise<StoredKey | undefined> {
    const row = await this.prisma.idempotencyKey.findUnique({ where: { key } });
    return row ? storedKey(row) : undefined;
  }

  async findPayment(id: string): Promise<PaymentRecord | undefined> {
    const row = await this.prisma.payment.findUnique({ where: { id } });
    return row ? record(row) : undefined;
  }

  async findPaymentForOrder(orderId: string): Promise<PaymentRecord | undefined> {
    return findForOrder(this.prisma, orderId);
  }

  async summary(): Promise<{ totals: CurrencyTotals[]; orders: OrderTotals[] }> {
    const sums = await this.prisma.$queryRaw<OrderSumsRow[]>`
      SELECT p.order_id, p.currency::text AS currency,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'AUTHORIZE'), 0)::bigint AS authorized,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'CAPTURE'), 0)::bigint AS captured,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'VOID'), 0)::bigint AS voided,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'REFUND'), 0)::bigint AS refunded,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'DECLINE'), 0)::bigint AS declined,
             (count(*) FILTER (WHERE l.kind = 'CAPTURE'))::int AS capture_count,
             (count(*) FILTER (WHERE l.kind = 'REFUND'))::int AS refund_count,
             array_agg(DISTINCT p.id::text) AS payment_ids
        FROM payments p JOIN ledger_entries l ON l.payment_id = p.id
       GROUP BY p.order_id, p.currency
       ORDER BY p.order_id, p.currency`;
    const statuses = await this.prisma.$queryRaw<{ order_id: string; status: PaymentStatus }[]>`
      SELECT DISTINCT ON (order_id) order_id, status::text AS status
        FROM payments
       ORDER BY order_id, (status NOT IN ('VOIDED', 'DECLINED')) DESC, created_at DESC`;
    const statusOf = new Map(statuses.map((s) => [s.order_id, s.status]));
    const totals = new Map<string, CurrencyTotals>();
    const orders = sums.map((row): OrderTotals => {
      const order: OrderTotals = {
        orderId: row.order_id,
        currency: row.currency,
        status: statusOf.get(row.order_id) ?? 'DECLINED',
        authorized: Number(row.authorized),
        captured: Number(row.captured),
        voided: Number(row.voided),
        refunded: Number(row.refunded),
        declined: Number(row.declined),
        captureCount: row.capture_count,
        refundCount: row.refund_count,
        paymentIds: row.payment_ids,
      };
      const t = totals.get(order.currency) ?? {
        currency: order.currency,
        authorized: 0,
        captured: 0,
        voided: 0,
        refunded: 0,
        declined: 0,
      };
      t.authorized += order.authorized;
      t.captured += order.captured;
      t.voided += order.voided;
      t.refunded += order.refunded;
      t.declined += order.declined;
      totals.set(order.currency, t);
      return order;
    });
    return { totals: [...totals.values()], orders };
  }
}

async function findForOrder(db: Db, orderId: string): Promise<PaymentRecord | undefined> {
  const rows = await db.payment.findMany({ where: { orderId }, orderBy: { createdAt: 'desc' } });
  const live = rows.find((r) => r.status !== 'VOIDED' && r.status !== 'DECLINED');
  const row = live ?? rows[0];
  return row ? record(row) : undefined;
}
