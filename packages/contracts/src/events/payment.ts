// The payment service's events (topic payment.events, subject = payment id). Every kind shares
// the same core (PaymentEventV1Core); some add a field of their own.
import { z } from 'zod';
import { defineEvent, idSchema, moneySchema } from './contract';

/** What every shop.payment.*.v1 event carries; a consumer reading any kind parses this. */
export const paymentEventV1Core = z.object({
  paymentId: idSchema,
  orderId: idSchema,
  /** The payment's status after the event (AUTHORIZED, CAPTURED, …). */
  status: z.string().min(1).max(40),
  /** The money this event moved (the refund's amount for `refunded`). */
  amount: moneySchema.extend({ amount: z.number().int().nonnegative() }),
  /** Captured so far, after the event. */
  captured: moneySchema,
  /** Refunded so far, after the event. */
  refunded: moneySchema,
});

/** `shop.payment.<kind>.v1`: any kind of version 1, including kinds added later. */
export const PAYMENT_EVENT_V1 = /^shop\.payment\.[a-z][a-z0-9_]*\.v1$/;

export const PaymentAuthorizedV1 = defineEvent(
  'shop.payment.authorized.v1',
  paymentEventV1Core.extend({ cardLast4: z.string().regex(/^\d{4}$/) }),
  // A fragment of the buyer's card: with the order it names a person's card.
  { personalData: ['cardLast4'] },
);
export const PaymentDeclinedV1 = defineEvent(
  'shop.payment.declined.v1',
  paymentEventV1Core.extend({ reason: z.string().min(1).max(200) }),
);
export const PaymentCapturedV1 = defineEvent('shop.payment.captured.v1', paymentEventV1Core);
export const PaymentVoidedV1 = defineEvent('shop.payment.voided.v1', paymentEventV1Core);
export const PaymentRefundedV1 = defineEvent('shop.payment.refunded.v1', paymentEventV1Core);

/** The payment service's events by kind. */
export const paymentEventsV1 = {
  authorized: PaymentAuthorizedV1,
  declined: PaymentDeclinedV1,
  captured: PaymentCapturedV1,
  voided: PaymentVoidedV1,
  refunded: PaymentRefundedV1,
} as const;
