// The trust boundary behind the gateway, on the running shop (docs/architecture.md#trust-boundaries):
// the services' gRPC ports are called straight, as any process on their network could. A call
// without a service credential is refused UNAUTHENTICATED; cart's credential (cart's own key from
// the local stack's state directory) cannot capture a payment nor read an order; the gateway's
// credential with Bob's token cannot read Alice's orders, cart or profile. Through the gateway
// (which forwards each user's own token) the same reads answer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { SERVICE_TOKEN_METADATA, ServiceCredential, USER_TOKEN_METADATA } from '@shoplab/chassis';
import { cartV1, orderV1, paymentV1, userV1 } from '@shoplab/contracts';
import { adminBaseUrl, localBaseUrl, type Service } from '@shoplab/shopctl';
import {
  ADMIN_TOKEN,
  API,
  addToCart,
  admin,
  adminOk,
  assertAuditPasses,
  call,
  checkout,
  createProduct,
  direct,
  phases,
  registerShoppers,
  STATE_DIR,
  settledOrder,
} from './support';

type Caller = 'gateway' | 'cart' | 'order';
const GRPC = { user: 9081, cart: 9083, payment: 9084, order: 9085 } as const;

/** A service's credential from its key in the local stack's state directory (infra/local/services.sh). */
function credentialOf(service: Caller): ServiceCredential {
  return new ServiceCredential(service, readFileSync(join(STATE_DIR, 'keys', `${service}.key`), 'utf8').trim());
}

function metadata(headers: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

/** One unary call with exactly these headers; resolves with the status code (0 = OK). */
function unary<Req>(
  Client: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client,
  port: number,
  method: string,
  request: Req,
  headers: Record<string, string>,
): Promise<{ code: number; details: string }> {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void
  > &
    grpc.Client;
  return new Promise((resolve) => {
    client[method]!(request, metadata(headers), { deadline: Date.now() + 10_000 }, (err) => {
      client.close();
      resolve({ code: err ? err.code : grpc.status.OK, details: err?.details ?? '' });
    });
  });
}

const as = (service: Caller, target: keyof typeof GRPC, userToken?: string) => ({
  [SERVICE_TOKEN_METADATA]: credentialOf(service).tokenFor(target),
  ...(userToken ? { [USER_TOKEN_METADATA]: userToken } : {}),
});

test('each internal boundary refuses: no credential, the wrong caller, another user’s token', async (t) => {
  const phase = phases(t);
  const [alice, bob] = await registerShoppers(2, 'e2e-trust');
  assert.ok(alice && bob);
  const product = await createProduct(3, 700, `e2e-trust-${Date.now()}`);
  await addToCart(alice, product.id, 1);
  const orderId = await checkout(alice);
  const order = await settledOrder(alice, orderId);
  assert.equal(order.status, 'CONFIRMED', JSON.stringify(order.timeline));
  const paymentId = order.payment?.id as string;
  assert.ok(paymentId, 'the confirmed order names its payment');

  phase('no credential: UNAUTHENTICATED, whatever name the caller claims');
  const capture = { idempotencyKey: `e2e-trust-${orderId}`, paymentId };
  for (const headers of [{}, { 'shop-caller': 'order' }] as Record<string, string>[]) {
    const res = await unary(paymentV1.PaymentServiceClient, GRPC.payment, 'capture', capture, headers);
    assert.equal(res.code, grpc.status.UNAUTHENTICATED, res.details);
  }
  const noCredential = await unary(
    orderV1.OrderServiceClient,
    GRPC.order,
    'listOrders',
    { userId: alice.id, limit: 5, cursor: '' },
    {},
  );
  assert.equal(noCredential.code, grpc.status.UNAUTHENTICATED, noCredential.details);

  phase("cart's credential: PERMISSION_DENIED at payment.Capture and order.GetOrder");
  const cartCapture = await unary(
    paymentV1.PaymentServiceClient,
    GRPC.payment,
    'capture',
    capture,
    as('cart', 'payment'),
  );
  assert.equal(cartCapture.code, grpc.status.PERMISSION_DENIED, cartCapture.details);
  assert.match(cartCapture.details, /cart may not call payment\.v1\.PaymentService\/Capture/);
  const cartRead = await unary(
    orderV1.OrderServiceClient,
    GRPC.order,
    'getOrder',
    { id: orderId, userId: alice.id },
    as('cart', 'order', alice.token),
  );
  assert.equal(cartRead.code, grpc.status.PERMISSION_DENIED, cartRead.details);

  phase("the gateway's credential with Bob's token, for Alice: PERMISSION_DENIED at order, cart and user");
  const forAlice = [
    [orderV1.OrderServiceClient, GRPC.order, 'getOrder', { id: orderId, userId: alice.id }, 'order'],
    [orderV1.OrderServiceClient, GRPC.order, 'listOrders', { userId: alice.id, limit: 5, cursor: '' }, 'order'],
    [cartV1.CartServiceClient, GRPC.cart, 'getCart', { userId: alice.id }, 'cart'],
    [userV1.UserServiceClient, GRPC.user, 'getUser', { id: alice.id }, 'user'],
  ] as const;
  for (const [Client, port, method, request, target] of forAlice) {
    const withBobs = await unary(Client, port, method, request, as('gateway', target, bob.token));
    assert.equal(withBobs.code, grpc.status.PERMISSION_DENIED, `${method}: ${withBobs.details}`);
    const withNone = await unary(Client, port, method, request, as('gateway', target));
    assert.equal(withNone.code, grpc.status.UNAUTHENTICATED, `${method} without a user token: ${withNone.details}`);
    const withAlices = await unary(Client, port, method, request, as('gateway', target, alice.token));
    assert.equal(withAlices.code, grpc.status.OK, `${method} with Alice's own token: ${withAlices.details}`);
  }

  phase('through the gateway, each user reads their own; Bob does not see Alice’s order');
  const mine = await call('GET', `/orders/${orderId}`, { token: alice.token });
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  const me = await call('GET', '/me', { token: alice.token });
  assert.equal(me.status, 200, JSON.stringify(me.body));
  assert.deepEqual(me.body.degraded ?? [], [], 'profile, orders and cart all answered');
  const theirs = await call('GET', `/orders/${orderId}`, { token: bob.token });
  assert.equal(theirs.status, 404, JSON.stringify(theirs.body));

  phase('audit');
  await assertAuditPasses();
});

// The gateway's admin surface is on its admin listener (ADMIN_PORT), not on the public port: a
// public-port request to /admin/… or /api/v1/admin/… is the 404 of an unknown route, token or
// not, and changes nothing; the same request on the admin listener answers.
test('a public-port request to /admin/... is 404; the admin listener answers it', async () => {
  const publicBase = API.replace(/\/api\/v1$/, '');
  const adminBase = process.env.GATEWAY_ADMIN_URL ?? adminBaseUrl('gateway');
  assert.notEqual(publicBase, adminBase, 'the gateway has an admin listener of its own (ADMIN_PORT)');
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (const path of ['/admin/chaos', '/api/v1/admin/breakers', '/api/v1/admin/services', '/api/v1/admin/audit']) {
    const res = await fetch(`${publicBase}${path}`, { headers: bearer, signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 404, `public ${path}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `public ${path}`);
    assert.equal(((await res.json()) as { code: string }).code, 'SHOP_ROUTE_NOT_FOUND', `public ${path}`);
  }
  const fault = await fetch(`${publicBase}/api/v1/admin/chaos/gateway`, {
    method: 'PUT',
    headers: { ...bearer, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'http', match: 'GET /api/v1/products', fault: 'error', probability: 1 }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(fault.status, 404, 'no fault is added through the public port');
  const breakers = await fetch(`${adminBase}/api/v1/admin/breakers`, { headers: bearer });
  assert.equal(breakers.status, 200, 'the admin listener serves the same route');
  assert.equal((await fetch(`${adminBase}/api/v1/admin/breakers`)).status, 401, 'and wants the token');
  // The shopper's API and the docs stay on the public port.
  assert.equal((await fetch(`${API}/products?limit=1`)).status, 200);
  assert.equal((await fetch(`${publicBase}/openapi.json`)).status, 200);
});

// Every other service's admin routes (switches, chaos, the audit's reads) are on its own admin
// listener too: its HTTP port answers them with the 404 of an unknown route, token or not, and
// changes nothing; the admin listener answers the same request.
test("a service's HTTP port answers its admin routes 404; its admin listener answers them", async () => {
  const probes: [Service, string][] = [
    ['order', '/v1/admin/checkout-mode'],
    ['catalog', '/admin/outbox'],
    ['payment', '/admin/chaos'],
    ['cart', '/admin/consumers'],
    ['user', '/admin/breakers'],
  ];
  for (const [service, path] of probes) {
    assert.notEqual(adminBaseUrl(service), localBaseUrl(service), `${service} has an admin listener of its own`);
    const open = await direct(service, 'GET', path);
    assert.equal(open.status, 404, `${service} ${path} on its HTTP port: ${JSON.stringify(open.body)}`);
    assert.equal(open.body?.code, 'SHOP_ROUTE_NOT_FOUND', `${service} ${path}`);
    const listener = await admin(service, 'GET', path);
    assert.equal(listener.status, 200, `${service} ${path} on its admin listener: ${JSON.stringify(listener.body)}`);
  }
  // A switch cannot be flipped through the HTTP port: order's checkout mode stays as it was.
  const { mode } = await adminOk('order', 'GET', '/v1/admin/checkout-mode');
  const flip = await direct('order', 'PUT', '/v1/admin/checkout-mode', {
    mode: mode === 'orchestrated' ? 'choreographed' : 'orchestrated',
  });
  assert.equal(flip.status, 404, 'no checkout mode is set through the HTTP port');
  assert.equal((await adminOk('order', 'GET', '/v1/admin/checkout-mode')).mode, mode);
  assert.equal((await admin('order', 'GET', '/v1/admin/checkout-mode')).status, 200);
  assert.equal((await direct('order', 'GET', '/readyz')).status, 200, 'probes stay on the HTTP port');
  // The history's lag: the operator's path on its admin listener only; the one the gateway reads
  // for its pages stays on the HTTP port, behind the token.
  const history = process.env.SHOPLAB_HISTORY_URL ?? 'http://127.0.0.1:8086';
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
  assert.equal((await fetch(`${history}/admin/history/lag`, { headers: bearer })).status, 404);
  assert.equal((await fetch(`${history}/v1/history/lag`, { headers: bearer })).status, 200);
  assert.equal((await fetch(`${adminBaseUrl('history')}/admin/history/lag`, { headers: bearer })).status, 200);
});
