// The trust boundary of the internal gRPC calls, on real grpc-js servers and clients: every call
// carries a service credential the server verifies and looks up in GRPC_CALLERS, and a call the
// gateway makes for a user carries that user's token (service-auth.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { healthV1, orderV1, paymentV1 } from '@shoplab/contracts';
import { createSigner } from 'fast-jwt';
import { createTokenSigner } from '../../src/auth';
import { StaticRegistry } from '../../src/discovery';
import { GrpcStatus, ShopError } from '../../src/errors';
import { createGrpcClient } from '../../src/grpc-client';
import { type CallContext, createGrpcServer, type GrpcServer, streamIdentity } from '../../src/grpc-server';
import { generateKeyPairSetting, parsePrivateKey, pemOf } from '../../src/keys';
import { createLogger } from '../../src/logging';
import { createMetrics } from '../../src/metrics';
import { BreakerRegistry } from '../../src/resilience';
import {
  requireCallUser,
  SERVICE_TOKEN_METADATA,
  ServiceAuthenticator,
  ServiceCredential,
  USER_TOKEN_METADATA,
  userTokenMetadata,
} from '../../src/service-auth';

const logger = createLogger({ service: 'service-auth-test', level: 'silent' });
const names = ['gateway', 'order', 'cart', 'payment'] as const;
const keys = Object.fromEntries(names.map((n) => [n, generateKeyPairSetting()])) as Record<
  (typeof names)[number],
  { privateKey: string; publicKey: string }
>;
const publicKeys = Object.fromEntries(names.map((n) => [n, keys[n].publicKey]));
const userKeys = generateKeyPairSetting();
const signUser = createTokenSigner(userKeys.privateKey);
const ada = { id: 'user-ada', email: 'ada@example.com', name: 'Ada' };
const bob = { id: 'user-bob', email: 'bob@example.com', name: 'Bob' };
const credential = (n: (typeof names)[number]) => new ServiceCredential(n, keys[n].privateKey);

const payment = { address: '', captured: 0 };
const orders = { address: '' };
const servers: GrpcServer[] = [];
const registries: BreakerRegistry[] = [];
/** One breaker registry per client: each client makes its own breaker for its (caller, target). */
function breakers(): BreakerRegistry {
  const registry = new BreakerRegistry();
  registries.push(registry);
  return registry;
}

function server(service: string): GrpcServer {
  const s = createGrpcServer({
    serviceName: service,
    logger,
    metrics: createMetrics(service),
    authenticator: new ServiceAuthenticator({ service, publicKeys, userTokenPublicKey: userKeys.publicKey }),
  });
  servers.push(s);
  return s;
}

const unimplemented = async () => {
  throw new ShopError('SHOP_BAD_REQUEST', 'not in this test');
};

before(async () => {
  const p = server('payment').addService(paymentV1.PaymentServiceService, {
    authorize: unimplemented,
    capture: async (req: paymentV1.CaptureRequest) => {
      payment.captured++;
      return { payment: paymentV1.Payment.fromPartial({ id: req.paymentId }) };
    },
    void: unimplemented,
    refund: unimplemented,
    getPayment: unimplemented,
    prepareAuthorize: unimplemented,
    finishPrepared: unimplemented,
  });
  payment.address = `127.0.0.1:${await p.start()}`;
  const order = (userId: string) => orderV1.Order.fromPartial({ id: 'o-1', userId });
  const o = server('order').addService(orderV1.OrderServiceService, {
    getOrder: async (req: orderV1.GetOrderRequest, ctx: CallContext) => {
      requireCallUser(ctx.identity, req.userId);
      return { order: order(req.userId) };
    },
    listOrders: unimplemented,
    getTwoPhaseDecision: unimplemented,
    watchOrder: ((call: grpc.ServerWritableStream<orderV1.WatchOrderRequest, orderV1.WatchOrderResponse>) => {
      try {
        requireCallUser(streamIdentity(call), call.request.userId);
      } catch (err) {
        call.emit('error', { code: (err as ShopError).grpcStatus, details: (err as ShopError).message });
        return;
      }
      call.write({ order: order(call.request.userId) });
      call.end();
    }) as grpc.UntypedHandleCall,
  });
  orders.address = `127.0.0.1:${await o.start()}`;
});

after(async () => {
  for (const registry of registries) registry.close();
  await Promise.all(servers.map((s) => s.shutdown(1_000)));
});

function paymentClient(caller: string, cred: ServiceCredential | null) {
  return createGrpcClient(
    paymentV1.PaymentServiceClient,
    { caller, target: 'payment', registry: new StaticRegistry({ payment: [payment.address] }), deadlineMs: 2_000 },
    {
      metrics: createMetrics(caller),
      breakers: breakers(),
      logger,
      credential: cred,
    },
  );
}

function orderClient(cred: ServiceCredential | null) {
  return createGrpcClient(
    orderV1.OrderServiceClient,
    {
      caller: 'gateway',
      target: 'order',
      registry: new StaticRegistry({ order: [orders.address] }),
      deadlineMs: 2_000,
      breaker: { volumeThreshold: 3 },
    },
    { metrics: createMetrics('gateway'), breakers: breakers(), logger, credential: cred },
  );
}

/** A raw grpc-js unary call with exactly these headers: what any process on the network can send. */
function rawCapture(metadata: Record<string, string>): Promise<grpc.ServiceError | null> {
  const client = new paymentV1.PaymentServiceClient(payment.address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    client.capture({ idempotencyKey: 'k', paymentId: 'p-raw' }, md, (err) => {
      client.close();
      resolve(err);
    });
  });
}

const shopCode = (code: string) => (err: unknown) => err instanceof ShopError && err.code === code;

describe('the service credential', () => {
  test('a call without a credential is refused UNAUTHENTICATED, and the handler never runs', async () => {
    const before = payment.captured;
    const err = await rawCapture({ 'shop-caller': 'order' }); // claiming a name proves nothing
    assert.equal(err?.code, GrpcStatus.UNAUTHENTICATED);
    assert.match(err?.details ?? '', /needs a service credential/);
    assert.equal(payment.captured, before);
  });

  test("cart's credential cannot call payment.Capture: PERMISSION_DENIED; order's can", async () => {
    const before = payment.captured;
    const asCart = paymentClient('cart', credential('cart'));
    await assert.rejects(asCart.call('capture', { idempotencyKey: 'k1', paymentId: 'p-1' }), (err: unknown) => {
      assert.ok(shopCode('SHOP_FORBIDDEN')(err));
      assert.match((err as ShopError).message, /cart may not call payment\.v1\.PaymentService\/Capture/);
      return true;
    });
    assert.equal(payment.captured, before);
    const asOrder = paymentClient('order', credential('order'));
    const res = await asOrder.call('capture', { idempotencyKey: 'k2', paymentId: 'p-2' });
    assert.equal(res.payment?.id, 'p-2');
    assert.equal(payment.captured, before + 1);
    asCart.close();
    asOrder.close();
  });

  test('a forged, expired or misaddressed token is refused UNAUTHENTICATED', async () => {
    const cartKey = pemOf(parsePrivateKey(keys.cart.privateKey));
    const orderKey = pemOf(parsePrivateKey(keys.order.privateKey));
    const claims = { sub: 'order', aud: 'service:payment' };
    // cart signs a token that says it is order
    const forged = createSigner({ key: cartKey, algorithm: 'EdDSA', iss: 'service:order', expiresIn: 60_000 })(claims);
    const expired = createSigner({
      key: orderKey,
      algorithm: 'EdDSA',
      iss: 'service:order',
      expiresIn: 1_000,
      clockTimestamp: Date.now() - 120_000,
    })(claims);
    const forever = createSigner({ key: orderKey, algorithm: 'EdDSA', iss: 'service:order' })(claims);
    const forCatalog = new ServiceCredential('order', keys.order.privateKey).tokenFor('catalog');
    const unknown = new ServiceCredential('shipping', generateKeyPairSetting().privateKey).tokenFor('payment');
    for (const [what, token] of Object.entries({ forged, expired, forever, forCatalog, unknown })) {
      const err = await rawCapture({ [SERVICE_TOKEN_METADATA]: token });
      assert.equal(err?.code, GrpcStatus.UNAUTHENTICATED, what);
    }
  });

  test('refusals are the caller’s mistake: never retried, the breaker stays closed', async () => {
    const client = orderClient(null);
    for (let i = 0; i < 8; i++) {
      await assert.rejects(client.call('getOrder', { id: 'o-1', userId: ada.id }), shopCode('SHOP_UNAUTHENTICATED'));
    }
    assert.equal(client.breaker.state, 'closed');
    client.close();
  });

  test('grpc.health.v1 answers without a credential (probes and load balancers)', async () => {
    const health = new healthV1.HealthClient(payment.address, grpc.credentials.createInsecure());
    const res = await new Promise<healthV1.HealthCheckResponse>((resolve, reject) =>
      health.check({ service: '' }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    health.close();
    assert.equal(res.status, healthV1.HealthCheckResponse_ServingStatus.SERVING);
  });
});

describe("the user's token on user-scoped calls", () => {
  const gateway = credential('gateway');

  test("a call for Ada with Ada's token is answered; with Bob's it is PERMISSION_DENIED", async () => {
    const client = orderClient(gateway);
    const res = await client.call(
      'getOrder',
      { id: 'o-1', userId: ada.id },
      { metadata: userTokenMetadata(`Bearer ${signUser(ada)}`) },
    );
    assert.equal(res.order?.userId, ada.id);
    await assert.rejects(
      client.call('getOrder', { id: 'o-1', userId: ada.id }, { metadata: userTokenMetadata(signUser(bob)) }),
      shopCode('SHOP_FORBIDDEN'),
    );
    client.close();
  });

  test('without a user token, or with one the user service did not sign, the gateway is refused', async () => {
    const client = orderClient(gateway);
    await assert.rejects(client.call('getOrder', { id: 'o-1', userId: ada.id }), shopCode('SHOP_UNAUTHENTICATED'));
    const otherUserService = createTokenSigner(generateKeyPairSetting().privateKey);
    await assert.rejects(
      client.call('getOrder', { id: 'o-1', userId: ada.id }, { metadata: userTokenMetadata(otherUserService(ada)) }),
      shopCode('SHOP_UNAUTHENTICATED'),
    );
    client.close();
  });

  test("the WatchOrder stream is checked too: no credential, or Bob's token for Ada's order, ends it", async () => {
    const watch = (metadata: Record<string, string>) =>
      new Promise<grpc.ServiceError | orderV1.WatchOrderResponse[]>((resolve) => {
        const client = new orderV1.OrderServiceClient(orders.address, grpc.credentials.createInsecure());
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        const got: orderV1.WatchOrderResponse[] = [];
        const call = client.watchOrder({ id: 'o-1', userId: ada.id }, md);
        call.on('data', (m: orderV1.WatchOrderResponse) => got.push(m));
        call.on('error', (err: grpc.ServiceError) => {
          client.close();
          resolve(err);
        });
        call.on('end', () => {
          client.close();
          resolve(got);
        });
      });
    const token = gateway.tokenFor('order');
    const none = (await watch({})) as grpc.ServiceError;
    assert.equal(none.code, GrpcStatus.UNAUTHENTICATED);
    const bobs = (await watch({
      [SERVICE_TOKEN_METADATA]: token,
      [USER_TOKEN_METADATA]: signUser(bob),
    })) as grpc.ServiceError;
    assert.equal(bobs.code, GrpcStatus.PERMISSION_DENIED);
    const adas = await watch({ [SERVICE_TOKEN_METADATA]: token, [USER_TOKEN_METADATA]: signUser(ada) });
    assert.ok(Array.isArray(adas) && adas[0]?.order?.userId === ada.id);
  });
});

test('a credential reuses its token per target until half its lifetime, then signs a new one', () => {
  let now = Date.now();
  const cred = new ServiceCredential('order', keys.order.privateKey, 60, () => now);
  const first = cred.tokenFor('payment');
  assert.equal(cred.tokenFor('payment'), first);
  assert.notEqual(cred.tokenFor('catalog'), first);
  now += 31_000;
  const claims = JSON.parse(Buffer.from(cred.tokenFor('payment').split('.')[1]!, 'base64url').toString());
  assert.deepEqual(
    [claims.iss, claims.aud, claims.sub, typeof claims.exp],
    ['service:order', 'service:payment', 'order', 'number'],
  );
});
