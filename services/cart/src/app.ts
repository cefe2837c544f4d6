// buildApp: the cart service's HTTP app and gRPC server, without listening.
import {
  createHttpApp,
  createServiceGrpcServer,
  type GrpcServer,
  type HttpApp,
  prismaAuditPool,
  registerOutboxAudit,
  type ServiceKit,
} from '@shoplab/chassis';
import { cartV1 } from '@shoplab/contracts';
import { cartHandlers } from './api/grpc/cart.handler';
import { registerAdminRoutes } from './api/http/admin.routes';
import { registerCartRoutes } from './api/http/cart.routes';
import { CartService } from './application/cart-service';
import type { ProductCatalog } from './application/ports';
import type { CartConfig } from './config';
import type { PrismaClient } from './generated/prisma/client';
import { PrismaCartStore } from './infrastructure/cart.store';

export interface AppDeps {
  kit: ServiceKit<CartConfig>;
  prisma: PrismaClient;
  catalog: ProductCatalog;
  /** Topic the outbox rows are written for (default `cart.events`). */
  eventsTopic?: string;
}

export interface CartApp {
  http: HttpApp;
  grpc: GrpcServer;
  carts: CartService;
}

export async function buildApp(deps: AppDeps): Promise<CartApp> {
  const { kit, prisma } = deps;
  const { config } = kit;
  const carts = new CartService(new PrismaCartStore(prisma, deps.eventsTopic), deps.catalog);

  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: "Shopping carts: one per user, lines checked against the catalog's products and stock",
    // Neither Kafka (the outbox waits for it) nor the catalog (reads and removals work without it)
    // is a readiness dependency.
    readiness: { db: () => prisma.$queryRaw`SELECT 1` },
  });
  registerOutboxAudit(http, { pool: prismaAuditPool(prisma), adminToken: kit.config.ADMIN_TOKEN });
  registerCartRoutes(http, { carts, jwtPublicKey: config.JWT_PUBLIC_KEY });
  registerAdminRoutes(http, { prisma, adminToken: config.ADMIN_TOKEN });

  const grpc = createServiceGrpcServer(kit);
  grpc.addService(cartV1.CartServiceService, cartHandlers(carts));
  return { http, grpc, carts };
}
