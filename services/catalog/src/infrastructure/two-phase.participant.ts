// The catalog as a participant of the two-phase checkout (docs/patterns/two-phase-commit.md,
// ADR 37): the saga's reserve command, run by the same StockReservations code in a transaction
// that ends in PREPARE TRANSACTION `shop2pc:<orderId>:catalog` instead of COMMIT. Until the
// coordinator (order) finishes it, the prepared transaction holds the reservation's stock rows
// locked: another order of those products waits (or, through this participant, gives up after
// lockTimeoutMs).
import { finishPrepared, parsePreparedTransactionId, preparedTransactionError } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import type pg from 'pg';
import { type ReserveInput, StockReservations } from '../application/stock-reservations';
import type { Reservation } from '../domain/stock';
import type { SqlStockStore } from './stock.store';

export class CatalogTwoPhaseParticipant {
  constructor(
    private readonly store: SqlStockStore,
    /** Any connection may finish a prepared transaction: the service's own pool (pgPoolOf). */
    private readonly pool: pg.Pool,
  ) {}

  /** Reserves the lines in a prepared transaction; a refusal (out of stock) prepares nothing. */
  async prepareReserve(transactionId: string, input: ReserveInput): Promise<Reservation> {
    const { orderId } = parsePreparedTransactionId(transactionId, 'catalog');
    if (input.reservationId !== orderId) {
      throw new ShopError('SHOP_VALIDATION_FAILED', `reservationId must be the order id of ${transactionId}`, {
        field: 'reservationId',
      });
    }
    try {
      return await new StockReservations(this.store.preparedAs(transactionId)).reserve(input);
    } catch (err) {
      throw preparedTransactionError(err, transactionId) ?? err;
    }
  }

  /** The coordinator's decision: COMMIT PREPARED or ROLLBACK PREPARED (`absent`: finished already). */
  finish(transactionId: string, commit: boolean) {
    parsePreparedTransactionId(transactionId, 'catalog');
    return finishPrepared(this.pool, transactionId, commit);
  }
}
