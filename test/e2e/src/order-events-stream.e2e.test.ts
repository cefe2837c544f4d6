// The order page's events on the running shop, streaming vs polling (docs/patterns/streaming.md):
// in streaming mode the gateway holds one WatchOrder stream per followed order and the events
// end with CONFIRMED; a client that goes away closes its stream at the order service; in polling
// mode no stream is opened. Payment's Authorize is slowed so the order stays PENDING a while.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADMIN_TOKEN, API, addToCart, adminOk, call, checkout, createProduct, poll, registerShoppers } from './support';

const GATEWAY = API.replace(/\/api\/v1$/, '');
const ORDER = process.env.SHOPLAB_ORDER_URL ?? 'http://127.0.0.1:8085';

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

async function setMode(mode: 'streaming' | 'polling') {
  const res = await call('PUT', '/admin/order-events', { token: ADMIN_TOKEN, body: { mode } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

/** Reads the SSE stream of an order to its end; the event names in order. */
async function follow(orderId: string, token: string, signal?: AbortSignal): Promise<string[]> {
  const res = await fetch(`${API}/orders/${orderId}/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: signal ?? AbortSignal.timeout(60_000),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  return [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => {
    const data = JSON.parse(m[2] as string) as { status?: string; cancelReason?: string | null };
    if (m[1] !== 'status') return m[1] as string;
    return data.cancelReason ? `status:${data.status} (${data.cancelReason})` : `status:${data.status}`;
  });
}

test('order events: one WatchOrder stream per followed order in streaming mode, none in polling mode', async (t) => {
  const { mode: was } = (await call('GET', '/admin/order-events', { token: ADMIN_TOKEN })).body;
  t.after(async () => {
    await setMode(was);
    await adminOk('payment', 'DELETE', '/admin/chaos');
  });
  const product = await createProduct(10);
  const shoppers = await registerShoppers(3, 'e2e-order-events');
  for (const s of shoppers) await addToCart(s, product.id, 1);
  await adminOk(
    'payment',
    'PUT',
    '/admin/chaos',
    {
      kind: 'grpc',
      target: 'payment.v1.PaymentService/Authorize',
      fault: { type: 'latency', ms: 1_500 },
      durationSeconds: 60,
    },
    201,
  );
  const [streamed, left, polled] = shoppers as [(typeof shoppers)[0], (typeof shoppers)[0], (typeof shoppers)[0]];

  await setMode('streaming');
  const watchesBefore = await metric(GATEWAY, 'shop_gateway_order_watches_total');
  const events = await follow(await checkout(streamed), streamed.token);
  assert.equal(events[0], 'status:PENDING');
  assert.equal(events.at(-1), 'status:CONFIRMED');
  assert.ok(events.filter((e) => e === 'step').length >= 3, events.join(' '));
  assert.equal((await metric(GATEWAY, 'shop_gateway_order_watches_total')) - watchesBefore, 1);

  // A client that leaves while the order is PENDING: its stream at the order service ends too.
  const openBefore = await metric(ORDER, 'shop_order_watch_streams');
  const stop = new AbortController();
  const leaving = follow(await checkout(left), left.token, stop.signal).catch(() => []);
  await poll('the watch open at the order service', async () =>
    (await metric(ORDER, 'shop_order_watch_streams')) > openBefore ? true : undefined,
  );
  stop.abort();
  await leaving;
  await poll('the watch closed at the order service', async () =>
    (await metric(ORDER, 'shop_order_watch_streams')) <= openBefore ? true : undefined,
  );

  await setMode('polling');
  const watchesBeforePolling = await metric(GATEWAY, 'shop_gateway_order_watches_total');
  const polledEvents = await follow(await checkout(polled), polled.token);
  assert.equal(polledEvents.at(-1), 'status:CONFIRMED');
  assert.equal(await metric(GATEWAY, 'shop_gateway_order_watches_total'), watchesBeforePolling);
});
