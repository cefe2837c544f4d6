// The order service killed (SIGKILL) in the middle of sagas (issue 5), against the running shop:
// a payment latency fault holds several sagas inside a payment call, the process dies without
// recording their outcome, and `infra/local/services.sh up order` starts it again. Every saga
// must resume (after its lease) and end, with nothing done twice: the participants replay the
// commands resent with the same idempotency keys.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  addToCart,
  assertAuditPasses,
  breakersQuiet,
  checkout,
  clearFaults,
  createProduct,
  getOrder,
  injectFault,
  type Json,
  mapLimited,
  paymentsByOrder,
  poll,
  ready,
  registerShoppers,
  STATE_DIR,
  sagaSteps,
  settledStatuses,
  stackScript,
  stockOf,
  type TimelineEntry,
} from './support';

const SAGAS = 12;

/** The pid in services.sh's pid file, once its command line shows it is the order service. */
function orderPid(): number {
  const pid = Number(readFileSync(join(STATE_DIR, 'run', 'order.pid'), 'utf8').trim());
  assert.ok(Number.isInteger(pid) && pid > 1, `a pid in order.pid: ${pid}`);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.ok(
    cmdline.some((arg) => arg.endsWith('services/order/dist/src/main.js')),
    `pid ${pid} is the order service: ${cmdline.join(' ')}`,
  );
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ended = (s: TimelineEntry) => (s.step === 'confirm' || s.step === 'cancel') && s.outcome === 'SUCCEEDED';

test('sagas interrupted by a SIGKILL of the order service resume after the restart and end once', async (t) => {
  t.after(async () => {
    await clearFaults('payment');
    if (!(await ready('order'))) await stackScript('services.sh', 'up', 'order');
  });
  await breakersQuiet('order');
  const product = await createProduct(1000, 1700);
  const shoppers = await registerShoppers(SAGAS, 'order-crash');
  await mapLimited(shoppers, 4, (s) => addToCart(s, product.id, 1));
  const stockBefore = await stockOf(product.id);
  const paymentsBefore = await paymentsByOrder();

  // Each payment call now takes 3 s (within PAYMENT_DEADLINE_MS): sagas wait inside Authorize and Capture.
  await injectFault('payment', {
    kind: 'grpc',
    target: 'payment.v1.PaymentService/*',
    fault: { type: 'latency', ms: 3_000 },
  });
  const since = new Date(Date.now() - 1_000);
  const orderIds = await Promise.all(shoppers.map((s) => checkout(s)));
  await poll('three sagas inside a payment call', async () => {
    const orders = await Promise.all(orderIds.map((id, i) => getOrder(shoppers[i] as (typeof shoppers)[0], id)));
    const inFlight = orders.filter((o) => sagaSteps(o).at(-1)?.outcome === 'STARTED');
    return inFlight.length >= 3 ? true : undefined;
  });

  const pid = orderPid();
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  await poll('the killed order process to be gone', async () => (alive(pid) ? undefined : true), { timeoutMs: 10_000 });
  await clearFaults('payment');
  await stackScript('services.sh', 'up', 'order');
  assert.notEqual(orderPid(), pid, 'a new order process');

  // Sagas held by the dead runner are taken over when their lease (SAGA_LEASE_MS) ends.
  const statuses = await settledStatuses(orderIds, since, 180_000);
  const orders: Json[] = await mapLimited(orderIds, 8, (id, i) => getOrder(shoppers[i] as (typeof shoppers)[0], id));
  const payments = await paymentsByOrder();
  let resumed = 0;
  let interrupted = 0;
  for (const order of orders) {
    const steps = sagaSteps(order);
    const timeline = JSON.stringify(steps, null, 1);
    assert.equal(order.status, statuses.get(order.id));
    const endedBefore = steps.some((s) => ended(s) && Date.parse(s.finishedAt ?? '') < killedAt);
    if (!endedBefore) {
      resumed++;
      assert.ok(
        steps.some((s) => Date.parse(s.startedAt ?? '') > killedAt),
        `order ${order.id} was unfinished at the kill and has attempts after it: ${timeline}`,
      );
    }
    interrupted += steps.filter((s) => s.outcome === 'INTERRUPTED').length;
    assert.equal(steps.filter(ended).length, 1, `ended once: ${timeline}`);
    assert.equal(steps.filter((s) => s.outcome === 'STARTED').length, 0, `no attempt left open: ${timeline}`);

    const payment = payments.get(order.id);
    if (order.status === 'CONFIRMED') {
      assert.equal(payment?.captureCount, 1, `one capture for ${order.id}: ${JSON.stringify(payment)}`);
      assert.equal(payment?.captured, order.total.amount);
      assert.equal(payment?.refunded, 0);
    } else {
      assert.equal((payment?.captured ?? 0) - (payment?.refunded ?? 0), 0, `no net capture for ${order.id}`);
    }
    assert.ok(!paymentsBefore.has(order.id));
  }
  assert.ok(resumed > 0, 'some sagas were unfinished when the process died');
  assert.ok(interrupted > 0, 'the attempts in flight at the kill are marked INTERRUPTED');

  const confirmed = orders.filter((o) => o.status === 'CONFIRMED').length;
  const stock = await stockOf(product.id);
  assert.equal(stock.sold, stockBefore.sold + confirmed, 'each confirmed order committed its unit once');
  assert.equal(stock.reserved, stockBefore.reserved, 'nothing left reserved');
  assert.equal(stock.available, stockBefore.available - confirmed);

  await assertAuditPasses();
});
