// The watch behind WatchOrder (order-watch.ts), on a fake of the order reads: one answer per
// change, notifications during a read folded into one more read, a resync without any
// notification, and nothing left subscribed after it ends or is aborted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import type { OrderQueries } from '../../src/application/order-queries';
import { notifyingStore, OrderChanges, watchOrder } from '../../src/application/order-watch';
import type { SagaStore } from '../../src/application/ports';
import type { OrderView } from '../../src/domain/order';

const ORDER_ID = '4b0c3f9e-0000-4000-8000-000000000001';

/** An order whose status and timeline the test sets; counts the reads. */
function fakeQueries() {
  const state = { status: 'PENDING' as OrderView['status'], steps: 0, reads: 0, exists: true };
  const queries = {
    get: async (userId: string, orderId: string): Promise<OrderView> => {
      state.reads++;
      if (!state.exists || userId !== 'u1') throw new ShopError('SHOP_NOT_FOUND', `No order ${orderId}`);
      return {
        id: orderId,
        userId,
        status: state.status,
        timeline: Array.from({ length: state.steps }, (_, i) => ({ step: `s${i}`, attempt: 1, outcome: 'SUCCEEDED' })),
        updatedAt: `t${state.steps}`,
      } as unknown as OrderView;
    },
  } as unknown as OrderQueries;
  return { state, queries };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a watch answers the order, then once per change, and ends after CONFIRMED', async () => {
  const { state, queries } = fakeQueries();
  const changes = new OrderChanges();
  const seen: string[] = [];
  const done = (async () => {
    for await (const o of watchOrder(queries, changes, 'u1', ORDER_ID, {
      resyncMs: 60_000,
      signal: new AbortController().signal,
    })) {
      seen.push(`${o.status}/${o.timeline.length}`);
    }
  })();
  await tick();
  changes.notify(ORDER_ID); // nothing changed: no answer
  await tick();
  state.steps = 1;
  changes.notify(ORDER_ID);
  await tick();
  state.steps = 2;
  state.status = 'CONFIRMED';
  changes.notify(ORDER_ID);
  await done;
  assert.deepEqual(seen, ['PENDING/0', 'PENDING/1', 'CONFIRMED/2']);
  assert.equal(changes.watched, 0);
});

test('notifications during a read fold into one more read', async () => {
  const { state, queries } = fakeQueries();
  const changes = new OrderChanges();
  const stop = new AbortController();
  const watch = watchOrder(queries, changes, 'u1', ORDER_ID, { resyncMs: 60_000, signal: stop.signal });
  await watch.next(); // the first answer
  const next = watch.next(); // waits for a change
  state.steps = 1;
  for (let i = 0; i < 5; i++) changes.notify(ORDER_ID);
  assert.equal((await next).value?.timeline.length, 1);
  assert.equal(state.reads, 2);
  stop.abort();
  assert.equal((await watch.next()).done, true);
  assert.equal(changes.watched, 0);
});

test('without any notification the watch reads again every resyncMs', async () => {
  const { state, queries } = fakeQueries();
  const changes = new OrderChanges();
  const stop = new AbortController();
  const watch = watchOrder(queries, changes, 'u1', ORDER_ID, { resyncMs: 100, signal: stop.signal });
  await watch.next();
  state.steps = 1; // changed by "another instance": nobody notifies
  assert.equal((await watch.next()).value?.timeline.length, 1);
  stop.abort();
  await watch.next();
  assert.equal(changes.watched, 0);
});

test('an unknown order or another user’s is SHOP_NOT_FOUND, and leaves nothing subscribed', async () => {
  const { queries } = fakeQueries();
  const changes = new OrderChanges();
  const signal = new AbortController().signal;
  await assert.rejects(watchOrder(queries, changes, 'u2', ORDER_ID, { resyncMs: 60_000, signal }).next(), {
    code: 'SHOP_NOT_FOUND',
  });
  assert.equal(changes.watched, 0);
});

test('the notifying store tells of each attempt it recorded, not of one another runner took', async () => {
  const changes = new OrderChanges();
  const heard: number[] = [];
  changes.subscribe(ORDER_ID.toLowerCase(), () => heard.push(1));
  let written = true;
  const store = notifyingStore(
    {
      beginAttempt: async () => (written ? { rowId: 1n, version: 2 } : undefined),
      finishAttempt: async () => (written ? 3 : undefined),
      release: async () => undefined,
    } as unknown as SagaStore,
    changes,
  );
  const saga = { orderId: ORDER_ID.toLowerCase() } as Parameters<SagaStore['beginAttempt']>[0];
  await store.beginAttempt(saga, {} as Parameters<SagaStore['beginAttempt']>[1]);
  await store.finishAttempt(saga, {} as Parameters<SagaStore['finishAttempt']>[1]);
  await store.release(saga, new Date());
  written = false;
  await store.finishAttempt(saga, {} as Parameters<SagaStore['finishAttempt']>[1]);
  assert.equal(heard.length, 2);
});
