// The adapter and the strangler against the real legacy SOAP server (started here, on a free
// port) and a scratch PostgreSQL database.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BreakerRegistry,
  createGrpcClient,
  createLogger,
  createMetrics,
  createPrismaAdapter,
  createServiceKit,
  GrpcStatus,
  loadConfig,
  ShopError,
  StaticRegistry,
} from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { shippingV1 } from '@shoplab/contracts';
import { buildApp as buildLegacy, type LegacyShippingApp } from '@shoplab/legacy-shipping-service/dist/src/app';
import { configSchema as legacyConfigSchema } from '@shoplab/legacy-shipping-service/dist/src/config';
import { buildApp, type ShippingApp } from '../../src/app';
import { configSchema } from '../../src/config';
import { PrismaClient } from '../../src/generated/prisma/client';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const common = {
  ADMIN_TOKEN,
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  HTTP_PORT: '0',
  OTEL_SDK_DISABLED: 'true',
};

let legacy: LegacyShippingApp;
let db: ScratchDatabase;
let prisma: PrismaClient;
let app: ShippingApp;

before(async () => {
  legacy = await buildLegacy({
    kit: createServiceKit(loadConfig(legacyConfigSchema, { ...common, LEGACY_LATENCY_MS: '5' })),
  });
  await legacy.http.listen({ host: '127.0.0.1', port: 0 });
  const port = (legacy.http.server.address() as AddressInfo).port;
  db = await createScratchDatabase({
    prefix: 'shipping_test',
    migrationsDir: join(__dirname, '../../../prisma/migrations'),
  });
  prisma = new PrismaClient({ adapter: createPrismaAdapter(db.settings) });
  const config = loadConfig(configSchema, {
    ...common,
    GRPC_PORT: '0',
    LEGACY_SHIPPING_URL: `http://127.0.0.1:${port}/soap/shipping`,
  });
  app = await buildApp({ kit: createServiceKit(config), prisma });
});

after(async () => {
  await app?.http.close();
  await prisma?.$disconnect();
  await db?.drop();
  await legacy?.http.close();
});

async function quote(body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await app.http.inject({ method: 'POST', url: '/v1/shipping/quotes', payload: body });
  return { status: res.statusCode, json: res.json() };
}

async function metric(result: string): Promise<number> {
  const text = await (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text
    .split('\n')
    .find((l) => l.startsWith('shipping_shadow_comparisons_total') && l.includes(`result="${result}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('shipping.v1.ShippingService over gRPC', () => {
  it('answers a legacy fault with a proper gRPC status and the stable code, and a shipment in shop terms', async () => {
    const port = await app.grpc.start();
    const breakers = new BreakerRegistry();
    const client = createGrpcClient(
      shippingV1.ShippingServiceClient,
      {
        caller: 'gateway',
        target: 'shipping',
        registry: new StaticRegistry({ shipping: [`127.0.0.1:${port}`] }),
        deadlineMs: 5_000,
      },
      { metrics: createMetrics('gateway'), breakers, logger: createLogger({ service: 'gateway', level: 'silent' }) },
    );
    try {
      await assert.rejects(client.call('quote', { destinationCountry: 'ZZ', weightGrams: 100 }), (err: unknown) => {
        assert.ok(err instanceof ShopError, String(err));
        assert.equal(err.code, 'SHOP_SHIPPING_DESTINATION_UNSUPPORTED');
        assert.equal(err.grpcStatus, GrpcStatus.INVALID_ARGUMENT);
        return true;
      });
      await assert.rejects(
        client.call('trackShipment', { shipmentId: crypto.randomUUID(), orderId: '' }),
        (err: unknown) => {
          assert.ok(err instanceof ShopError);
          assert.equal(err.grpcStatus, GrpcStatus.NOT_FOUND);
          return true;
        },
      );
      const q = await client.call('quote', { destinationCountry: 'BR', weightGrams: 2001 });
      assert.deepEqual(q, { price: { amount: 4299, currency: 'USD' }, transitDays: 10 });
      const orderId = crypto.randomUUID();
      const created = await client.call('createShipment', { orderId, destinationCountry: 'FR', weightGrams: 300 });
      assert.equal(created.shipment?.status, shippingV1.ShipmentStatus.SHIPMENT_STATUS_BOOKED);
      const cancelled = await client.call('cancelShipment', { shipmentId: created.shipment?.id ?? '' });
      assert.equal(cancelled.shipment?.status, shippingV1.ShipmentStatus.SHIPMENT_STATUS_CANCELLED);
    } finally {
      client.close();
      breakers.close();
      await app.grpc.shutdown(1_000);
    }
  });
});

describe('shipping over the legacy SOAP system', () => {
  it('quotes through the adapter, in cents, and the native implementation agrees', async () => {
    for (const [country, grams] of [
      ['US', 1],
      ['CA', 2500],
      ['DE', 30_000],
      ['JP', 1001],
    ] as const) {
      const viaLegacy = await quote({ destinationCountry: country, weightGrams: grams });
      assert.equal(viaLegacy.status, 200);
      assert.equal(viaLegacy.json.backend, 'legacy');
      app.strangler.update({ nativeShare: { quote: 100 } });
      const viaNative = await quote({ destinationCountry: country, weightGrams: grams });
      app.strangler.rollback();
      assert.equal(viaNative.json.backend, 'native');
      assert.deepEqual(viaNative.json.price, viaLegacy.json.price, `${country} ${grams} g`);
      assert.equal(viaNative.json.transitDays, viaLegacy.json.transitDays);
    }
  });

  it('turns the legacy fault for an unserved destination into a problem with a stable code', async () => {
    const res = await quote({ destinationCountry: 'ZZ', weightGrams: 100 });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'SHOP_SHIPPING_DESTINATION_UNSUPPORTED');
    assert.equal(res.json.legacyCode, 'E101');
  });

  it('never opens the legacy breaker on bad input: 30 refused quotes, then a good one answers', async () => {
    for (let i = 0; i < 30; i++) {
      const bad = await quote({ destinationCountry: 'ZZ', weightGrams: 100 });
      assert.equal(bad.status, 422);
    }
    const good = await quote({ destinationCountry: 'US', weightGrams: 100 });
    assert.equal(good.status, 200, JSON.stringify(good.json));
    const breakers = await app.http.inject({ method: 'GET', url: '/admin/breakers', headers: admin });
    const legacy = (breakers.json().items as { target: string; state: string }[]).find(
      (b) => b.target === 'legacy-shipping',
    );
    assert.equal(legacy?.state, 'closed', JSON.stringify(breakers.json()));
  });

  it('in shadow mode counts a seeded difference and still answers with the routed implementation', async () => {
    const set = await app.http.inject({
      method: 'PUT',
      url: '/v1/admin/shipping/strangler',
      headers: admin,
      payload: { shadow: true, nativeQuoteSkewCents: 3 },
    });
    assert.equal(set.statusCode, 200);
    const before = await metric('different');
    const same = await metric('same');
    const res = await quote({ destinationCountry: 'US', weightGrams: 500 });
    assert.equal(res.json.backend, 'legacy');
    assert.deepEqual(res.json.price, { amount: 649, currency: 'USD' });
    assert.equal(await metric('different'), before + 1);
    app.strangler.update({ nativeQuoteSkewCents: 0 });
    await quote({ destinationCountry: 'US', weightGrams: 500 });
    assert.equal(await metric('same'), same + 1);
    const rolled = await app.http.inject({
      method: 'POST',
      url: '/v1/admin/shipping/strangler/rollback',
      headers: admin,
    });
    assert.equal(rolled.json().shadow, false);
  });

  it('creates one shipment per order in the legacy system, tracks and cancels it with shop ids and statuses', async () => {
    const orderId = crypto.randomUUID();
    const created = await app.shipping.create({ orderId, destinationCountry: 'GB', weightGrams: 800 });
    assert.equal(created.backend, 'legacy');
    assert.match(created.trackingNumber, /^SHP-\d{6,}$/);
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    assert.equal(created.status, 'BOOKED');
    assert.deepEqual(created.price, { amount: 1949, currency: 'USD' });
    assert.deepEqual(await app.shipping.create({ orderId, destinationCountry: 'GB', weightGrams: 800 }), created);
    const tracked = await app.http.inject({ method: 'GET', url: `/v1/shipments/${orderId}` });
    assert.equal(tracked.json().status, 'BOOKED');
    const cancelled = await app.shipping.cancel({ shipmentId: created.id });
    assert.equal(cancelled.status, 'CANCELLED');
    assert.equal((await prisma.shipment.findUniqueOrThrow({ where: { orderId } })).status, 'CANCELLED');
  });

  it('answers a shipment the legacy system forgot (a restart of its in-memory book) with its last stored status', async () => {
    const orderId = crypto.randomUUID();
    const created = await app.shipping.create({ orderId, destinationCountry: 'US', weightGrams: 100 });
    await prisma.shipment.update({ where: { id: created.id }, data: { trackingNumber: 'SHP-000001' } });
    const tracked = await app.shipping.track({ orderId });
    assert.equal(tracked.status, 'BOOKED');
    assert.equal(tracked.trackingNumber, 'SHP-000001');
  });

  it('creates natively when the create share says so, and refuses to cancel what is past booking', async () => {
    app.strangler.update({ nativeShare: { create: 100 } });
    const orderId = crypto.randomUUID();
    const created = await app.shipping.create({ orderId, destinationCountry: 'US', weightGrams: 100 });
    app.strangler.rollback();
    assert.equal(created.backend, 'native');
    await prisma.shipment.update({ where: { id: created.id }, data: { createdAt: new Date(Date.now() - 200_000) } });
    const tracked = await app.shipping.track({ shipmentId: created.id });
    assert.equal(tracked.status, 'IN_TRANSIT');
    await assert.rejects(app.shipping.cancel({ shipmentId: created.id }), { code: 'SHOP_SHIPMENT_NOT_CANCELLABLE' });
  });
});
