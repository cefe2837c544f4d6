// The read side on the real stack: events published to Kafka (topics of this test's own), the
// consumers running as in main.ts, the documents read through the HTTP API; then the rebuild,
// which must reproduce every document exactly.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import { admin, checkoutEvents, type RunningHistory, startHistory } from '../support/harness';

let svc: RunningHistory;
const userA = `user-${randomUUID()}`;
const userB = `user-${randomUUID()}`;
const word = `zq${randomUUID()
  .slice(0, 6)
  .replace(/[^a-z]/g, 'x')}`;
const start = new Date('2026-11-20T12:00:00Z');
const day = (n: number) => new Date(start.getTime() + n * 86_400_000);

const mugOrder = checkoutEvents({
  userId: userA,
  products: [{ productId: 'mug', name: `Enamel ${word} Mug`, quantity: 2, price: 850 }],
  outcome: 'confirmed',
  start: day(0),
});
const penOrder = checkoutEvents({
  userId: userA,
  products: [{ productId: 'pen', name: 'Fountain Pen', quantity: 1, price: 12_000 }],
  outcome: 'cancelled',
  start: day(1),
});
const bookOrder = checkoutEvents({
  userId: userB,
  products: [
    { productId: 'book', name: 'Notebook', quantity: 3, price: 400 },
    { productId: 'mug', name: `Enamel ${word} Mug`, quantity: 1, price: 850 },
  ],
  outcome: 'confirmed',
  start: day(2),
});
const all = [mugOrder, penOrder, bookOrder];

async function getOrder(orderId: string) {
  return svc.app.http.inject({ method: 'GET', url: `/v1/history/orders/${orderId}` });
}

async function search(query: string) {
  const res = await svc.app.http.inject({ method: 'GET', url: `/v1/history/orders?${query}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { orders: { orderId: string; version: number }[]; nextCursor: string | null };
}

async function allDocuments() {
  const rows = await svc.prisma.orderHistory.findMany({ orderBy: { orderId: 'asc' } });
  return rows.map(({ updatedAt: _updatedAt, ...row }) => row);
}

before(async () => {
  svc = await startHistory();
  // Payment events first (the order service's arrive later): the read side keeps them and merges.
  for (const o of all) for (const e of o.payments) await svc.publish(svc.paymentTopic, e);
  await eventually('the payment events applied before their orders', async () => {
    const res = await getOrder(mugOrder.orderId);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().payment.status, 'CAPTURED');
    assert.equal(res.json().status, null);
    return true;
  });
  for (const o of all) for (const e of o.order) await svc.publish(svc.orderTopic, e);
  await eventually('every order at version 4', async () => {
    for (const o of all) assert.equal((await getOrder(o.orderId)).json().version, 4);
    return true;
  });
});

after(async () => {
  await svc?.close();
});

test('an order read through the API: items with names, payment state, outcome, timings, version', async () => {
  const doc = (await getOrder(mugOrder.orderId)).json();
  assert.equal(doc.userId, userA);
  assert.equal(doc.status, 'CONFIRMED');
  assert.deepEqual(doc.items, [
    {
      productId: 'mug',
      name: `Enamel ${word} Mug`,
      quantity: 2,
      unitPrice: { amount: 850, currency: 'USD' },
      lineTotal: { amount: 1700, currency: 'USD' },
    },
  ]);
  assert.deepEqual(doc.total, { amount: 1700, currency: 'USD' });
  assert.equal(doc.payment.status, 'CAPTURED');
  assert.equal(doc.payment.paymentId, mugOrder.paymentId);
  assert.deepEqual(doc.outcome, { result: 'confirmed', reason: null });
  assert.equal(doc.timings.durationMs, 3000);
  assert.equal(doc.version, 4);

  const cancelled = (await getOrder(penOrder.orderId)).json();
  assert.equal(cancelled.status, 'CANCELLED');
  assert.deepEqual(cancelled.outcome, { result: 'cancelled', reason: 'step_deadline_exceeded:capture_payment' });
  assert.equal(cancelled.payment.status, 'VOIDED');
});

test('search: by user, text, status, dates, amount, and pages with a cursor', async () => {
  const ids = (r: { orders: { orderId: string }[] }) => r.orders.map((o) => o.orderId);
  assert.deepEqual(ids(await search(`userId=${userA}`)), [penOrder.orderId, mugOrder.orderId]);
  assert.deepEqual(ids(await search(`q=${word}`)), [bookOrder.orderId, mugOrder.orderId]);
  assert.deepEqual(ids(await search(`q=${word}&userId=${userB}`)), [bookOrder.orderId]);
  assert.deepEqual(ids(await search(`userId=${userA}&status=CANCELLED`)), [penOrder.orderId]);
  assert.deepEqual(ids(await search(`q=${word}&from=${encodeURIComponent(day(1).toISOString())}`)), [
    bookOrder.orderId,
  ]);
  assert.deepEqual(ids(await search(`userId=${userA}&to=${encodeURIComponent(day(1).toISOString())}`)), [
    mugOrder.orderId,
  ]);
  assert.deepEqual(ids(await search(`userId=${userA}&minAmount=10000`)), [penOrder.orderId]);
  assert.deepEqual(ids(await search(`userId=${userA}&maxAmount=1700`)), [mugOrder.orderId]);

  const first = await search(`userId=${userA}&limit=1`);
  assert.deepEqual(ids(first), [penOrder.orderId]);
  assert.ok(first.nextCursor);
  const second = await search(`userId=${userA}&limit=1&cursor=${first.nextCursor}`);
  assert.deepEqual(ids(second), [mugOrder.orderId]);
  assert.equal(second.nextCursor, null);
});

test('bad input is a 400 problem, an unknown order a 404, never a 5xx', async () => {
  for (const query of [
    'limit=0',
    'limit=1000',
    'status=LOST',
    'from=yesterday',
    'minAmount=-1',
    'minAmount=abc',
    'cursor=not-a-cursor',
    'minAmount=10&maxAmount=5',
    `from=${encodeURIComponent(day(2).toISOString())}&to=${encodeURIComponent(day(1).toISOString())}`,
    `q=${'x'.repeat(300)}`,
  ]) {
    const res = await svc.app.http.inject({ method: 'GET', url: `/v1/history/orders?${query}` });
    assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  }
  // Words a text search cannot use are no error: no order matches them.
  assert.deepEqual((await search(`q=${encodeURIComponent('!!! & | ()')}`)).orders, []);
  const missing = await getOrder(randomUUID());
  assert.equal(missing.statusCode, 404);
  assert.match(String(missing.headers['content-type']), /application\/problem\+json/);
});

test('a redelivered event (same id) changes no document', async () => {
  const before = (await getOrder(mugOrder.orderId)).json();
  await svc.publish(svc.paymentTopic, mugOrder.payments[0]!);
  await svc.publish(svc.orderTopic, mugOrder.order[1]!);
  const marker = checkoutEvents({
    userId: userB,
    products: [{ productId: 'x', name: 'Marker', quantity: 1, price: 1 }],
    outcome: 'confirmed',
    start: day(3),
  });
  // Published after the duplicates, on both topics: once it is in, the duplicates were consumed.
  await svc.publish(svc.orderTopic, marker.order[0]!);
  await svc.publish(svc.paymentTopic, marker.payments[0]!);
  await eventually('the marker order at version 2', async () => {
    assert.equal((await getOrder(marker.orderId)).json().version, 2);
    return true;
  });
  assert.deepEqual((await getOrder(mugOrder.orderId)).json(), before);
});

test('lag: zero events behind once caught up, and the Prometheus gauges per topic', async () => {
  await eventually('no lag', async () => {
    const res = await svc.app.http.inject({ method: 'GET', url: '/admin/history/lag', headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    const topics = res.json().topics as { topic: string; events: number; seconds: number; eventsApplied: number }[];
    assert.deepEqual(topics.map((t) => t.topic).sort(), [svc.orderTopic, svc.paymentTopic].sort());
    for (const t of topics) {
      assert.equal(t.events, 0);
      assert.equal(t.seconds, 0);
      assert.ok(t.eventsApplied >= 7);
    }
    return true;
  });
  const unauthorized = await svc.app.http.inject({ method: 'GET', url: '/admin/history/lag' });
  assert.equal(unauthorized.statusCode, 401);
  const metrics = (await svc.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, new RegExp(`shop_history_lag_events\\{topic="${svc.orderTopic}"[^}]*\\} 0`));
  assert.match(metrics, new RegExp(`shop_history_lag_seconds\\{topic="${svc.paymentTopic}"[^}]*\\} 0`));
});

test('lag while the consumer hangs: events waiting and seconds behind, per topic; both 0 once it resumes', async () => {
  const lagOf = async (topic: string) => {
    const res = await svc.app.http.inject({ method: 'GET', url: '/admin/history/lag', headers: admin });
    return (res.json().topics as { topic: string; events: number; seconds: number }[]).find((t) => t.topic === topic);
  };
  const hang = await svc.app.http.inject({
    method: 'PUT',
    url: '/admin/chaos',
    headers: admin,
    payload: { kind: 'consumer', target: svc.orderTopic, fault: { type: 'hang' }, durationSeconds: 120 },
  });
  assert.equal(hang.statusCode, 201, hang.body);
  const late = checkoutEvents({
    userId: userB,
    products: [{ productId: 'late', name: 'Late Lamp', quantity: 1, price: 100 }],
    outcome: 'confirmed',
    start: day(4),
  });
  try {
    for (const e of late.order) await svc.publish(svc.orderTopic, e);
    const behind = await eventually('the order topic lagging by the two events', async () => {
      const lag = await lagOf(svc.orderTopic);
      return lag && lag.events >= 2 ? lag : undefined;
    });
    assert.ok(behind.seconds > 0, `seconds ${behind.seconds}`);
    assert.equal((await lagOf(svc.paymentTopic))?.events, 0);
    const metrics = (await svc.app.http.inject({ method: 'GET', url: '/metrics' })).body;
    const gauge = new RegExp(
      `shop_history_lag_events\\{topic="${svc.orderTopic.replace(/\./g, '\\.')}"[^}]*\\} (\\d+)`,
    ).exec(metrics);
    assert.ok(gauge && Number(gauge[1]) >= 2, `gauge: ${gauge?.[0]}`);
    assert.equal((await getOrder(late.orderId)).statusCode, 404);
  } finally {
    await svc.app.http.inject({ method: 'DELETE', url: '/admin/chaos', headers: admin });
  }
  await eventually('the order topic caught up', async () => {
    const lag = await lagOf(svc.orderTopic);
    return lag && lag.events === 0 && lag.seconds === 0 ? lag : undefined;
  });
  assert.equal((await getOrder(late.orderId)).json().status, 'CONFIRMED');
});

test('rebuild: the read model dropped and replayed from the topics equals the one before', async () => {
  const before = await allDocuments();
  assert.ok(before.length >= 4);
  const started = await svc.app.http.inject({ method: 'POST', url: '/admin/history/rebuild', headers: admin });
  assert.equal(started.statusCode, 202, started.body);
  assert.equal(started.json().state, 'running');
  assert.equal(started.json().generation, 1);
  // A second rebuild while one runs is refused (409); one that comes after it finished starts
  // the next generation.
  const again = await svc.app.http.inject({ method: 'POST', url: '/admin/history/rebuild', headers: admin });
  const generation = again.statusCode === 202 ? 2 : 1;
  if (again.statusCode !== 202) assert.equal(again.statusCode, 409, again.body);

  const done = await eventually('the rebuild done', async () => {
    const res = await svc.app.http.inject({ method: 'GET', url: '/admin/history/rebuild', headers: admin });
    const status = res.json() as {
      state: string;
      documents: number;
      eventsApplied: number;
      targetEvents: number;
      elapsedSeconds: number;
    };
    assert.equal(status.state, 'done', res.body);
    return status;
  });
  assert.equal(done.documents, before.length);
  // 3 orders × 4 events, the marker's 2 and the late order's 2; the topics also hold the 2
  // redelivered copies, which the rebuild's groups skip as well.
  assert.equal(done.eventsApplied, 16);
  assert.equal(done.targetEvents, 18);
  assert.ok(done.elapsedSeconds > 0);
  assert.deepEqual(await allDocuments(), before);

  const lag = (await svc.app.http.inject({ method: 'GET', url: '/admin/history/lag', headers: admin })).json();
  assert.ok(lag.topics.every((t: { groupId: string }) => t.groupId.endsWith(`-g${generation}`)));
});
