// The payment events on the orders' timelines (table payment_events), written inside the
// payment-events consumer's Prisma transaction.
import type { PaymentEventLog, PaymentEventRecord } from '../application/ports';
import type { Prisma } from '../generated/prisma/client';

export class PrismaPaymentEventLog implements PaymentEventLog {
  constructor(private readonly tx: Prisma.TransactionClient) {}

  async orderExists(orderId: string): Promise<boolean> {
    return (await this.tx.order.count({ where: { id: orderId } })) > 0;
  }

  async record(event: PaymentEventRecord): Promise<boolean> {
    // ON CONFLICT (event_id) DO NOTHING: an event id is on the timeline once.
    const { count } = await this.tx.paymentEvent.createMany({
      data: [
        {
          eventId: event.eventId,
          orderId: event.orderId,
          paymentId: event.paymentId,
          type: event.type,
          status: event.status,
          amount: BigInt(event.amount.amount),
          currency: event.amount.currency,
          occurredAt: event.occurredAt,
          receivedAt: event.receivedAt,
          traceId: event.traceId ?? null,
          lamport: event.lamport !== undefined ? BigInt(event.lamport) : null,
          hlc: event.hlc ?? null,
        },
      ],
      skipDuplicates: true,
    });
    return count === 1;
  }
}
