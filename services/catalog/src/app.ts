// buildApp: the catalog's HTTP and gRPC servers over its use cases. No listening here:
// main.ts starts them, tests inject requests and call through real gRPC clients.
import {
  createHttpApp,
  createServiceGrpcServer,
  createTwoPhaseInquiry,
  type GrpcServer,
  type HttpApp,
  pgPoolOf,
  prismaAuditPool,
  registerOutboxAudit,
  registerPreparedTransactionRoutes,
  type ServiceKit,
  type TwoPhaseInquiry,
} from '@shoplab/chassis';
import { catalogV1 } from '@shoplab/contracts';
import { catalogHandlers } from './api/grpc/catalog.handler';
import { registerAdminRoutes } from './api/http/admin.routes';
import { registerProductRoutes } from './api/http/product.routes';
import { BrowseCatalog } from './application/browse-catalog';
import { ManageProducts } from './application/manage-products';
import { StockReservations } from './application/stock-reservations';
import type { CatalogConfig } from './config';
import type { CatalogPrisma } from './infrastructure/database';
import { PrismaProductWriter, SqlProductReader } from './infrastructure/product.repository';
import { SqlStockStore } from './infrastructure/stock.store';
import { PrismaStockAuditReader } from './infrastructure/stock-audit.repository';
import { CatalogTwoPhaseParticipant } from './infrastructure/two-phase.participant';

export interface AppDeps {
  kit: ServiceKit<CatalogConfig>;
  prisma: CatalogPrisma;
  /** Readiness checks besides the database (`kafka` in main.ts). */
  readiness?: Record<string, () => Promise<unknown>>;
}

export interface CatalogApp {
  http: HttpApp;
  grpc: GrpcServer;
  stock: StockReservations;
  browse: BrowseCatalog;
  /** The two-phase participant's questions to order (not started: main.ts runs it as an intake). */
  twoPhaseInquiry: TwoPhaseInquiry;
}

export async function buildApp(deps: AppDeps): Promise<CatalogApp> {
  const { kit, prisma } = deps;
  const { config } = kit;

  // The product reads and the stock commands are plain SQL on Prisma's own pool (ADR 48).
  const pool = pgPoolOf(prisma);
  const browse = new BrowseCatalog(new SqlProductReader(pool));
  const stockStore = new SqlStockStore(pool, {
    maxWaitMs: config.STOCK_TX_MAX_WAIT_MS,
    timeoutMs: config.STOCK_TX_TIMEOUT_MS,
  });
  const stock = new StockReservations(stockStore, (operation, outcome) =>
    kit.logger[outcome === 'failed' ? 'warn' : 'debug']({ operation, outcome }, 'stock command'),
  );
  const audit = new PrismaStockAuditReader(prisma);

  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: 'Products, prices and stock reservations',
    readiness: { db: () => pool.query('SELECT 1'), ...deps.readiness },
  });
  registerOutboxAudit(http, { pool: prismaAuditPool(prisma), adminToken: kit.config.ADMIN_TOKEN });
  registerProductRoutes(http, { browse });
  // The two-phase checkout: prepared reservations held too long are asked about (order decides);
  // main.ts starts it, POST /v1/admin/two-phase/inquire asks now.
  const twoPhaseInquiry = createTwoPhaseInquiry(kit, 'catalog', pool);
  registerPreparedTransactionRoutes(http, {
    db: pool,
    adminToken: config.ADMIN_TOKEN,
    inquiry: twoPhaseInquiry,
  });
  registerAdminRoutes(http, {
    audit,
    products: new ManageProducts(new PrismaProductWriter(prisma)),
    adminToken: config.ADMIN_TOKEN,
  });

  const grpc = createServiceGrpcServer(kit);
  grpc.addService(
    catalogV1.CatalogServiceService,
    catalogHandlers({ browse, stock, twoPhase: new CatalogTwoPhaseParticipant(stockStore, pool) }),
  );
  return { http, grpc, stock, browse, twoPhaseInquiry };
}
