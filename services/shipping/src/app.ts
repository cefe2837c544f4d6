// buildApp: the shipping service's HTTP app and gRPC server, without listening.
import {
  createBreaker,
  createHttpApp,
  createServiceGrpcServer,
  type GrpcServer,
  type HttpApp,
  type ServiceKit,
} from '@shoplab/chassis';
import { shippingV1 } from '@shoplab/contracts';
import { Counter } from 'prom-client';
import { shippingHandlers } from './api/grpc/shipping.handler';
import { registerShippingRoutes } from './api/http/shipping.routes';
import type { ShippingBackend } from './application/ports';
import { Shipping } from './application/shipping';
import { Strangler } from './application/strangler';
import type { ShippingConfig } from './config';
import type { PrismaClient } from './generated/prisma/client';
import { LegacyShippingAdapter } from './infrastructure/legacy-shipping.client';
import { NativeShipping } from './infrastructure/native-shipping';
import { PrismaShipmentStore } from './infrastructure/shipment.store';

export interface AppDeps {
  kit: ServiceKit<ShippingConfig>;
  prisma: PrismaClient;
  /** Tests may put another legacy backend in (default: the SOAP adapter on LEGACY_SHIPPING_URL). */
  legacy?: ShippingBackend;
}

export interface ShippingApp {
  http: HttpApp;
  grpc: GrpcServer;
  shipping: Shipping;
  strangler: Strangler;
}

export async function buildApp(deps: AppDeps): Promise<ShippingApp> {
  const { kit, prisma } = deps;
  const { config } = kit;
  const strangler = new Strangler({
    nativeShare: { quote: config.NATIVE_QUOTE_SHARE, create: config.NATIVE_CREATE_SHARE },
    shadow: false,
    nativeQuoteSkewCents: 0,
  });
  const registers = [kit.metrics.registry];
  // The legacy system's breaker: open after half the calls of a busy window fail (no answer or
  // a server fault), a trial call after 5 s. Faults that mean bad input never count (4xx codes).
  const legacyBreaker = createBreaker(
    (call: () => Promise<unknown>) => call(),
    {
      caller: 'shipping',
      target: 'legacy-shipping',
      timeoutMs: false,
      errorThresholdPercentage: 50,
      volumeThreshold: 10,
      resetTimeoutMs: 5_000,
    },
    { metrics: kit.metrics, registry: kit.breakers, logger: kit.logger },
  );
  const shipping = new Shipping({
    store: new PrismaShipmentStore(prisma),
    legacy:
      deps.legacy ??
      new LegacyShippingAdapter({
        url: config.LEGACY_SHIPPING_URL,
        timeoutMs: config.LEGACY_SHIPPING_TIMEOUT_MS,
        guard: <T>(call: () => Promise<T>) => legacyBreaker.fire(call) as Promise<T>,
      }),
    native: new NativeShipping({
      transitAfterMs: config.NATIVE_TRANSIT_AFTER_MS,
      deliverAfterMs: config.NATIVE_DELIVER_AFTER_MS,
      quoteSkewCents: () => strangler.status().nativeQuoteSkewCents,
    }),
    strangler,
    logger: kit.logger.child({ component: 'strangler' }),
    metrics: {
      backendCalls: new Counter({
        name: 'shipping_backend_calls_total',
        help: 'Calls to a shipping implementation (legacy: the SOAP system through the adapter, native), by operation and outcome',
        labelNames: ['operation', 'backend', 'outcome'],
        registers,
      }),
      shadowComparisons: new Counter({
        name: 'shipping_shadow_comparisons_total',
        help: 'Shadowed quotes compared with the other implementation: same, different, or shadow_failed',
        labelNames: ['operation', 'result'],
        registers,
      }),
    },
  });

  const http = await createHttpApp({
    ...kit.httpOptions(),
    description:
      'Shipping: the adapter over the legacy SOAP shipping system, its native replacement and the strangler facade between them',
    readiness: { db: () => prisma.$queryRaw`SELECT 1` },
  });
  registerShippingRoutes(http, { shipping, strangler, adminToken: config.ADMIN_TOKEN });

  const grpc = createServiceGrpcServer(kit);
  grpc.addService(shippingV1.ShippingServiceService, shippingHandlers(shipping));
  return { http, grpc, shipping, strangler };
}
