// A payment's states and the rules for moving between them. Pure: no I/O.
//
//   Authorize ──► AUTHORIZED ──Capture──► CAPTURED ──Refund──► REFUNDED (──Refund──► … up to the capture)
//        │             └──────Void──────► VOIDED
//        └──(declined)──► DECLINED
import { ShopError } from '@shoplab/chassis/errors';
import type { Money } from '@shoplab/contracts';

export const PAYMENT_STATUSES = ['AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED', 'DECLINED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** A payment as the service stores it. */
export interface PaymentRecord {
  id: string;
  orderId: string;
  status: PaymentStatus;
  currency: string;
  amount: number;
  capturedAmount: number;
  refundedAmount: number;
  cardLast4: string;
  declineReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A payment as callers see it (and as idempotent replays return it). */
export interface PaymentView {
  id: string;
  orderId: string;
  status: PaymentStatus;
  amount: Money;
  captured: Money;
  refunded: Money;
  cardLast4: string;
  declineReason: string;
  createdAt: string;
  updatedAt: string;
}

export function viewOf(p: PaymentRecord): PaymentView {
  const money = (amount: number): Money => ({ amount, currency: p.currency });
  return {
    id: p.id,
    orderId: p.orderId,
    status: p.status,
    amount: money(p.amount),
    captured: money(p.capturedAmount),
    refunded: money(p.refundedAmount),
    cardLast4: p.cardLast4,
    declineReason: p.declineReason ?? '',
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** A live payment holds the order's one authorization; VOIDED and DECLINED ones free the order for a new attempt. */
export function isLive(status: PaymentStatus): boolean {
  return status !== 'VOIDED' && status !== 'DECLINED';
}

/** Largest amount accepted: far above any basket, and exact in a JS number and a bigint column. */
export const MAX_AMOUNT = 1_000_000_000_00;

/** A positive integer amount in a three-letter currency; SHOP_VALIDATION_FAILED otherwise. */
export function checkMoney(money: Money | undefined, field: string): Money {
  if (!money) throw new ShopError('SHOP_VALIDATION_FAILED', `${field} is required`, { field });
  if (!Number.isSafeInteger(money.amount) || money.amount <= 0 || money.amount > MAX_AMOUNT) {
    throw new ShopError('SHOP_VALIDATION_FAILED', `${field}.amount must be a positive whole number of minor units`, {
      field: `${field}.amount`,
    });
  }
  if (!/^[A-Z]{3}$/.test(money.currency)) {
    throw new ShopError('SHOP_VALIDATION_FAILED', `${field}.currency must be an ISO 4217 code such as USD`, {
      field: `${field}.currency`,
    });
  }
  return { amount: money.amount, currency: money.currency };
}

function invalidState(p: PaymentRecord, action: string): ShopError {
  return new ShopError('SHOP_PAYMENT_INVALID_STATE', `Cannot ${action} a payment that is ${p.status}`, {
    paymentId: p.id,
    status: p.status,
  });
}

/** Capture takes the full authorized amount. Capturing a captured payment again changes nothing. */
export function planCapture(p: PaymentRecord): 'capture' | 'already-captured' {
  if (p.status === 'AUTHORIZED') return 'capture';
  if (p.status === 'CAPTURED') return 'already-captured';
  throw invalidState(p, 'capture');
}

/**
 * Void releases an authorization. Voiding a voided payment, or a declined one (it holds no
 * funds), changes nothing and succeeds, so a compensation can always be retried.
 */
export function planVoid(p: PaymentRecord): 'void' | 'nothing-to-void' {
  if (p.status === 'AUTHORIZED') return 'void';
  if (p.status === 'VOIDED' || p.status === 'DECLINED') return 'nothing-to-void';
  throw invalidState(p, 'void');
}

/** Refunds return captured money, in one or several parts, never more than was captured. */
export function planRefund(p: PaymentRecord, refund: Money): { refundedAmount: number } {
  if (p.status !== 'CAPTURED' && p.status !== 'REFUNDED') throw invalidState(p, 'refund');
  if (refund.currency !== p.currency) {
    throw new ShopError('SHOP_VALIDATION_FAILED', `The refund must be in ${p.currency}, the payment's currency`, {
      field: 'amount.currency',
    });
  }
  const remaining = p.capturedAmount - p.refundedAmount;
  if (refund.amount > remaining) {
    throw new ShopError(
      'SHOP_REFUND_EXCEEDS_CAPTURE',
      `A refund of ${refund.amount} exceeds the ${remaining} ${p.currency} still refundable`,
      { paymentId: p.id, refundable: { amount: remaining, currency: p.currency } },
    );
  }
  return { refundedAmount: p.refundedAmount + refund.amount };
}
