// The gateway against an order service that checks its callers (docs/architecture.md#trust-boundaries):
// the gateway signs each call with its own key and forwards the user's token, so a user's reads
// are answered; with a key the order service does not know, every call is refused — and the
// gateway answers 401, never a 5xx, and its breaker stays closed (a refusal is the caller's mistake).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  type CallContext,
  createGrpcServer,
  createLogger,
  createMetrics,
  type GrpcServer,
  generateKeyPairSetting,
  requireCallUser,
  ServiceAuthenticator,
  ServiceCredential,
  useServiceCredential,
} from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import { bearer, type Gateway, startGateway, startWorld, USER_KEYS, type World } from '../support/harness';

const gatewayKeys = generateKeyPairSetting();
let world: World;
let gw: Gateway;
let order: GrpcServer;
const seen: { userId: string }[] = [];

before(async () => {
  world = await startWorld();
  order = createGrpcServer({
    serviceName: 'order',
    logger: createLogger({ service: 'order-test', level: 'silent' }),
    metrics: createMetrics('order'),
    authenticator: new ServiceAuthenticator({
      service: 'order',
      publicKeys: { gateway: gatewayKeys.publicKey },
      userTokenPublicKey: USER_KEYS.publicKey,
    }),
  });
  order.addService(orderV1.OrderServiceService, {
    listOrders: async (req: orderV1.ListOrdersRequest, ctx: CallContext) => {
      requireCallUser(ctx.identity, req.userId);
      seen.push({ userId: req.userId });
      return { orders: [], nextCursor: '' };
    },
    getOrder: async () => ({}),
    getTwoPhaseDecision: async () => orderV1.GetTwoPhaseDecisionResponse.fromPartial({}),
    watchOrder: () => undefined,
  });
  const port = await order.start();
  // The gateway's process credential comes from SERVICE_PRIVATE_KEY, as in every service.
  gw = await startGateway(world, { SERVICE_PRIVATE_KEY: gatewayKeys.privateKey }, { breaker: { volumeThreshold: 3 } });
  gw.registry.set('order', [`127.0.0.1:${port}`]);
});

after(async () => {
  useServiceCredential(undefined);
  await gw.close();
  await order.shutdown(1_000);
  await world.close();
});

test("the gateway's credential and the user's own token: the user's orders are answered", async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders', headers: bearer('alice') });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().items, []);
  assert.deepEqual(seen.at(-1), { userId: 'alice' });
});

test('a credential the order service does not know: 401 every time, no 5xx, the breaker stays closed', async () => {
  useServiceCredential(new ServiceCredential('gateway', generateKeyPairSetting().privateKey));
  try {
    for (let i = 0; i < 6; i++) {
      const res = await gw.app.inject({ url: '/api/v1/orders', headers: bearer('alice') });
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json().code, 'SHOP_UNAUTHENTICATED');
    }
    assert.equal(gw.kit.breakers.get('gateway', 'order')?.state, 'closed');
  } finally {
    useServiceCredential(new ServiceCredential('gateway', gatewayKeys.privateKey));
  }
  const again = await gw.app.inject({ url: '/api/v1/orders', headers: bearer('alice') });
  assert.equal(again.statusCode, 200, again.body);
});
