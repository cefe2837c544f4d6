// Exercise 15: the payment is a stream of events (event sourcing). The run places two batches of
// orders of its own with an instant T between them; drops the payment projections (payments,
// ledger_entries) and rebuilds them from the event store, which must give back every row as it
// was; asks the store for the shop's balance at T, after the second batch, and checks it against
// the orders that were confirmed at T; and races two captures of one payment, of which exactly
// one appends its event (docs/exercises/15-event-sourced-payment.md).
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { paymentV1 } from '@shoplab/contracts';
import { TEST_CARDS } from '../api';
import { callMetadata, unary } from '../grpc-call';
import { PaymentAdminApi, type PaymentBalance } from '../payment';
import { registerExercise } from './registry';
import { checkoutAll, paymentsByOrder, productInStock, shoppersWithCart, waitAllEnded } from './support';
import { check, type ExerciseContext } from './types';

const BEFORE_T = 3;
const AFTER_T = 2;
const RACE_AMOUNT = 1234;
const RACERS = 2;

interface AuditedOrders {
  orders: { id: string; status: 'PENDING' | 'CONFIRMED' | 'CANCELLED'; total: { amount: number; currency: string } }[];
}

interface Projections {
  payments: number;
  ledgerEntries: number;
  digest: string;
}

/** The order service's orders once none is PENDING (sagas of earlier runs may still be finishing). */
async function settledOrders(ctx: ExerciseContext): Promise<AuditedOrders['orders']> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { orders } = await ctx.admin.request<AuditedOrders>('order', 'GET', '/v1/admin/orders/audit');
    const pending = orders.filter((o) => o.status === 'PENDING').length;
    if (pending === 0) return orders;
    if (Date.now() > deadline) throw new Error(`${pending} order(s) still PENDING after 30 s`);
    await ctx.sleep(500);
  }
}

/** Sum of CONFIRMED order totals per currency: what captures − refunds must be (the audit's invariant 5). */
function confirmedTotals(orders: AuditedOrders['orders']): Map<string, number> {
  const totals = new Map<string, number>();
  for (const o of orders) {
    if (o.status === 'CONFIRMED') totals.set(o.total.currency, (totals.get(o.total.currency) ?? 0) + o.total.amount);
  }
  return totals;
}

function netOf(balance: PaymentBalance): Map<string, number> {
  return new Map(balance.totals.filter((t) => t.captured + t.refunded > 0).map((t) => [t.currency, t.net]));
}

const show = (m: Map<string, number>) =>
  [...m.entries()]
    .sort()
    .map(([c, n]) => `${n} ${c}`)
    .join(', ') || 'nothing';

function sameTotals(a: Map<string, number>, b: Map<string, number>): boolean {
  const currencies = new Set([...a.keys(), ...b.keys()]);
  return [...currencies].every((c) => (a.get(c) ?? 0) === (b.get(c) ?? 0));
}

export const exercise15 = registerExercise({
  number: 15,
  slug: 'event-sourced-payment',
  title: 'Event sourcing: the payment projections rebuilt from the event store, a past balance, a capture race',
  pattern: 'event sourcing (event store, projections, temporal query, optimistic concurrency)',
  doc: 'docs/exercises/15-event-sourced-payment.md',
  checkout: {
    modes: 'orchestrated',
    why: "not about checkout outcomes: payment's event store and projections",
  },
  async run(ctx) {
    const payments = new PaymentAdminApi(ctx.env, ctx.adminToken);
    const product = await productInStock(ctx, BEFORE_T + AFTER_T);
    const [before, after] = await Promise.all([
      shoppersWithCart(ctx, BEFORE_T, product.id),
      shoppersWithCart(ctx, AFTER_T, product.id),
    ]);

    ctx.step(`${BEFORE_T} orders, then the instant T`);
    const first = await waitAllEnded(ctx, await checkoutAll(ctx, before), 60_000);
    const ordersAtT = await settledOrders(ctx);
    // T on the payment service's clock (the one its events are recorded by).
    const balanceThen = await payments.balance();
    const t = new Date(balanceThen.at);
    const confirmedAtT = confirmedTotals(ordersAtT);
    ctx.log(`orders ${first.map((e) => e.order.status).join(', ')}; T = ${balanceThen.at}`);
    ctx.log(`at T: ${balanceThen.events} events in the store; confirmed order totals ${show(confirmedAtT)}`);
    await ctx.sleep(1_000);

    ctx.step(`${AFTER_T} more orders after T`);
    const second = await waitAllEnded(ctx, await checkoutAll(ctx, after), 60_000);
    ctx.log(`orders ${second.map((e) => e.order.status).join(', ')}`);
    const runOrders = [...first, ...second];
    const paid = await paymentsByOrder(
      ctx,
      runOrders.map((e) => e.orderId),
    );
    const summary = await ctx.admin.request<{ orders: { orderId: string; paymentIds: string[] }[] }>(
      'payment',
      'GET',
      '/v1/admin/payments/summary',
    );
    const paymentIdsOf = new Map(summary.orders.map((o) => [o.orderId, o.paymentIds]));
    ctx.log(`this run's payments: ${[...paid.values()].reduce((n, p) => n + p.payments, 0)}`);

    ctx.step('drop the payment projections, then rebuild them from the event store');
    const projectionsBefore = await ctx.admin.request<Projections>('payment', 'GET', '/v1/admin/payments/projections');
    ctx.defer('rebuild the payment projections (if the run stopped before it did)', async () => {
      const now = await ctx.admin.request<Projections>('payment', 'GET', '/v1/admin/payments/projections');
      if (now.payments === 0) await payments.rebuild();
    });
    const dropped = await ctx.admin.request<Projections>('payment', 'DELETE', '/v1/admin/payments/projections');
    ctx.log(
      `projections before: ${projectionsBefore.payments} payments, ${projectionsBefore.ledgerEntries} ledger entries, digest ${projectionsBefore.digest}`,
    );
    ctx.log(`dropped: ${dropped.payments} payments, ${dropped.ledgerEntries} ledger entries`);
    const rebuilt = await payments.rebuild();
    const projectionsAfter = await ctx.admin.request<Projections>('payment', 'GET', '/v1/admin/payments/projections');
    ctx.log(
      `rebuild: ${rebuilt.events} events of ${rebuilt.streams} streams in ${rebuilt.durationMs} ms → ${projectionsAfter.payments} payments, ${projectionsAfter.ledgerEntries} ledger entries, digest ${projectionsAfter.digest}`,
    );

    ctx.step('the balance at T, asked now, from the event store alone');
    const balanceAtT = await payments.balance(t);
    const netAtT = netOf(balanceAtT);
    const states = await Promise.all(
      runOrders.map(async (e) => {
        const ids = paymentIdsOf.get(e.orderId) ?? [];
        const atT = await Promise.all(ids.map((id) => payments.stream(id, t)));
        return { orderId: e.orderId, beforeT: first.includes(e), statuses: atT.map((s) => s.payment?.status ?? null) };
      }),
    );
    const firstAtT = states.filter((s) => s.beforeT);
    const secondAtT = states.filter((s) => !s.beforeT);
    ctx.log(
      `balance at T now: net ${show(netAtT)} (${balanceAtT.events} events); then: net ${show(netOf(balanceThen))}`,
    );
    ctx.log(
      `this run's payments at T: before T ${firstAtT.map((s) => s.statuses.join('/')).join(', ')}; after T ${secondAtT.map((s) => s.statuses.map((x) => x ?? 'none').join('/')).join(', ')}`,
    );

    ctx.step(`${RACERS} captures of one payment at once (the run plays the order service over gRPC)`);
    const address = ctx.env.SHOPLAB_PAYMENT_GRPC ?? '127.0.0.1:9084';
    const client = new paymentV1.PaymentServiceClient(address, grpc.credentials.createInsecure());
    ctx.defer('close the gRPC client', () => client.close());
    const md = await callMetadata('order', 'payment', ctx.env);
    const raceOrder = `${ctx.runId}-race`;
    const authorized = await unary<paymentV1.AuthorizeRequest, paymentV1.AuthorizeResponse>(
      client,
      client.authorize,
      {
        idempotencyKey: `${ctx.runId}-race-authorize`,
        orderId: raceOrder,
        amount: { amount: RACE_AMOUNT, currency: 'USD' },
        card: TEST_CARDS.ok,
      },
      md,
    );
    const paymentId = authorized.payment?.id ?? '';
    // No order stands behind this payment: it is refunded in full, so it nets to zero in the ledger.
    ctx.defer(`refund the race's payment ${paymentId}`, () =>
      unary(
        client,
        client.refund,
        {
          idempotencyKey: `${ctx.runId}-race-refund`,
          paymentId,
          amount: { amount: RACE_AMOUNT, currency: 'USD' },
        },
        md,
      ),
    );
    const answers = await Promise.allSettled(
      Array.from({ length: RACERS }, () =>
        unary<paymentV1.CaptureRequest, paymentV1.CaptureResponse>(
          client,
          client.capture,
          { idempotencyKey: randomUUID(), paymentId },
          md,
        ),
      ),
    );
    const stream = await payments.stream(paymentId);
    const captures = stream.events.filter((e) => e.type === 'PaymentCaptured');
    const raceLedger = (await paymentsByOrder(ctx, [raceOrder])).get(raceOrder);
    const answered = answers.map((a) =>
      a.status === 'fulfilled'
        ? paymentV1.PaymentStatus[a.value.payment?.status ?? 0]
        : `${(a.reason as grpc.ServiceError).code} ${(a.reason as Error).message}`,
    );
    ctx.log(`answers: ${answered.join('; ')}`);
    ctx.log(`stream: ${stream.events.map((e) => `v${e.version} ${e.type}`).join(', ')}`);

    const expectedAtT = confirmedAtT;
    return [
      check(
        'dropped and rebuilt from the event store, the projections are what they were: every row, every field',
        dropped.payments === 0 &&
          dropped.ledgerEntries === 0 &&
          projectionsAfter.digest === projectionsBefore.digest &&
          projectionsAfter.payments === projectionsBefore.payments &&
          projectionsAfter.ledgerEntries === projectionsBefore.ledgerEntries,
        `before: ${projectionsBefore.payments} payments, ${projectionsBefore.ledgerEntries} ledger entries, md5 ${projectionsBefore.digest}`,
        `dropped: ${dropped.payments} payments, ${dropped.ledgerEntries} ledger entries`,
        `rebuilt: ${rebuilt.events} events of ${rebuilt.streams} streams replayed in ${rebuilt.durationMs} ms; md5 ${projectionsAfter.digest}`,
      ),
      check(
        'the balance at T, asked after the later orders, is the sum of the orders confirmed at T',
        sameTotals(netAtT, expectedAtT) &&
          sameTotals(netAtT, netOf(balanceThen)) &&
          balanceAtT.events === balanceThen.events &&
          firstAtT.every((s) => s.statuses.length > 0 && s.statuses.every((x) => x === 'CAPTURED')) &&
          secondAtT.every((s) => s.statuses.every((x) => x === null)),
        `captured − refunded at T: ${show(netAtT)}; orders CONFIRMED at T: ${show(expectedAtT)}`,
        `asked at T itself: ${show(netOf(balanceThen))}, ${balanceThen.events} events; asked now: ${balanceAtT.events} events up to T`,
        `this run's payments at T: ${firstAtT.length} CAPTURED (before T), ${secondAtT.filter((s) => s.statuses.every((x) => x === null)).length} of ${secondAtT.length} not yet there (after T)`,
      ),
      check(
        `of ${RACERS} captures racing on one payment exactly one appends; the other re-reads and answers the captured payment`,
        captures.length === 1 &&
          raceLedger?.captureCount === 1 &&
          answers.every(
            (a) =>
              a.status === 'fulfilled' && a.value.payment?.status === paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED,
          ),
        `answers: ${answered.join('; ')}`,
        `stream ${paymentId}: ${stream.events.map((e) => `v${e.version} ${e.type}`).join(', ')}`,
        `ledger: ${raceLedger?.captureCount ?? 0} capture(s) of ${raceLedger?.captured ?? 0} USD`,
      ),
    ];
  },
});
