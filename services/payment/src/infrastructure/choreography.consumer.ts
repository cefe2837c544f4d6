// Payment's consumer in a choreographed checkout (application/choreography.ts) on catalog.events:
// the chassis' Prisma consumer (the event recorded as processed in one transaction, retries, then
// `<topic>.dlq`). Capture runs as its own command, idempotent by key: a redelivered commit
// captures once.
import {
  createPrismaConsumer,
  type EventConsumer,
  GrpcStatus,
  type PrismaConsumerWiring,
  ShopError,
} from '@shoplab/chassis';
import { captureFor, choreographyKey } from '../application/choreography';
import type { PaymentService } from '../application/payments';
import type { Prisma, PrismaClient } from '../generated/prisma/client';

export const CHOREOGRAPHY_CATALOG_GROUP = 'payment-choreography-catalog';

export type ChoreographyConsumerOptions = PrismaConsumerWiring<PrismaClient> & { payments: PaymentService };

export function createChoreographyConsumer(options: ChoreographyConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'choreography' });
  return createPrismaConsumer<Prisma.TransactionClient>({
    ...options,
    groupId: options.groupId ?? CHOREOGRAPHY_CATALOG_GROUP,
    // Only events after the group first joined: choreographed orders began with it, and the shop's
    // earlier history holds none (a new group reading all of it would only skip).
    fromBeginning: false,
    handler: async (event, tx) => {
      const reservationId = (event.data as { reservationId?: unknown } | null)?.reservationId;
      const authorized =
        typeof reservationId === 'string' &&
        (await tx.idempotencyKey.findUnique({
          where: { key: choreographyKey(reservationId, 'authorize_payment') },
        })) !== null;
      const orderId = captureFor(event, () => authorized);
      if (!orderId) return;
      try {
        const payment = await options.payments.get({ paymentId: '', orderId });
        await options.payments.capture({
          idempotencyKey: choreographyKey(orderId, 'capture_payment'),
          paymentId: payment.id,
        });
      } catch (err) {
        // Refused (the payment voided or declined meanwhile): asking again cannot change it.
        if (!(err instanceof ShopError) || !REFUSALS.has(err.grpcStatus)) throw err;
        log.warn({ err, eventId: event.id, orderId }, 'choreography: capture refused');
        return;
      }
      log.info({ eventId: event.id, orderId }, 'choreography: captured');
    },
  });
}

const REFUSALS: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.OUT_OF_RANGE,
]);
