// What the use cases need from storage. infrastructure/payment.store.ts implements it with Prisma.
import type { DomainEvent } from '@shoplab/chassis';
import type { ErrorCode } from '@shoplab/chassis/errors';
import type { PaymentRecord, PaymentStatus, PaymentView } from '../domain/payment';
import type { PaymentAggregate, PaymentEventData, PaymentEventType } from '../domain/payment-events';

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

/** Thrown by append when the stream's version moved since the command read it: re-read and retry. */
export class StreamConflict extends Error {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
  ) {
    super(`payment ${streamId}: version ${expectedVersion + 1} was appended by another command`);
    this.name = 'StreamConflict';
  }
}

/** Writes inside one database transaction. */
export interface PaymentTx {
  /**
   * Takes the key for this transaction, or returns the committed row holding it. A concurrent
   * transaction holding the same key makes this wait until it commits or rolls back.
   */
  claimKey(key: string, operation: string, fingerprint: string): Promise<'claimed' | StoredKey>;
  saveOutcome(key: string, outcome: CommandOutcome): Promise<void>;
  /** The payment from the event store: its snapshot and the events after it (no lock: appends check the version). */
  loadPayment(id: string): Promise<PaymentAggregate | undefined>;
  /** The order's live payment (not VOIDED or DECLINED) from the projection, row-locked. */
  lockLivePayment(orderId: string): Promise<PaymentRecord | undefined>;
  /**
   * Appends one event at `expectedVersion + 1` and writes the projections (payments row, ledger
   * entry) in the same statement; returns the payment after it. Throws StreamConflict when
   * another command appended that version first, SHOP_ALREADY_EXISTS when a new payment's order
   * already has a live one.
   */
  append(
    streamId: string,
    expectedVersion: number,
    current: PaymentRecord | undefined,
    event: PaymentEventData,
  ): Promise<PaymentAggregate>;
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

/** The shop's money at an instant, per currency, from the event store alone. */
export interface BalanceTotals {
  currency: string;
  /** Authorized and, at that instant, neither captured nor voided yet. */
  authorizedOpen: number;
  captured: number;
  refunded: number;
  /** captured − refunded */
  net: number;
  /** Payments whose stream had started by then. */
  payments: number;
}

export interface Balance {
  at: Date;
  /** The global position of the last event recorded at or before `at` (0: none). */
  position: number;
  events: number;
  totals: BalanceTotals[];
}

export interface StreamEvent {
  position: number;
  version: number;
  type: PaymentEventType;
  data: Record<string, unknown>;
  recordedAt: Date;
}

export interface RebuildReport {
  streams: number;
  events: number;
  payments: number;
  ledgerEntries: number;
  durationMs: number;
}

export interface ProjectionsDigest {
  payments: number;
  ledgerEntries: number;
  /** md5 of every payments row and every ledger entry, all columns, in id order. */
  digest: string;
}

export interface PaymentStore {
  transaction<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T>;
  findKey(key: string): Promise<StoredKey | undefined>;
  findPayment(id: string): Promise<PaymentRecord | undefined>;
  /** The order's live payment, or its most recent one. */
  findPaymentForOrder(orderId: string): Promise<PaymentRecord | undefined>;
  /** Ledger sums by currency and by order. */
  summary(): Promise<{ totals: CurrencyTotals[]; orders: OrderTotals[] }>;
  /** A payment's events recorded at or before `at` (all of them without it), in version order. */
  stream(id: string, at?: Date): Promise<StreamEvent[]>;
  balanceAt(at: Date): Promise<Balance>;
  /** Empties the projections and writes them again from every stream of the store, in one transaction. */
  rebuild(): Promise<RebuildReport>;
  /** Row counts of the projections and a digest of every row (all columns), to compare two moments. */
  projections(): Promise<ProjectionsDigest>;
  /** Empties the projections (the exercises' "lose the read side"); the store keeps every event. */
  dropProjections(): Promise<void>;
}
