// Shipping joins the story event-driven, on the running shop: a shopper checks out; the
// confirmed order's event reaches the shipping service, which books a shipment in the legacy
// SOAP system (through the adapter) — and, with the create share at 100 %, natively. The
// shipment is read with shop ids and statuses; the legacy consignment number is only its
// tracking number.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAdminPath } from '@shoplab/chassis';
import { adminBaseUrl } from '@shoplab/shopctl';
import {
  ADMIN_TOKEN,
  addToCart,
  checkout,
  createProduct,
  getOrder,
  type Json,
  phases,
  poll,
  registerShoppers,
  type Shopper,
  settledOrder,
} from './support';

const SHIPPING = process.env.SHOPLAB_SHIPPING_URL ?? 'http://127.0.0.1:8087';
/** Its admin listener: the strangler's switches and /admin/chaos (404 on its HTTP port). */
const SHIPPING_ADMIN = adminBaseUrl('shipping');

/** A call to shipping with the admin token: admin routes on its admin listener, the rest on its HTTP port. */
async function shipping(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${isAdminPath(path) ? SHIPPING_ADMIN : SHIPPING}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function confirmedOrder(prefix: string, units: number): Promise<{ orderId: string; shopper: Shopper }> {
  const [shopper] = await registerShoppers(1, prefix);
  assert.ok(shopper);
  const product = await createProduct(5, 700, `${prefix}-${Date.now()}`);
  await addToCart(shopper, product.id, units);
  const orderId = await checkout(shopper);
  const order = await settledOrder(shopper, orderId);
  assert.equal(order.status, 'CONFIRMED', JSON.stringify(order));
  return { orderId, shopper };
}

async function shipmentOf(orderId: string): Promise<Json> {
  return poll(
    'the shipment of the confirmed order',
    async () => {
      const res = await shipping('GET', `/v1/shipments/${orderId}`);
      return res.status === 200 ? res.body : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

test('a confirmed order gets a shipment in the legacy system, read with shop ids and statuses', async (t) => {
  const phase = phases(t);
  const before = await shipping('GET', '/v1/admin/shipping/strangler');
  assert.equal(before.status, 200, JSON.stringify(before.body));
  assert.equal(before.body.nativeShare.create, 0, 'another run left creations routed to native');

  phase('check out 2 units');
  const { orderId, shopper } = await confirmedOrder('e2e-shipping', 2);

  phase('the shipment, booked through the adapter');
  const shipment = await shipmentOf(orderId);
  assert.equal(shipment.orderId, orderId);
  assert.equal(shipment.backend, 'legacy');
  assert.match(shipment.id, /^[0-9a-f-]{36}$/);
  assert.match(shipment.trackingNumber, /^SHP-\d{6,}$/);
  assert.equal(shipment.status, 'BOOKED');
  assert.equal(shipment.weightGrams, 800);
  assert.deepEqual(shipment.price, { amount: 649, currency: 'USD' });

  phase('the order page shows it beside the order');
  const page = await getOrder(shopper, orderId);
  assert.deepEqual(page.shipment, {
    id: shipment.id,
    status: 'BOOKED',
    trackingNumber: shipment.trackingNumber,
    price: { amount: 649, currency: 'USD' },
    updatedAt: shipment.updatedAt,
  });
  assert.equal(page.degraded, undefined, JSON.stringify(page.degraded));

  phase('shipping failing: the page without its shipment, marked degraded');
  const fault = await shipping('PUT', '/admin/chaos', {
    kind: 'grpc',
    target: '*/TrackShipment',
    fault: { type: 'fail' },
    durationSeconds: 60,
  });
  assert.equal(fault.status, 201, JSON.stringify(fault.body));
  try {
    const degraded = await getOrder(shopper, orderId);
    assert.equal(degraded.shipment, null);
    assert.deepEqual(degraded.degraded, ['shipment']);
    assert.equal(degraded.status, 'CONFIRMED');
  } finally {
    await shipping('DELETE', '/admin/chaos');
  }
});

test('with the create share at 100 %, a confirmed order is shipped natively', async (t) => {
  const phase = phases(t);
  phase('route every creation to the native implementation');
  const set = await shipping('PUT', '/v1/admin/shipping/strangler', { nativeShare: { create: 100 } });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  try {
    const { orderId } = await confirmedOrder('e2e-shipping-native', 1);
    const shipment = await shipmentOf(orderId);
    assert.equal(shipment.backend, 'native');
    assert.doesNotMatch(shipment.trackingNumber, /^SHP-/);
    assert.equal(shipment.status, 'BOOKED');
    assert.deepEqual(shipment.price, { amount: 649, currency: 'USD' });
  } finally {
    phase('roll back');
    const rolled = await shipping('POST', '/v1/admin/shipping/strangler/rollback');
    assert.equal(rolled.status, 200);
  }
});
