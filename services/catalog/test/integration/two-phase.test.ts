// The catalog as a two-phase participant (docs/patterns/two-phase-commit.md) on a real
// PostgreSQL: a prepared reservation is invisible and holds its stock rows locked until the
// coordinator's decision, survives its connection, and is committed or rolled back by id; and a
// participant that asks: what it held prepared too long is finished as the coordinator (a
// stand-in order on real gRPC) decided, and kept, counted, while it cannot be reached.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  BreakerRegistry,
  type CoordinatorAnswer,
  createLogger,
  createMetrics,
  createTwoPhaseDecisionClient,
  preparedTransactionsStore,
  ShopError,
  StaticRegistry,
  TwoPhaseInquiry,
} from '@shoplab/chassis';
import { eventually } from '@shoplab/chassis/testing';
import { catalogV1, orderV1 } from '@shoplab/contracts';
import { Registry } from 'prom-client';
import {
  ADMIN_TOKEN,
  addProduct,
  assertStockInvariant,
  type CatalogClient,
  outboxFor,
  startTestCatalog,
  stockOf,
  type TestCatalog,
} from '../support/harness';

let catalog: TestCatalog;
let client: CatalogClient;

before(async () => {
  catalog = await startTestCatalog('catalog_two_phase');
  client = catalog.client;
});
after(() => catalog?.close());
afterEach(async () => {
  // Every test finishes what it prepared: the database could not even be dropped otherwise.
  const left = await prepared();
  for (const gid of left) await catalog.sql.query(`ROLLBACK PREPARED '${gid}'`);
  assert.deepEqual(left, [], 'a test left prepared transactions behind');
  await assertStockInvariant(catalog.sql);
});

async function prepared(): Promise<string[]> {
  const { rows } = await catalog.sql.query<{ gid: string }>(
    'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY gid',
  );
  return rows.map((r) => r.gid);
}

async function product(stock: number): Promise<string> {
  const id = `t-${randomUUID().slice(0, 8)}`;
  await addProduct(catalog.sql, id, stock);
  return id;
}

function prepareReserve(orderId: string, lines: { productId: string; quantity: number }[]) {
  return client.call('prepareReserveStock', {
    transactionId: `shop2pc:${orderId}:catalog`,
    idempotencyKey: `${orderId}:two_phase`,
    reservationId: orderId,
    lines,
  });
}

const finish = (orderId: string, commit: boolean) =>
  client.call('finishPrepared', { transactionId: `shop2pc:${orderId}:catalog`, commit });

function rejectsWith(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ShopError, `expected a ShopError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

describe('the catalog as a two-phase participant', () => {
  test('a prepared reservation is invisible and locks its rows; after its connections drop, COMMIT PREPARED applies it', async () => {
    const p = await product(10);
    const orderId = randomUUID();
    const { reservation } = await prepareReserve(orderId, [{ productId: p, quantity: 3 }]);
    assert.equal(reservation?.status, catalogV1.ReservationStatus.RESERVATION_STATUS_RESERVED);
    assert.deepEqual(await prepared(), [`shop2pc:${orderId}:catalog`]);
    // Nothing is visible before the decision: no reservation, stock as it was, no event.
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 10, reserved: 0, sold: 0 });
    assert.deepEqual(await outboxFor(catalog.sql, orderId), []);
    // The stock row is held by the prepared transaction, not by any session.
    await assert.rejects(
      catalog.sql.query('SELECT 1 FROM stock WHERE product_id = $1 FOR UPDATE NOWAIT', [p]),
      (err: { code?: string }) => err.code === '55P03',
    );
    // Another order of the product cannot prepare: it gives up on the lock, a conflict (ABORTED).
    await assert.rejects(prepareReserve(randomUUID(), [{ productId: p, quantity: 1 }]), rejectsWith('SHOP_CONFLICT'));

    // The "crash": every connection of the catalog's database is dropped. The prepared one lives on.
    await catalog.sql.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    // A pool's first query after its connections were dropped may fail: ask again, as the coordinator would.
    assert.deepEqual(await eventually('the database answers again', () => prepared()), [`shop2pc:${orderId}:catalog`]);
    assert.equal((await eventually('the catalog answers again', () => finish(orderId, true))).outcome, 'committed');
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 7, reserved: 3, sold: 0 });
    assert.deepEqual(
      (await outboxFor(catalog.sql, orderId)).map((r) => r.event_type),
      ['shop.catalog.stock_reserved.v1'],
    );
    // The decision delivered again (a coordinator that retried): answered, nothing moves.
    assert.equal((await finish(orderId, true)).outcome, 'absent');
    // The saga's next step works on the committed reservation as on any other.
    await client.call('commitStock', { idempotencyKey: `${orderId}:commit_stock`, reservationId: orderId });
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 7, reserved: 0, sold: 3 });
  });

  test('ROLLBACK PREPARED leaves nothing: no reservation, no stock moved, no event', async () => {
    const p = await product(4);
    const orderId = randomUUID();
    await prepareReserve(orderId, [{ productId: p, quantity: 4 }]);
    assert.equal((await finish(orderId, false)).outcome, 'rolled_back');
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 4, available: 4, reserved: 0, sold: 0 });
    assert.deepEqual(await outboxFor(catalog.sql, orderId), []);
    const { rows } = await catalog.sql.query('SELECT 1 FROM reservations WHERE id = $1', [orderId]);
    assert.equal(rows.length, 0);
    // Once rolled back, the same order may prepare again (the coordinator's fresh attempt).
    await prepareReserve(orderId, [{ productId: p, quantity: 4 }]);
    assert.equal((await finish(orderId, false)).outcome, 'rolled_back');
  });

  test('a refusal prepares nothing; bad input is INVALID_ARGUMENT, never INTERNAL', async () => {
    const p = await product(1);
    await assert.rejects(
      prepareReserve(randomUUID(), [{ productId: p, quantity: 2 }]),
      rejectsWith('SHOP_OUT_OF_STOCK'),
    );
    for (const transactionId of [
      '',
      'shop2pc:nope:catalog',
      `shop2pc:${randomUUID()}:payment`,
      "x'; DROP TABLE stock; --",
    ]) {
      await assert.rejects(
        client.call('prepareReserveStock', {
          transactionId,
          idempotencyKey: 'k',
          reservationId: 'r',
          lines: [{ productId: p, quantity: 1 }],
        }),
        rejectsWith('SHOP_VALIDATION_FAILED'),
        transactionId,
      );
      await assert.rejects(
        client.call('finishPrepared', { transactionId, commit: true }),
        rejectsWith('SHOP_VALIDATION_FAILED'),
      );
    }
    // The reservation must be the order's own id.
    await assert.rejects(
      client.call('prepareReserveStock', {
        transactionId: `shop2pc:${randomUUID()}:catalog`,
        idempotencyKey: 'k',
        reservationId: randomUUID(),
        lines: [{ productId: p, quantity: 1 }],
      }),
      rejectsWith('SHOP_VALIDATION_FAILED'),
    );
    // An unknown id is finished already, whatever the decision.
    assert.equal((await finish(randomUUID(), false)).outcome, 'absent');
  });
});

/** A stand-in coordinator: order.v1.OrderService/GetTwoPhaseDecision answering from `decisions`. */
async function startCoordinator(decisions: Map<string, CoordinatorAnswer>) {
  const server = new grpc.Server();
  const DECISION = {
    COMMIT: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_COMMIT,
    ABORT: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_ABORT,
    UNKNOWN: orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_UNKNOWN,
  };
  server.addService(orderV1.OrderServiceService, {
    getTwoPhaseDecision: (
      call: grpc.ServerUnaryCall<orderV1.GetTwoPhaseDecisionRequest, orderV1.GetTwoPhaseDecisionResponse>,
      done: grpc.sendUnaryData<orderV1.GetTwoPhaseDecisionResponse>,
    ) => done(null, { decision: DECISION[decisions.get(call.request.orderId) ?? 'ABORT'] }),
  } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** The catalog's inquiry as main.ts runs it, asking the coordinator at `address`, every transaction due at once. */
function inquiryAt(address: string) {
  const registry = new Registry();
  const breakers = new BreakerRegistry();
  const logger = createLogger({ service: 'catalog-test', level: 'silent' });
  const coordinator = createTwoPhaseDecisionClient(
    {
      config: { SERVICE_NAME: 'catalog' },
      registry: new StaticRegistry({ order: [address] }),
      metrics: createMetrics('catalog-test'),
      breakers,
      logger,
    },
    { deadlineMs: 1_000 },
  );
  const inquiry = new TwoPhaseInquiry({
    participant: 'catalog',
    store: preparedTransactionsStore(catalog.sql),
    ask: coordinator.ask,
    close: () => {
      coordinator.close();
      breakers.close();
    },
    logger,
    registry,
    settings: { askAfterMs: 0, intervalMs: 50, maxBackoffMs: 200 },
  });
  const unreachable = async () =>
    (await registry.getSingleMetric('shop_two_phase_inquiries_total')?.get())?.values.find(
      (v) => v.labels.outcome === 'unreachable',
    )?.value;
  return { inquiry, unreachable };
}

describe('the catalog asks the coordinator about what it held prepared too long', () => {
  test('COMMIT and ABORT decided: the inquiry finishes each as decided (the reservation applied, or nothing left)', async () => {
    const decisions = new Map<string, CoordinatorAnswer>();
    const coordinator = await startCoordinator(decisions);
    const { inquiry } = inquiryAt(coordinator.address);
    try {
      // Two products: a second prepare of the same one would wait for the first one's row lock.
      const p = await product(10);
      const q = await product(10);
      const committed = randomUUID();
      const aborted = randomUUID();
      await prepareReserve(committed, [{ productId: p, quantity: 2 }]);
      await prepareReserve(aborted, [{ productId: q, quantity: 3 }]);
      decisions.set(committed, 'COMMIT');
      decisions.set(aborted, 'ABORT');
      assert.deepEqual(await inquiry.sweep(), { committed: 1, rolledBack: 1, unknown: 0, unreachable: 0, waiting: 0 });
      assert.deepEqual(await prepared(), []);
      assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 8, reserved: 2, sold: 0 });
      assert.deepEqual(await stockOf(catalog.sql, q), { initial: 10, available: 10, reserved: 0, sold: 0 });
      const { rows } = await catalog.sql.query<{ id: string }>(
        'SELECT id FROM reservations WHERE id = ANY($1::text[])',
        [[committed, aborted]],
      );
      assert.deepEqual(
        rows.map((r) => r.id),
        [committed],
      );
      await client.call('releaseStock', { idempotencyKey: `${committed}:release`, reservationId: committed });
    } finally {
      await inquiry.stop();
      await coordinator.stop();
    }
  });

  test('the coordinator unreachable: the transaction stays prepared, its row locked, and the miss is counted; once it answers, finished', async () => {
    const decisions = new Map<string, CoordinatorAnswer>();
    const coordinator = await startCoordinator(decisions);
    await coordinator.stop();
    const down = inquiryAt(coordinator.address);
    const p = await product(5);
    const orderId = randomUUID();
    await prepareReserve(orderId, [{ productId: p, quantity: 1 }]);
    try {
      assert.equal((await down.inquiry.sweep()).unreachable, 1);
      assert.deepEqual(await prepared(), [`shop2pc:${orderId}:catalog`], 'no decision of its own');
      assert.equal(await down.unreachable(), 1);
      await assert.rejects(
        catalog.sql.query('SELECT 1 FROM stock WHERE product_id = $1 FOR UPDATE NOWAIT', [p]),
        (err: { code?: string }) => err.code === '55P03',
      );
      // The same through the service's own wiring: its inquiry knows no order address here.
      const viaRoute = await catalog.app.http.inject({
        method: 'POST',
        url: '/v1/admin/two-phase/inquire',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(viaRoute.statusCode, 200);
      assert.deepEqual(viaRoute.json(), { committed: 0, rolledBack: 0, unknown: 0, unreachable: 1 });
      assert.deepEqual(await prepared(), [`shop2pc:${orderId}:catalog`]);
    } finally {
      await down.inquiry.stop();
    }
    // The coordinator is back (and decided ABORT): the participant's own inquiry ends it.
    const back = await startCoordinator(new Map([[orderId, 'ABORT']]));
    const up = inquiryAt(back.address);
    try {
      up.inquiry.start();
      await eventually('the participant finished it', async () => ((await prepared()).length === 0 ? true : undefined));
      assert.deepEqual(await stockOf(catalog.sql, p), { initial: 5, available: 5, reserved: 0, sold: 0 });
    } finally {
      await up.inquiry.stop();
      await back.stop();
    }
  });
});
