import { createHttpApp, createTokenVerifier, type HttpApp, requireUser, type ServiceKit } from '@shoplab/chassis';
import { adminRoutes } from './api/http/admin.routes';
import { authRoutes } from './api/http/auth.routes';
import { cartRoutes } from './api/http/cart.routes';
import { checkoutRoutes } from './api/http/checkout.routes';
import type { RouteDeps } from './api/http/context';
import { adminHistoryRoutes, historyRoutes } from './api/http/history.routes';
import { registerHttpCaching } from './api/http/http-cache';
import { meRoutes } from './api/http/me.routes';
import { orderRoutes } from './api/http/orders.routes';
import { productRoutes } from './api/http/products.routes';
import { registerAddressLimit, registerRateLimit } from './api/http/rate-limit';
import { switchRoutes } from './api/http/switches.routes';
import { AdminOperations } from './application/admin';
import { CartViews } from './application/carts';
import { HistoryViews } from './application/history';
import { OrderViews } from './application/orders';
import type { Downstreams } from './application/ports';
import { ProductQueries } from './application/products';
import type { GatewayConfig } from './config';
import { ProductCache } from './domain/product-cache';

export const API_PREFIX = '/api/v1';

/** TRUST_PROXY as fastify takes it: false, or the proxies' addresses and CIDRs. */
export function trustProxySetting(value: string): false | string[] {
  const proxies = value
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0 && a !== 'false');
  return proxies.length > 0 ? proxies : false;
}

export interface AppDeps {
  kit: ServiceKit<GatewayConfig>;
  downstreams: Downstreams;
}

/** The gateway's HTTP app (no listen): the public API under /api/v1, OpenAPI, Swagger UI at /docs. */
export async function buildApp({ kit, downstreams }: AppDeps): Promise<{ http: HttpApp }> {
  const { config, logger } = kit;
  const http = await createHttpApp({
    ...kit.httpOptions(),
    description:
      'The public API of ShopLab. Errors are application/problem+json with a stable `code`; composed answers name missing parts in `degraded`.',
    swaggerUi: true,
    rateLimitedPrefix: API_PREFIX,
    trustProxy: trustProxySetting(config.TRUST_PROXY),
    patchOpenApi: (doc) => {
      const events = doc.paths?.[`${API_PREFIX}/orders/{id}/events`]?.get as
        | { responses?: Record<string, unknown> }
        | undefined;
      if (events?.responses) {
        events.responses['200'] = {
          description: 'Server-Sent Events until the order is CONFIRMED or CANCELLED',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        };
      }
    },
    readiness: {
      // The gateway degrades rather than fails when a downstream is down; it is ready once it can find them.
      registry: () => kit.registry.instances('catalog'),
    },
  });

  const verify = createTokenVerifier(config.JWT_PUBLIC_KEY);
  const products = new ProductQueries(
    downstreams.catalog,
    new ProductCache(config.PRODUCT_CACHE_TTL_MS, config.PRODUCT_CACHE_MAX_ENTRIES),
    logger,
  );
  const deps: RouteDeps = {
    config,
    downstreams,
    verify,
    products,
    carts: new CartViews(downstreams.rest, products, logger),
    orders: new OrderViews(downstreams, products, logger, {
      mode: config.ORDER_EVENTS_MODE,
      watchDeadlineMs: config.ORDER_WATCH_DEADLINE_MS,
    }),
    history: new HistoryViews(downstreams, config.ADMIN_TOKEN, logger),
    admin: new AdminOperations(
      downstreams.httpRegistry,
      config.ADMIN_TOKEN,
      kit.chaos,
      kit.breakers,
      downstreams.adminRegistry,
    ),
  };

  await http.register(
    async (api: HttpApp) => {
      await registerRateLimit(api, {
        perMinute: config.RATE_LIMIT_PER_MINUTE,
        perAddressPerMinute: config.RATE_LIMIT_PER_ADDRESS_PER_MINUTE,
        exemptAddresses: config.RATE_LIMIT_EXEMPT_ADDRESSES,
        verify,
      });
      await api.register(async (auth: HttpApp) => {
        await registerAddressLimit(
          auth,
          config.RATE_LIMIT_AUTH_PER_MINUTE,
          config.RATE_LIMIT_EXEMPT_ADDRESSES,
          'sign-ins and registrations',
        );
        authRoutes(auth, deps);
      });
      await api.register(async (catalogue: HttpApp) => {
        await registerHttpCaching(catalogue, kit.metrics.registry);
        productRoutes(catalogue, deps);
      });
      await api.register(async (user: HttpApp) => {
        user.addHook('preHandler', requireUser(verify));
        cartRoutes(user, deps);
        checkoutRoutes(user, deps);
        historyRoutes(user, deps);
        orderRoutes(user, deps);
        meRoutes(user, deps);
      });
      await api.register(async (admin: HttpApp) => {
        adminRoutes(admin, deps);
        adminHistoryRoutes(admin, deps);
        switchRoutes(admin, deps);
      });
    },
    { prefix: API_PREFIX },
  );
  return { http };
}
