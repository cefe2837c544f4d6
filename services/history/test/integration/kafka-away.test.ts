// With Kafka away the read side still answers from its database, a rebuild is refused (503)
// before anything is dropped, and the lag says Kafka did not answer (503), never a 500.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { projectEvent } from '../../src/application/projection';
import { PrismaHistoryWrites } from '../../src/infrastructure/history.store';
import { admin, checkoutEvents, type RunningHistory, startHistory } from '../support/harness';

let svc: RunningHistory;
const order = checkoutEvents({
  userId: `user-${randomUUID()}`,
  products: [{ productId: 'lamp', name: 'Desk Lamp', quantity: 1, price: 4_500 }],
  outcome: 'confirmed',
  start: new Date('2026-11-25T09:00:00Z'),
});

before(async () => {
  // Nothing listens on port 1: every Kafka call fails at once.
  svc = await startHistory({ kafkaBrokers: '127.0.0.1:1' });
  // The documents a consumer would have written (through the same projection and store).
  for (const [topic, e] of [
    ...order.order.map((e) => ['order.events', e] as const),
    ...order.payments.map((e) => ['payment.events', e] as const),
  ]) {
    await svc.prisma.$transaction((tx) => projectEvent(e, topic, new PrismaHistoryWrites(tx)));
  }
});

after(async () => {
  await svc?.close();
});

test('reads answer from the database while Kafka is away', async () => {
  const res = await svc.app.http.inject({ method: 'GET', url: `/v1/history/orders/${order.orderId}` });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().status, 'CONFIRMED');
  assert.equal(res.json().version, 4);
  const ready = await svc.app.http.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200);
});

test('a rebuild is refused before anything is dropped, and the lag is a 503', async () => {
  const rebuild = await svc.app.http.inject({ method: 'POST', url: '/admin/history/rebuild', headers: admin });
  assert.equal(rebuild.statusCode, 503, rebuild.body);
  assert.match(String(rebuild.headers['content-type']), /application\/problem\+json/);
  const status = await svc.app.http.inject({ method: 'GET', url: '/admin/history/rebuild', headers: admin });
  assert.equal(status.json().state, 'idle');
  assert.equal(status.json().generation, 0);
  assert.equal(await svc.prisma.orderHistory.count(), 1);

  const lag = await svc.app.http.inject({ method: 'GET', url: '/admin/history/lag', headers: admin });
  assert.equal(lag.statusCode, 503, lag.body);
});
