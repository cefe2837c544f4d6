// A command whose append finds its version taken re-reads and runs again; after the configured
// number of conflicts it answers SHOP_CONFLICT (gRPC ABORTED). A store in memory stands in for
// PostgreSQL here: the race itself runs on the real database in test/integration/event-store.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcStatus, ShopError } from '@shoplab/chassis/errors';
import { PaymentService } from '../../src/application/payments';
import { type PaymentStore, type PaymentTx, StreamConflict } from '../../src/application/ports';
import type { PaymentRecord } from '../../src/domain/payment';
import type { PaymentAggregate } from '../../src/domain/payment-events';

const ID = '6f1c8a1e-0000-4000-8000-000000000001';
const at = new Date('2026-12-05T12:00:00Z');
const authorized: PaymentRecord = {
  id: ID,
  orderId: 'o-1',
  status: 'AUTHORIZED',
  currency: 'USD',
  amount: 900,
  capturedAmount: 0,
  refundedAmount: 0,
  cardLast4: '4242',
  declineReason: null,
  createdAt: at,
  updatedAt: at,
};

/** Each transaction reads the next of `reads`; `append` conflicts while `conflicts` lasts. */
function storeWith(reads: PaymentAggregate[], conflicts: number) {
  const calls = { loads: 0, appends: 0 };
  const tx: PaymentTx = {
    claimKey: async () => 'claimed',
    saveOutcome: async () => {},
    loadPayment: async () => reads[Math.min(calls.loads++, reads.length - 1)],
    lockLivePayment: async () => undefined,
    append: async (streamId, expectedVersion, current, event) => {
      calls.appends++;
      if (calls.appends <= conflicts) throw new StreamConflict(streamId, expectedVersion);
      return {
        state: { ...(current as PaymentRecord), status: 'CAPTURED', capturedAmount: event.amount },
        version: expectedVersion + 1,
      };
    },
    writeEvents: async () => {},
  };
  const store = {
    transaction: (work: (t: PaymentTx) => Promise<unknown>) => work(tx),
    findKey: async () => undefined,
  } as unknown as PaymentStore;
  return { store, calls };
}

test('a conflict re-reads: the payment another command captured is answered as it is, nothing appended again', async () => {
  const captured = { ...authorized, status: 'CAPTURED' as const, capturedAmount: 900 };
  const { store, calls } = storeWith(
    [
      { state: authorized, version: 1 },
      { state: captured, version: 2 },
    ],
    1,
  );
  const payments = new PaymentService({ store, latencyMs: 0 });
  const view = await payments.capture({ idempotencyKey: 'k-1', paymentId: ID });
  assert.equal(view.status, 'CAPTURED');
  assert.deepEqual(calls, { loads: 2, appends: 1 });
  assert.equal(payments.appendConflicts, 1);
});

test('after appendRetries conflicts in a row the command answers SHOP_CONFLICT (ABORTED)', async () => {
  const { store, calls } = storeWith([{ state: authorized, version: 1 }], Number.POSITIVE_INFINITY);
  const payments = new PaymentService({ store, latencyMs: 0, appendRetries: 2 });
  await assert.rejects(payments.capture({ idempotencyKey: 'k-2', paymentId: ID }), (err: unknown) => {
    assert.ok(err instanceof ShopError);
    assert.equal(err.code, 'SHOP_CONFLICT');
    assert.equal(err.grpcStatus, GrpcStatus.ABORTED);
    return true;
  });
  assert.equal(calls.appends, 3);
  assert.equal(payments.appendConflicts, 3);
});
