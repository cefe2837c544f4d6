// buildApp(deps): the order service's HTTP and gRPC servers, wired to its use cases. No
// listening here: main.ts starts them, tests call app.inject() and real gRPC clients.
import {
  createGrpcServer,
  createHttpApp,
  createTokenVerifier,
  type GrpcServer,
  type HttpApp,
  requireUser,
  type ServiceKit,
} from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import { orderServiceHandlers } from './api/grpc/order.handler';
import { registerAdminRoutes } from './api/http/admin.routes';
import { registerCheckoutRoutes } from './api/http/checkout.routes';
import { registerOrderRoutes } from './api/http/orders.routes';
import { CheckoutService } from './application/checkout';
import { OrderQueries } from './application/order-queries';
import type { OrderConfig } from './config';
import { AesGcmCardVault } from './infrastructure/card-vault';
import { type CartGrpcClient, GrpcCartReader } from './infrastructure/cart.client';
import { type CatalogGrpcClient, GrpcProductCatalog } from './infrastructure/catalog.client';
import type { PrismaClient } from './infrastructure/database';
import { PrismaOrderRepository } from './infrastructure/order.repository';

export interface AppDeps {
  kit: ServiceKit<OrderConfig>;
  prisma: PrismaClient;
  cart: CartGrpcClient;
  catalog: CatalogGrpcClient;
  /** Injected in tests. */
  clock?: () => Date;
}

export interface App {
  http: HttpApp;
  grpc: GrpcServer;
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { kit, prisma } = deps;
  const { config, logger } = kit;

  const orders = new PrismaOrderRepository(prisma);
  const checkout = new CheckoutService({
    orders,
    cart: new GrpcCartReader(deps.cart, logger),
    catalog: new GrpcProductCatalog(deps.catalog, logger),
    vault: new AesGcmCardVault(config.CARD_ENCRYPTION_KEY),
    sagaDeadlineMs: config.SAGA_DEADLINE_MS,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const queries = new OrderQueries(orders);

  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: 'Checkout, orders and the checkout saga',
    // Kafka is deliberately not a readiness check: the outbox keeps events while it is down,
    // so checkout stays safe to accept (README.md, "Readiness").
    readiness: { db: () => prisma.$queryRawUnsafe('SELECT 1') },
  });
  const authenticate = requireUser(createTokenVerifier(config.JWT_SECRET));
  registerCheckoutRoutes(http, { checkout, authenticate });
  registerOrderRoutes(http, { queries, authenticate });
  registerAdminRoutes(http, { queries, adminToken: config.ADMIN_TOKEN });

  const grpc = createGrpcServer({
    serviceName: config.SERVICE_NAME,
    logger,
    metrics: kit.metrics,
    chaos: kit.chaos,
    host: config.GRPC_HOST,
    port: config.GRPC_PORT,
  });
  grpc.addService(orderV1.OrderServiceService, orderServiceHandlers(queries));
  return { http, grpc };
}
