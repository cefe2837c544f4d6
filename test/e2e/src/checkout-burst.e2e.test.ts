// A burst at the front door (docs/adr/0016-checkout-load-shedding.md): right after the order
// service restarts, 60 shoppers check out at once. Each answer is 202 or a quick 503
// SHOP_BULKHEAD_FULL with Retry-After, never a 504 or 500 that leaves the client unsure whether
// an order exists; every 503 sent again with its Idempotency-Key after Retry-After is accepted
// in the end; every accepted order ends CONFIRMED or CANCELLED, one per shopper. And a 504 (the
// order service answered too late) means "unknown": the same request sent again answers with the
// one order there is, made then or before.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  type Answer,
  addToCart,
  assertAuditPasses,
  CARDS,
  call,
  clearFaults,
  createProduct,
  injectFault,
  mapLimited,
  phases,
  poll,
  registerShoppers,
  type Shopper,
  settledOrder,
  settledStatuses,
  sleep,
  stackScript,
  stockOf,
} from './support';

const SHOPPERS = 60;

/** What a client may be told at checkout: accepted, or refused now with when to come back. */
function assertAcceptedOrShed(answer: Answer, what: string): 'accepted' | 'shed' {
  if (answer.status === 202) {
    assert.match(answer.body?.orderId ?? '', /^[0-9a-f-]{36}$/, `${what}: ${JSON.stringify(answer.body)}`);
    return 'accepted';
  }
  assert.equal(answer.status, 503, `${what}: only 202 or 503, got ${answer.status} ${JSON.stringify(answer.body)}`);
  assert.match(answer.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.equal(answer.body?.code, 'SHOP_BULKHEAD_FULL', `${what}: ${JSON.stringify(answer.body)}`);
  const retryAfter = answer.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^[1-9]\d*$/, `${what}: a 503 says when to come back (Retry-After: ${retryAfter})`);
  return 'shed';
}

test('60 checkouts at once right after order restarts: 202 or 503 with Retry-After, never 504; retried 503s are accepted', async (t) => {
  const phase = phases(t);
  const product = await createProduct(SHOPPERS, 1500);
  const shoppers = await registerShoppers(SHOPPERS, 'burst', 8);
  await mapLimited(shoppers, 8, (s) => addToCart(s, product.id, 1));
  phase('shoppers with a cart');

  await stackScript('services.sh', 'down', 'order');
  await stackScript('services.sh', 'up', 'order');
  phase('order restarted');

  const since = new Date();
  const body = { card: CARDS.ok };
  const send = (s: Shopper, key: string) =>
    call('POST', '/checkout', { token: s.token, body, headers: { 'idempotency-key': key } });
  const keys = shoppers.map(() => randomUUID());
  const first = await Promise.all(shoppers.map((s, i) => send(s, keys[i] as string)));
  const kinds = first.map((a, i) => assertAcceptedOrShed(a, `shopper ${i}, first try`));
  const shedFirst = kinds.filter((k) => k === 'shed').length;
  t.diagnostic(`first wave: ${SHOPPERS - shedFirst} accepted, ${shedFirst} shed (503 + Retry-After)`);
  phase('first wave answered');

  // Clients that were shed come back when told, with the same key, until accepted.
  const orderIds = new Array<string>(SHOPPERS);
  first.forEach((a, i) => {
    if (a.status === 202) orderIds[i] = a.body.orderId;
  });
  let retries = 0;
  await Promise.all(
    first.map(async (answer, i) => {
      let last = answer;
      const deadline = Date.now() + 120_000;
      while (last.status !== 202) {
        assert.ok(Date.now() < deadline, `shopper ${i} was still shed after 120 s`);
        await sleep(Number(last.headers.get('retry-after')) * 1000);
        retries++;
        last = await send(shoppers[i] as Shopper, keys[i] as string);
        assertAcceptedOrShed(last, `shopper ${i}, retry`);
      }
      orderIds[i] = last.body.orderId;
    }),
  );
  t.diagnostic(`${retries} retries after Retry-After`);
  phase('every checkout accepted');

  assert.equal(new Set(orderIds).size, SHOPPERS, 'one order per shopper');
  // The same key again is the same order (the answer a client gets after a lost response).
  for (const i of [0, SHOPPERS - 1]) {
    const again = await send(shoppers[i] as Shopper, keys[i] as string);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal(again.body.orderId, orderIds[i]);
  }

  const statuses = await settledStatuses(orderIds, since);
  const confirmed = orderIds.filter((id) => statuses.get(id) === 'CONFIRMED').length;
  t.diagnostic(`${confirmed} confirmed, ${SHOPPERS - confirmed} cancelled`);
  phase('every order ended');
  const stock = await stockOf(product.id);
  assert.equal(stock.sold, confirmed, 'one unit per confirmed order');
  assert.equal(stock.reserved, 0);
  await assertAuditPasses();
});

test('after a 504 the same Idempotency-Key answers with the one order there is', async (t) => {
  const product = await createProduct(5, 1500);
  const [shopper] = await registerShoppers(1, 'late');
  assert.ok(shopper);
  await addToCart(shopper, product.id, 1);
  // The order service answers later than the gateway waits (ORDER_DEADLINE_MS, 2 s).
  t.after(() => clearFaults('order'));
  await injectFault('order', {
    kind: 'http',
    target: 'POST /v1/checkout',
    fault: { type: 'latency', ms: 3_000 },
    durationSeconds: 60,
  });
  const key = randomUUID();
  const send = () =>
    call('POST', '/checkout', { token: shopper.token, body: { card: CARDS.ok }, headers: { 'idempotency-key': key } });
  const late = await send();
  assert.equal(late.status, 504, JSON.stringify(late.body));
  assert.equal(late.body.code, 'SHOP_TIMEOUT');
  await clearFaults('order');
  // Whatever the late request did (the order service gives up on a caller that hung up), the
  // client's retry with the same key gets one answer, and again the same one.
  const retried = await poll('the retry to be accepted', async () => {
    const answer = await send();
    return answer.status === 202 ? answer : undefined;
  });
  const again = await send();
  assert.equal(again.status, 202);
  assert.equal(again.body.orderId, retried.body.orderId);
  const mine = await call('GET', '/orders', { token: shopper.token });
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  assert.deepEqual(
    mine.body.items.map((o: { id: string }) => o.id),
    [retried.body.orderId],
    'the shopper has exactly one order',
  );
  const order = await settledOrder(shopper, retried.body.orderId);
  assert.equal(order.status, 'CONFIRMED');
  assert.equal((await stockOf(product.id)).sold, 1);
  await assertAuditPasses();
});
