// The payment's events, its source of truth (docs/patterns/event-sourcing.md), and the fold
// that turns a stream of them into a payment. Pure: no I/O. The same `evolve` serves loading an
// aggregate (snapshot + later events), the projections written with each command, the temporal
// query (events up to an instant) and the rebuild (every stream from the start).
import type { Money } from '@shoplab/contracts';
import type { PaymentRecord } from './payment';

/** What each event carries; `ledgerEntryId` is the id of the ledger entry it projects to. */
export type PaymentEventData =
  | { type: 'PaymentAuthorized'; orderId: string; amount: number; currency: string; cardLast4: string }
  | {
      type: 'PaymentDeclined';
      orderId: string;
      amount: number;
      currency: string;
      cardLast4: string;
      reason: string | null;
    }
  | { type: 'PaymentCaptured'; amount: number; currency: string }
  | { type: 'PaymentVoided'; amount: number; currency: string }
  | { type: 'PaymentRefunded'; amount: number; currency: string };

export type PaymentEventType = PaymentEventData['type'];

export const PAYMENT_EVENT_TYPES: readonly PaymentEventType[] = [
  'PaymentAuthorized',
  'PaymentDeclined',
  'PaymentCaptured',
  'PaymentVoided',
  'PaymentRefunded',
];

/** An event as the store holds it. */
export interface StoredPaymentEvent {
  position: number;
  streamId: string;
  version: number;
  data: PaymentEventData;
  ledgerEntryId: number;
  recordedAt: Date;
}

/** The ledger entry kind each event projects to (one entry per event). */
export const LEDGER_KIND_OF = {
  PaymentAuthorized: 'AUTHORIZE',
  PaymentDeclined: 'DECLINE',
  PaymentCaptured: 'CAPTURE',
  PaymentVoided: 'VOID',
  PaymentRefunded: 'REFUND',
} as const satisfies Record<PaymentEventType, string>;

/** A payment rebuilt from its events, with the version of the last one applied. */
export interface PaymentAggregate {
  state: PaymentRecord;
  version: number;
}

export function moneyOf(data: PaymentEventData): Money {
  return { amount: data.amount, currency: data.currency };
}

/**
 * The payment after one more event. A stream starts with PaymentAuthorized or PaymentDeclined;
 * any other first event, or a first event twice, is a corrupt stream and throws.
 */
export function evolve(
  state: PaymentRecord | undefined,
  streamId: string,
  data: PaymentEventData,
  recordedAt: Date,
): PaymentRecord {
  if (data.type === 'PaymentAuthorized' || data.type === 'PaymentDeclined') {
    if (state) throw new Error(`payment ${streamId}: ${data.type} on a stream that has already started`);
    return {
      id: streamId,
      orderId: data.orderId,
      status: data.type === 'PaymentAuthorized' ? 'AUTHORIZED' : 'DECLINED',
      currency: data.currency,
      amount: data.amount,
      capturedAmount: 0,
      refundedAmount: 0,
      cardLast4: data.cardLast4,
      declineReason: data.type === 'PaymentDeclined' ? data.reason : null,
      createdAt: recordedAt,
      updatedAt: recordedAt,
    };
  }
  if (!state) throw new Error(`payment ${streamId}: the stream starts with ${data.type}`);
  switch (data.type) {
    case 'PaymentCaptured':
      return {
        ...state,
        status: 'CAPTURED',
        capturedAmount: state.capturedAmount + data.amount,
        updatedAt: recordedAt,
      };
    case 'PaymentVoided':
      return { ...state, status: 'VOIDED', updatedAt: recordedAt };
    case 'PaymentRefunded':
      return {
        ...state,
        status: 'REFUNDED',
        refundedAmount: state.refundedAmount + data.amount,
        updatedAt: recordedAt,
      };
  }
}

/** A payment from a snapshot (or nothing) and the events after it, in version order. */
export function replay(
  streamId: string,
  from: PaymentAggregate | undefined,
  events: readonly { version: number; data: PaymentEventData; recordedAt: Date }[],
): PaymentAggregate | undefined {
  let aggregate = from;
  for (const e of events) {
    const expected = (aggregate?.version ?? 0) + 1;
    if (e.version !== expected) throw new Error(`payment ${streamId}: version ${e.version} where ${expected} was due`);
    aggregate = { state: evolve(aggregate?.state, streamId, e.data, e.recordedAt), version: e.version };
  }
  return aggregate;
}

/** A snapshot's JSON form (dates as ISO strings) and back. */
export function snapshotOf(state: PaymentRecord): Record<string, unknown> {
  return { ...state, createdAt: state.createdAt.toISOString(), updatedAt: state.updatedAt.toISOString() };
}

export function stateOfSnapshot(json: Record<string, unknown>): PaymentRecord {
  const s = json as unknown as PaymentRecord & { createdAt: string; updatedAt: string };
  return { ...s, createdAt: new Date(s.createdAt), updatedAt: new Date(s.updatedAt) };
}
