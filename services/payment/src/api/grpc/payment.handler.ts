// payment.v1.PaymentService: thin adapters over the use cases.
import { type ServiceImplementation, ShopError } from '@shoplab/chassis';
import { paymentV1 } from '@shoplab/contracts';
import type { PaymentService } from '../../application/payments';
import type { PaymentStatus, PaymentView } from '../../domain/payment';
import type { PaymentTwoPhaseParticipant } from '../../infrastructure/two-phase.participant';

const STATUS: Record<PaymentStatus, paymentV1.PaymentStatus> = {
  AUTHORIZED: paymentV1.PaymentStatus.PAYMENT_STATUS_AUTHORIZED,
  CAPTURED: paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED,
  VOIDED: paymentV1.PaymentStatus.PAYMENT_STATUS_VOIDED,
  REFUNDED: paymentV1.PaymentStatus.PAYMENT_STATUS_REFUNDED,
  DECLINED: paymentV1.PaymentStatus.PAYMENT_STATUS_DECLINED,
};

export function toProto(p: PaymentView): paymentV1.Payment {
  return { ...p, status: STATUS[p.status] };
}

/** The idempotency key from the request, or else from the `idempotency-key` header. */
function keyOf(fromRequest: string, fromHeader: string | undefined): string {
  return fromRequest || fromHeader || '';
}

export function paymentHandlers(
  payments: PaymentService,
  twoPhase: PaymentTwoPhaseParticipant,
): ServiceImplementation<typeof paymentV1.PaymentServiceService> {
  return {
    authorize: async (req, ctx) => ({
      payment: toProto(
        await payments.authorize(
          {
            idempotencyKey: keyOf(req.idempotencyKey, ctx.idempotencyKey),
            orderId: req.orderId,
            amount: req.amount,
            card: req.card,
          },
          { signal: ctx.signal },
        ),
      ),
    }),
    capture: async (req, ctx) => ({
      payment: toProto(
        await payments.capture(
          { idempotencyKey: keyOf(req.idempotencyKey, ctx.idempotencyKey), paymentId: req.paymentId },
          { signal: ctx.signal },
        ),
      ),
    }),
    void: async (req, ctx) => ({
      payment: toProto(
        await payments.void({
          idempotencyKey: keyOf(req.idempotencyKey, ctx.idempotencyKey),
          paymentId: req.paymentId,
        }),
      ),
    }),
    refund: async (req, ctx) => ({
      payment: toProto(
        await payments.refund({
          idempotencyKey: keyOf(req.idempotencyKey, ctx.idempotencyKey),
          paymentId: req.paymentId,
          amount: req.amount,
        }),
      ),
    }),
    getPayment: async (req) => ({ payment: toProto(await payments.get(req)) }),
    prepareAuthorize: async (req, ctx) => ({
      payment: toProto(
        await twoPhase.prepareAuthorize(
          req.transactionId,
          {
            idempotencyKey: keyOf(req.idempotencyKey, ctx.idempotencyKey),
            orderId: req.orderId,
            amount: req.amount,
            card: req.card,
          },
          { signal: ctx.signal },
        ),
      ),
    }),
    finishPrepared: async (req) => {
      if (!req.transactionId) {
        throw new ShopError('SHOP_VALIDATION_FAILED', 'transactionId is required', { field: 'transactionId' });
      }
      return { outcome: await twoPhase.finish(req.transactionId, req.commit) };
    },
  };
}
