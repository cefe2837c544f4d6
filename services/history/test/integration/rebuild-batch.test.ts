// The rebuild's batch replay (src/infrastructure/replay.ts) on the real stack: many events of
// one order in one batch merged into one write, the documents equal to the live ones, and a
// message that is not an event passed over without parking it again (the live consumer parked
// it when it arrived), while the rebuild goes on.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import { admin, checkoutEvents, type RunningHistory, startHistory } from '../support/harness';

let svc: RunningHistory;
const start = new Date('2026-11-21T09:00:00Z');
const orders = Array.from({ length: 12 }, (_, i) =>
  checkoutEvents({
    userId: `user-${randomUUID()}`,
    products: [{ productId: `p${i}`, name: `Batch Item ${i}`, quantity: 1 + (i % 3), price: 500 + i }],
    outcome: i % 4 === 0 ? 'cancelled' : 'confirmed',
    start: new Date(start.getTime() + i * 60_000),
  }),
);

async function allDocuments() {
  const rows = await svc.prisma.orderHistory.findMany({ orderBy: { orderId: 'asc' } });
  return rows.map(({ updatedAt: _updatedAt, ...row }) => row);
}

async function dlqMessages(): Promise<number> {
  const kafkaAdmin = svc.kafka.admin();
  await kafkaAdmin.connect();
  try {
    const offsets = await kafkaAdmin.fetchTopicOffsets(`${svc.orderTopic}.dlq`);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await kafkaAdmin.disconnect();
  }
}

before(async () => {
  svc = await startHistory();
  for (const o of orders) {
    for (const e of o.order) await svc.publish(svc.orderTopic, e);
    for (const e of o.payments) await svc.publish(svc.paymentTopic, e);
  }
  // Not a CloudEvent: the live consumer dead-letters it.
  const raw = svc.kafka.producer();
  await raw.connect();
  await raw.send({ topic: svc.orderTopic, messages: [{ key: 'junk', value: 'not an event' }] });
  await raw.disconnect();
  await eventually('every order confirmed or cancelled, the junk dead-lettered', async () => {
    const docs = await allDocuments();
    assert.equal(docs.length, orders.length);
    assert.ok(docs.every((d) => d.status !== 'PENDING' && ['CAPTURED', 'VOIDED'].includes(d.paymentStatus ?? '')));
    assert.equal(await dlqMessages(), 1);
    return true;
  });
});

after(async () => {
  await svc?.close();
});

test('rebuild by batches: the same documents and counts; a message that is not an event is passed over, not parked again', async (t) => {
  const before = await allDocuments();
  const started = await svc.app.http.inject({ method: 'POST', url: '/admin/history/rebuild', headers: admin });
  assert.equal(started.statusCode, 202, started.body);
  const done = await eventually('the rebuild done', async () => {
    const res = await svc.app.http.inject({ method: 'GET', url: '/admin/history/rebuild', headers: admin });
    assert.equal(res.json().state, 'done', res.body);
    return res.json() as { documents: number; eventsApplied: number; targetEvents: number; elapsedSeconds: number };
  });
  t.diagnostic(`rebuild of ${done.targetEvents} messages: ${done.elapsedSeconds} s`);
  assert.equal(done.documents, orders.length);
  // 12 orders × 4 events; the junk message is counted in the target, never applied.
  assert.equal(done.eventsApplied, orders.length * 4);
  assert.equal(done.targetEvents, orders.length * 4 + 1);
  assert.deepEqual(await allDocuments(), before);
  // The replay passed over the junk: the DLQ still holds only the live consumer's copy (the
  // replay commits past a message only after handling it, so at 'done' nothing is in flight).
  assert.equal(await dlqMessages(), 1);
  // Each applied event has its processed_events row under the new groups: a redelivery is skipped.
  const processed = await svc.prisma.processedEvent.count({ where: { consumerGroup: { endsWith: '-g1' } } });
  assert.equal(processed, orders.length * 4);
  const lag = (await svc.app.http.inject({ method: 'GET', url: '/admin/history/lag', headers: admin })).json();
  assert.ok(
    lag.topics.every((t: { events: number }) => t.events === 0),
    JSON.stringify(lag),
  );
});
