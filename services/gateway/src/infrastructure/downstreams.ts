import { type ServiceKit, type ServiceRegistry, StaticRegistry } from '@shoplab/chassis';
import type { Downstreams } from '../application/ports';
import { type DOWNSTREAMS, deadlineOf, type GatewayConfig } from '../config';
import { CallBulkheads } from './bulkheads';
import { createCartClient } from './cart.client';
import { createCatalogClient } from './catalog.client';
import type { DownstreamClientSettings } from './grpc-deps';
import { RestClient } from './http-client';
import { createOrderClient, OrderWatchClient } from './order.client';
import { createPaymentClient } from './payment.client';
import { createShippingClient } from './shipping.client';
import { createUserClient } from './user.client';

/** The services whose REST API the gateway proxies. */
export const REST_TARGETS = ['user', 'cart', 'order'] as const;

export interface DownstreamOptions {
  /** Where the HTTP instances are; by default HTTP_SERVICES (static) or the kit's registry (consul). */
  httpRegistry?: ServiceRegistry;
  /** Breaker thresholds for every client (tests lower them). */
  breaker?: DownstreamClientSettings['breaker'];
}

/** One client per downstream, each with its deadline, breaker and retry policy. */
export function createDownstreams(kit: ServiceKit<GatewayConfig>, options: DownstreamOptions = {}): Downstreams {
  const { config } = kit;
  const deps = { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger, chaos: kit.chaos };
  const settings = (service: (typeof DOWNSTREAMS)[number]): DownstreamClientSettings => ({
    registry: kit.registry,
    deps,
    deadlineMs: deadlineOf(config, service),
    retries: config.GRPC_READ_RETRIES,
    ...(options.breaker ? { breaker: options.breaker } : {}),
  });
  // Under Consul an instance registers its HTTP port (gRPC in meta); statically the two lists differ.
  const httpRegistry =
    options.httpRegistry ??
    (config.REGISTRY_MODE === 'consul' ? kit.registry : new StaticRegistry(config.HTTP_SERVICES));
  // Under Consul an instance's admin port is in its meta (adminBaseUrlOf); statically ADMIN_SERVICES.
  const adminRegistry =
    config.REGISTRY_MODE !== 'consul' && config.ADMIN_SERVICES && !options.httpRegistry
      ? new StaticRegistry(config.ADMIN_SERVICES)
      : httpRegistry;
  const grpc = {
    user: createUserClient(settings('user')),
    catalog: createCatalogClient(settings('catalog')),
    cart: createCartClient(settings('cart')),
    order: createOrderClient(settings('order')),
    payment: createPaymentClient(settings('payment')),
    shipping: createShippingClient({ ...settings('payment'), deadlineMs: config.SHIPPING_DEADLINE_MS }),
  };
  const rest = new RestClient(
    {
      caller: 'gateway',
      registry: httpRegistry,
      deadlines: {
        ...Object.fromEntries(REST_TARGETS.map((t) => [t, deadlineOf(config, t)])),
        history: config.HISTORY_DEADLINE_MS,
      },
      // The gateway's only REST call to order is checkout.
      maxInFlight: { order: config.CHECKOUT_MAX_IN_FLIGHT },
      ...(options.breaker ? { breaker: options.breaker } : {}),
    },
    { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger },
  );
  const orderWatch = new OrderWatchClient(kit.registry, kit.metrics.registry);
  const bulkheads = new CallBulkheads(
    {
      enabled: config.BULKHEADS_ENABLED,
      limits: {
        reads: { maxConcurrent: config.READS_BULKHEAD_MAX_CONCURRENT, maxQueue: config.READS_BULKHEAD_MAX_QUEUE },
        checkout: {
          maxConcurrent: config.CHECKOUT_BULKHEAD_MAX_CONCURRENT,
          maxQueue: config.CHECKOUT_BULKHEAD_MAX_QUEUE,
        },
      },
    },
    kit.metrics.registry,
  );
  return {
    ...grpc,
    rest,
    orderWatch,
    bulkheads,
    httpRegistry,
    adminRegistry,
    close: () => {
      for (const client of Object.values(grpc)) client.close();
      orderWatch.close();
      if (httpRegistry !== kit.registry) httpRegistry.close();
      if (adminRegistry !== httpRegistry) adminRegistry.close();
    },
  };
}
