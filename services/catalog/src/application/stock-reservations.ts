// The stock commands the checkout saga sends: reserve, commit, release, restock. Each runs in
// one transaction that takes, in this order, an advisory lock on its idempotency key, the
// reservation row and the stock rows (in product-id order), so concurrent commands never
// deadlock and never oversell; its events go to the outbox in the same transaction.
import { ShopError } from '@shoplab/chassis/errors';
import { fingerprintOf, replay, type StockOperation } from '../domain/idempotency';
import {
  assertReservable,
  decideTransition,
  normalizeLines,
  type Reservation,
  type ReservationCommand,
  type StockLine,
  sameLines,
  TRANSITIONS,
} from '../domain/stock';
import type { StockEvent, StockStore, StockTransaction } from './ports';

export interface ReserveInput {
  idempotencyKey: string;
  reservationId: string;
  lines: readonly StockLine[];
}

export interface TransitionInput {
  idempotencyKey: string;
  reservationId: string;
}

/** Outcome of one command, for metrics. */
export type CommandOutcome = 'applied' | 'replayed' | 'no_op' | 'refused' | 'failed';
export type CommandObserver = (operation: StockOperation, outcome: CommandOutcome) => void;

/** Thrown when the idempotency key was recorded by a concurrent transaction: roll back and start again. */
class KeyRecordedConcurrently extends Error {}

const EVENT_OF: Record<ReservationCommand, StockEvent['type']> = {
  commit: 'stock_committed',
  release: 'stock_released',
  restock: 'stock_restocked',
};

export const MAX_RESERVATION_ID_LENGTH = 200;

export class StockReservations {
  constructor(
    private readonly store: StockStore,
    private readonly observe: CommandObserver = () => undefined,
  ) {}

  /**
   * Holds every line or none. An existing reservation id with the same lines is returned as it
   * is (nothing moves); with other lines it is refused.
   */
  reserve(input: ReserveInput): Promise<Reservation> {
    checkReservationId(input.reservationId);
    const lines = normalizeLines(input.lines);
    const request = { reservationId: input.reservationId, lines };
    return this.run('reserve', input.idempotencyKey, request, async (tx) => {
      if (!(await tx.createReservation(input.reservationId, 'RESERVED'))) {
        const existing = (await tx.lockReservation(input.reservationId)) as Reservation;
        if (existing.lines.length > 0 && sameLines(existing.lines, lines))
          return { reservation: existing, moved: false };
        if (existing.lines.length === 0) {
          throw new ShopError(
            'SHOP_RESERVATION_INVALID_STATE',
            `Reservation ${input.reservationId} was released before it was reserved`,
            { reservationId: input.reservationId, status: existing.status },
          );
        }
        throw new ShopError('SHOP_ALREADY_EXISTS', `Reservation ${input.reservationId} exists with other lines`, {
          reservationId: input.reservationId,
        });
      }
      const stock = await tx.lockStock(lines.map((line) => line.productId));
      assertReservable(lines, stock);
      for (const line of lines) await tx.moveStock(line.productId, ['available', 'reserved'], line.quantity);
      await tx.addReservationLines(input.reservationId, lines);
      await tx.emit({ type: 'stock_reserved', reservationId: input.reservationId, lines });
      return { reservation: { id: input.reservationId, status: 'RESERVED', lines }, moved: true };
    });
  }

  /** RESERVED → COMMITTED: reserved units become sold. Committing a COMMITTED one is a no-op. */
  commit(input: TransitionInput): Promise<Reservation> {
    return this.transition('commit', input);
  }

  /**
   * RESERVED → RELEASED: reserved units become available again. Releasing a RELEASED one is a
   * no-op; releasing an unknown id records it as RELEASED with no lines, so a reserve that
   * arrives late (a retry that overtook its own timeout) cannot hold stock for a dead order.
   */
  release(input: TransitionInput): Promise<Reservation> {
    return this.transition('release', input);
  }

  /** COMMITTED → RESTOCKED: sold units become available again (the sale was undone). */
  restock(input: TransitionInput): Promise<Reservation> {
    return this.transition('restock', input);
  }

  private transition(command: ReservationCommand, input: TransitionInput): Promise<Reservation> {
    checkReservationId(input.reservationId);
    const id = input.reservationId;
    return this.run(command, input.idempotencyKey, { reservationId: id }, async (tx) => {
      let reservation = await tx.lockReservation(id);
      if (!reservation && command === 'release' && (await tx.createReservation(id, 'RELEASED'))) {
        return { reservation: { id, status: 'RELEASED', lines: [] }, moved: false };
      }
      // A concurrent reserve may have created it between the two statements above.
      reservation ??= await tx.lockReservation(id);
      if (!reservation) throw new ShopError('SHOP_NOT_FOUND', `No reservation ${id}`, { reservationId: id });
      if (decideTransition(command, reservation) === 'already-done') return { reservation, moved: false };
      const { move, to } = TRANSITIONS[command];
      for (const line of reservation.lines) await tx.moveStock(line.productId, move, line.quantity);
      await tx.setReservationStatus(id, to);
      await tx.emit({ type: EVENT_OF[command], reservationId: id, lines: reservation.lines });
      return { reservation: { ...reservation, status: to }, moved: true };
    });
  }

  /** The idempotency frame around a command: replay a recorded outcome, or do the work and record it. */
  private async run(
    operation: StockOperation,
    key: string,
    request: unknown,
    work: (tx: StockTransaction) => Promise<{ reservation: Reservation; moved: boolean }>,
  ): Promise<Reservation> {
    const fingerprint = fingerprintOf(operation, request);
    for (let attempt = 1; ; attempt++) {
      try {
        const { reservation, outcome } = await this.store.transaction(async (tx) => {
          await tx.lockIdempotencyKey(key);
          const recorded = await tx.findIdempotencyRecord(key);
          if (recorded) {
            return {
              reservation: replay(recorded, operation, fingerprint) as Reservation,
              outcome: 'replayed' as const,
            };
          }
          const done = await work(tx);
          if (!(await tx.saveIdempotencyRecord({ key, operation, fingerprint, response: done.reservation }))) {
            throw new KeyRecordedConcurrently();
          }
          return { reservation: done.reservation, outcome: done.moved ? ('applied' as const) : ('no_op' as const) };
        });
        this.observe(operation, outcome);
        return reservation;
      } catch (err) {
        // Only reachable if two transactions on one key got past the advisory lock; the retry replays.
        if (err instanceof KeyRecordedConcurrently && attempt < 3) continue;
        this.observe(operation, err instanceof ShopError && !err.transient ? 'refused' : 'failed');
        throw err;
      }
    }
  }
}

function checkReservationId(id: string): void {
  if (!id || id.trim() !== id || id.length > MAX_RESERVATION_ID_LENGTH) {
    throw new ShopError(
      'SHOP_VALIDATION_FAILED',
      `reservationId must be 1..${MAX_RESERVATION_ID_LENGTH} characters without surrounding spaces`,
      { field: 'reservationId' },
    );
  }
}
