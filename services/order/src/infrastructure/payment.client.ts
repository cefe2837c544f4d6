// payment.v1.PaymentService, as the saga uses it. Commands carry their idempotency key in the
// request and in the `idempotency-key` header; the saga retries them itself (each attempt on
// its timeline), so the client does not.
import { createGrpcClient, type GrpcClient, type ServiceKit, ShopError } from '@shoplab/chassis';
import type { Money } from '@shoplab/contracts';
import { paymentV1 } from '@shoplab/contracts';
import type { CallOptions, CommandOptions, PaymentInfo, PaymentStatus, Payments } from '../application/ports';
import type { Card } from '../domain/checkout-request';

export type PaymentGrpcClient = GrpcClient<typeof paymentV1.PaymentServiceService>;

export function createPaymentClient(kit: ServiceKit, deadlineMs: number): PaymentGrpcClient {
  return createGrpcClient(
    paymentV1.PaymentServiceClient,
    { caller: kit.config.SERVICE_NAME, target: 'payment', registry: kit.registry, deadlineMs },
    { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger, chaos: kit.chaos },
  );
}

const STATUS: Record<paymentV1.PaymentStatus, PaymentStatus> = {
  [paymentV1.PaymentStatus.PAYMENT_STATUS_UNSPECIFIED]: 'UNKNOWN',
  [paymentV1.PaymentStatus.PAYMENT_STATUS_AUTHORIZED]: 'AUTHORIZED',
  [paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED]: 'CAPTURED',
  [paymentV1.PaymentStatus.PAYMENT_STATUS_VOIDED]: 'VOIDED',
  [paymentV1.PaymentStatus.PAYMENT_STATUS_REFUNDED]: 'REFUNDED',
  [paymentV1.PaymentStatus.PAYMENT_STATUS_DECLINED]: 'DECLINED',
  [paymentV1.PaymentStatus.UNRECOGNIZED]: 'UNKNOWN',
};

export class GrpcPayments implements Payments {
  constructor(private readonly client: PaymentGrpcClient) {}

  async authorize(orderId: string, amount: Money, card: Card, options: CommandOptions): Promise<PaymentInfo> {
    const { payment } = await this.client.call(
      'authorize',
      {
        idempotencyKey: options.idempotencyKey,
        orderId,
        amount,
        card: { number: card.number, expMonth: card.expMonth, expYear: card.expYear, cvc: card.cvc },
      },
      command(options),
    );
    return infoOf(payment);
  }

  async capture(paymentId: string, options: CommandOptions): Promise<PaymentInfo> {
    const { payment } = await this.client.call(
      'capture',
      { idempotencyKey: options.idempotencyKey, paymentId },
      command(options),
    );
    return infoOf(payment);
  }

  async void(paymentId: string, options: CommandOptions): Promise<PaymentInfo> {
    const { payment } = await this.client.call(
      'void',
      { idempotencyKey: options.idempotencyKey, paymentId },
      command(options),
    );
    return infoOf(payment);
  }

  async refund(paymentId: string, amount: Money, options: CommandOptions): Promise<PaymentInfo> {
    const { payment } = await this.client.call(
      'refund',
      { idempotencyKey: options.idempotencyKey, paymentId, amount },
      command(options),
    );
    return infoOf(payment);
  }

  get(paymentId: string, options: CallOptions): Promise<PaymentInfo | undefined> {
    return this.find({ paymentId, orderId: '' }, options);
  }

  findByOrder(orderId: string, options: CallOptions): Promise<PaymentInfo | undefined> {
    return this.find({ paymentId: '', orderId }, options);
  }

  private async find(request: paymentV1.GetPaymentRequest, options: CallOptions): Promise<PaymentInfo | undefined> {
    try {
      const { payment } = await this.client.call('getPayment', request, { deadlineMs: options.deadlineMs });
      return payment ? infoOf(payment) : undefined;
    } catch (err) {
      if (err instanceof ShopError && err.code === 'SHOP_NOT_FOUND') return undefined;
      throw err;
    }
  }
}

function command(options: CommandOptions) {
  return { deadlineMs: options.deadlineMs, idempotencyKey: options.idempotencyKey };
}

function infoOf(payment: paymentV1.Payment | undefined): PaymentInfo {
  if (!payment) throw new ShopError('SHOP_INTERNAL', 'The payment service answered without a payment');
  const currency = payment.amount?.currency ?? 'USD';
  const zero = { amount: 0, currency };
  return {
    id: payment.id,
    status: STATUS[payment.status] ?? 'UNKNOWN',
    amount: payment.amount ?? zero,
    captured: payment.captured ?? zero,
    refunded: payment.refunded ?? zero,
  };
}
