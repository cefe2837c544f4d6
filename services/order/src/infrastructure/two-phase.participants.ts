// The two-phase checkout's participants over gRPC (catalog PrepareReserveStock, payment
// PrepareAuthorize, FinishPrepared on both), on the order service's own clients to them: the
// same discovery, deadlines, breakers and chaos as the saga's calls.
import type { FinishOutcome, TwoPhaseParticipant } from '@shoplab/chassis';
import type { Money } from '@shoplab/contracts';
import type { CommandOptions } from '../application/ports';
import type { TwoPhaseParticipants } from '../application/two-phase-coordinator';
import type { Card } from '../domain/checkout-request';
import type { CatalogGrpcClient } from './catalog.client';
import type { PaymentGrpcClient } from './payment.client';

const OUTCOMES: ReadonlySet<string> = new Set(['committed', 'rolled_back', 'absent']);

export class GrpcTwoPhaseParticipants implements TwoPhaseParticipants {
  constructor(
    private readonly catalog: CatalogGrpcClient,
    private readonly payment: PaymentGrpcClient,
  ) {}

  async prepareReserve(
    transactionId: string,
    orderId: string,
    lines: { productId: string; quantity: number }[],
    options: CommandOptions,
  ): Promise<void> {
    await this.catalog.call(
      'prepareReserveStock',
      { transactionId, idempotencyKey: options.idempotencyKey, reservationId: orderId, lines },
      command(options),
    );
  }

  async prepareAuthorize(
    transactionId: string,
    orderId: string,
    amount: Money,
    card: Card,
    options: CommandOptions,
  ): Promise<{ paymentId: string }> {
    const { payment } = await this.payment.call(
      'prepareAuthorize',
      {
        transactionId,
        idempotencyKey: options.idempotencyKey,
        orderId,
        amount,
        card: { number: card.number, expMonth: card.expMonth, expYear: card.expYear, cvc: card.cvc },
      },
      command(options),
    );
    if (!payment?.id) throw new Error(`payment prepared ${transactionId} without a payment id`);
    return { paymentId: payment.id };
  }

  async finish(participant: TwoPhaseParticipant, transactionId: string, commit: boolean): Promise<FinishOutcome> {
    const request = { transactionId, commit };
    const { outcome } =
      participant === 'catalog'
        ? await this.catalog.call('finishPrepared', request)
        : await this.payment.call('finishPrepared', request);
    if (!OUTCOMES.has(outcome)) throw new Error(`${participant} finished ${transactionId} with '${outcome}'`);
    return outcome as FinishOutcome;
  }
}

function command(options: CommandOptions) {
  return { deadlineMs: options.deadlineMs, idempotencyKey: options.idempotencyKey };
}
