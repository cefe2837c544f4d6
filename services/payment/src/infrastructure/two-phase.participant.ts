// The payment service as a participant of the two-phase checkout (docs/patterns/two-phase-commit.md,
// ADR 37): the saga's authorize command, run by the same PaymentService code on a store whose
// transaction ends in PREPARE TRANSACTION `shop2pc:<orderId>:payment` instead of COMMIT, so the
// authorization exists only once the coordinator (order) commits it.
import {
  finishPrepared,
  type PreparedTransactionsDb,
  parsePreparedTransactionId,
  preparedTransactionError,
} from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import type { AuthorizeCommand, CommandContext, PaymentService } from '../application/payments';
import type { PaymentView } from '../domain/payment';

/** Refusals the processor answered: recorded (DECLINED) like the saga's, then the vote is no. */
const RECORDED_REFUSALS: ReadonlySet<string> = new Set(['SHOP_PAYMENT_DECLINED', 'SHOP_INSUFFICIENT_FUNDS']);

export class PaymentTwoPhaseParticipant {
  constructor(
    /** The use cases on a store whose transactions end in PREPARE TRANSACTION `gid` (PrismaPaymentStore's prepareAs). */
    private readonly preparedAs: (gid: string) => PaymentService,
    /** Any connection may finish a prepared transaction: the service's own Prisma client. */
    private readonly db: PreparedTransactionsDb,
  ) {}

  async prepareAuthorize(transactionId: string, cmd: AuthorizeCommand, ctx: CommandContext): Promise<PaymentView> {
    const { orderId } = parsePreparedTransactionId(transactionId, 'payment');
    if (cmd.orderId !== orderId) {
      throw new ShopError('SHOP_VALIDATION_FAILED', `orderId must be the order id of ${transactionId}`, {
        field: 'orderId',
      });
    }
    try {
      return await this.preparedAs(transactionId).authorize(cmd, ctx);
    } catch (err) {
      // A decline is answered after its transaction (here: prepared): keep it, as the saga's
      // authorize does; anything else leaves nothing behind.
      const recorded = err instanceof ShopError && RECORDED_REFUSALS.has(err.code);
      await finishPrepared(this.db, transactionId, recorded);
      throw preparedTransactionError(err, transactionId) ?? err;
    }
  }

  /** The coordinator's decision: COMMIT PREPARED or ROLLBACK PREPARED (`absent`: finished already). */
  finish(transactionId: string, commit: boolean) {
    parsePreparedTransactionId(transactionId, 'payment');
    return finishPrepared(this.db, transactionId, commit);
  }
}
