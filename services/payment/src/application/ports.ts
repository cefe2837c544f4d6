// What the use cases need from storage. infrastructure/payment.store.ts implements it with Prisma.
import type { DomainEvent } from '@shoplab/chassis';
import type { ErrorCode } from '@shoplab/chassis/errors';
import type { Money } from '@shoplab/contracts';
import type { PaymentRecord, PaymentStatus, PaymentView } from '../domain/payment';

/** The stored first outcome of a command: the payment, or the business refusal that was recorded. */
export type CommandOutcome =
  | { payment: PaymentView }
  | { payment: PaymentView; error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

export interface StoredKey {
  key: string;
  operation: string;
  fingerprint: string;
  outcome: CommandOutcome | null;
}

export type LedgerKind = 'AUTHORIZE' | 'CAPTURE' | 'VOID' | 'REFUND' | 'DECLINE';

export interface NewPayment {
  id: string;
  orderId: string;
  status: PaymentStatus;
  money: Money;
  cardLast4: string;
  declineReason: string | null;
}

/** Writes inside one database transaction. */
export interface PaymentTx {
  /**
   * Takes the key for this transaction, or returns the committed row holding it. A concurrent
   * transaction holding the same key makes this wait until it commits or rolls back.
   */
  claimKey(key: string, operation: string, fingerprint: string): Promise<'claimed' | StoredKey>;
  saveOutcome(key: string, outcome: CommandOutcome): Promise<void>;
  /** Reads and row-locks a payment until the transaction ends. */
  lockPayment(id: string): Promise<PaymentRecord | undefined>;
  /** The order's live payment (not VOIDED or DECLINED), row-locked. */
  lockLivePayment(orderId: string): Promise<PaymentRecord | undefined>;
  /** Throws SHOP_ALREADY_EXISTS when the order already has a live payment. */
  insertPayment(payment: NewPayment): Promise<PaymentRecord>;
  updatePayment(
    id: string,
    patch: Partial<Pick<PaymentRecord, 'status' | 'capturedAmount' | 'refundedAmount'>>,
  ): Promise<PaymentRecord>;
  appendLedger(paymentId: string, kind: LedgerKind, money: Money): Promise<void>;
  writeEvents(events: DomainEvent[]): Promise<void>;
}

export interface OrderTotals {
  orderId: string;
  currency: string;
  /** Status of the order's live payment, or of its latest one when none is live. */
  status: PaymentStatus;
  authorized: number;
  captured: number;
  voided: number;
  refunded: number;
  declined: number;
  captureCount: number;
  refundCount: number;
  paymentIds: string[];
}

export interface CurrencyTotals {
  currency: string;
  authorized: number;
  captured: number;
  voided: number;
  refunded: number;
  declined: number;
}

export interface PaymentStore {
  transaction<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T>;
  findKey(key: string): Promise<StoredKey | undefined>;
  findPayment(id: string): Promise<PaymentRecord | undefined>;
  /** The order's live payment, or its most recent one. */
  findPaymentForOrder(orderId: string): Promise<PaymentRecord | undefined>;
  /** Ledger sums by currency and by order. */
  summary(): Promise<{ totals: CurrencyTotals[]; orders: OrderTotals[] }>;
}
