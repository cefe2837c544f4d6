// The catalog's consumers in a choreographed checkout (application/choreography.ts): one on
// order.events, one on payment.events (the chassis' Prisma consumer: each event recorded as
// processed in one transaction, retries, then `<topic>.dlq`). The stock commands run in their own
// transactions and are idempotent by key, so an event applied again after a crash moves nothing twice.
import {
  createContractEvent,
  createPrismaConsumer,
  type EventConsumer,
  type PrismaConsumerWiring,
  writeOutbox,
} from '@shoplab/chassis';
import { StockRefusedV1 } from '@shoplab/contracts';
import {
  catalogReaction,
  choreographyKey,
  ORDER_CANCELLED,
  PAYMENT_AUTHORIZED,
  PAYMENT_DECLINED,
  refusalOf,
} from '../application/choreography';
import type { StockReservations } from '../application/stock-reservations';
import type { CatalogPrisma, CatalogTransaction } from './database';

/** The events whose reaction depends on whether a choreography holds the order's reservation. */
const ASKS_WHETHER_HELD: ReadonlySet<string> = new Set([PAYMENT_AUTHORIZED, PAYMENT_DECLINED, ORDER_CANCELLED]);

export const CHOREOGRAPHY_ORDER_GROUP = 'catalog-choreography-order';
export const CHOREOGRAPHY_PAYMENT_GROUP = 'catalog-choreography-payment';

export type ChoreographyConsumerOptions = PrismaConsumerWiring<CatalogPrisma> & { stock: StockReservations };

export function createChoreographyConsumer(options: ChoreographyConsumerOptions): EventConsumer {
  const log = options.kit.logger.child({ component: 'choreography' });
  const { stock } = options;
  return createPrismaConsumer<CatalogTransaction>({
    ...options,
    groupId: options.groupId ?? CHOREOGRAPHY_ORDER_GROUP,
    // Only events after the group first joined: choreographed orders began with it, and the shop's
    // earlier history holds none (a new group reading all of it would only skip).
    fromBeginning: false,
    handler: async (event, tx) => {
      const orderId = (event.data as { orderId?: unknown } | null)?.orderId;
      // Which reservations a choreography holds: those it reserved under its own key. Asked only
      // for the events whose reaction depends on it (every checkout's other events pass by).
      const held =
        typeof orderId === 'string' &&
        ASKS_WHETHER_HELD.has(event.type) &&
        (await tx.idempotencyRecord.findUnique({ where: { key: choreographyKey(orderId, 'reserve_stock') } })) !== null;
      const reaction = catalogReaction(event, () => held);
      if (reaction.kind === 'ignore') return;
      const key = (step: string) => choreographyKey(reaction.orderId, step);
      switch (reaction.kind) {
        case 'reserve':
          try {
            await stock.reserve({
              idempotencyKey: key('reserve_stock'),
              reservationId: reaction.orderId,
              lines: reaction.lines,
            });
          } catch (err) {
            const reason = refusalOf(err);
            if (!reason) throw err;
            // Nothing was held; the order hears it from this event (a saga would from the answer).
            await writeOutbox(
              tx,
              createContractEvent(StockRefusedV1, {
                service: 'catalog',
                subject: reaction.orderId,
                data: { reservationId: reaction.orderId, lines: reaction.lines, reason },
              }),
            );
          }
          break;
        case 'commit':
        case 'release':
          try {
            const command = reaction.kind;
            await stock[command]({ idempotencyKey: key(`${command}_stock`), reservationId: reaction.orderId });
          } catch (err) {
            // A reservation already moved the other way (committed, then a late decline): asking
            // again cannot change it; the refusal is logged, the event not retried.
            if (!refusalOf(err)) throw err;
            log.warn(
              { err, eventId: event.id, orderId: reaction.orderId, reaction: reaction.kind },
              'choreography refused',
            );
            return;
          }
          break;
      }
      log.info(
        { eventId: event.id, type: event.type, orderId: reaction.orderId, reaction: reaction.kind },
        'choreography',
      );
    },
  });
}
