// buildApp(deps): the order service's HTTP and gRPC servers and its saga runner, wired to its
// use cases. No listening or running here: main.ts starts them, tests call app.inject(), real
// gRPC clients and start runners themselves.
import {
  createHttpApp,
  createServiceGrpcServer,
  createTokenVerifier,
  DEFAULT_CLIENT_BREAKER,
  type GrpcServer,
  getOrCreate,
  type HttpApp,
  pgPoolOf,
  prismaAuditPool,
  registerOutboxAudit,
  requireUser,
  type ServiceKit,
} from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import { Gauge } from 'prom-client';
import { orderServiceHandlers } from './api/grpc/order.handler';
import { registerAdminRoutes } from './api/http/admin.routes';
import { registerCheckoutRoutes } from './api/http/checkout.routes';
import { registerOrderRoutes } from './api/http/orders.routes';
import { registerTwoPhaseRoutes } from './api/http/two-phase.routes';
import { CheckoutService } from './application/checkout';
import { CheckoutAdmission } from './application/checkout-admission';
import { OrderQueries } from './application/order-queries';
import { notifyingStore, OrderChanges } from './application/order-watch';
import type { SagaStore } from './application/ports';
import { SagaRunner } from './application/saga-runner';
import { TwoPhaseCoordinator } from './application/two-phase-coordinator';
import type { OrderConfig } from './config';
import { type CheckoutMode, CheckoutModeSwitch } from './domain/checkout-mode';
import { admissionMetrics } from './infrastructure/admission-metrics';
import { CircuitBreakerWatch } from './infrastructure/breaker-watch';
import { AesGcmCardVault } from './infrastructure/card-vault';
import { type CartGrpcClient, GrpcCartReader } from './infrastructure/cart.client';
import { type CatalogGrpcClient, GrpcProductCatalog, GrpcStockReservations } from './infrastructure/catalog.client';
import type { PrismaClient } from './infrastructure/database';
import { EndEventRepublisher } from './infrastructure/end-events.repository';
import { PrismaOrderRepository } from './infrastructure/order.repository';
import { GrpcPayments, type PaymentGrpcClient } from './infrastructure/payment.client';
import { PgSagaRepository } from './infrastructure/saga.repository';
import { sagaMetrics } from './infrastructure/saga-metrics';
import { GrpcTwoPhaseParticipants } from './infrastructure/two-phase.participants';
import { PgTwoPhaseLog } from './infrastructure/two-phase-log';
import { GrpcUserDirectory, type UserGrpcClient } from './infrastructure/user.client';

/**
 * The checkout modes this service runs to the end (domain/checkout-mode.ts): the switch refuses
 * the others. A mode joins this list in the change that wires what drives its orders.
 */
export const RUNNABLE_CHECKOUT_MODES: readonly CheckoutMode[] = ['orchestrated', 'choreographed', 'two-phase'];

export interface AppDeps {
  kit: ServiceKit<OrderConfig>;
  prisma: PrismaClient;
  cart: CartGrpcClient;
  catalog: CatalogGrpcClient;
  user: UserGrpcClient;
  payment: PaymentGrpcClient;
  /** Injected in tests. */
  clock?: () => Date;
}

export interface App {
  http: HttpApp;
  grpc: GrpcServer;
  /** The checkout saga's runner (an intake: main.ts starts and stops it). */
  saga: SagaRunner;
  /** Ends every open WatchOrder stream (main.ts: before the gRPC drain, which would wait for them). */
  endWatches: () => void;
  /** The two-phase checkout's coordinator (main.ts runs its recovery before the saga runner starts). */
  twoPhase: TwoPhaseCoordinator;
}

/** A saga runner on the service's database and clients; buildApp makes one, tests make more. */
export function createSagaRunner(
  deps: Omit<AppDeps, 'cart'> & {
    /** Tests wrap the store to simulate a crash between a command and its record. */
    wrapStore?: (store: SagaStore) => SagaStore;
    /** The reset timeout of the clients' breakers, when they do not use the default one (tests). */
    breakerResetMs?: number;
    /** Runs the `two-phase` orders' reserve-and-authorize (without it they run as orchestrated). */
    twoPhase?: TwoPhaseCoordinator;
  },
): SagaRunner {
  const { kit, prisma } = deps;
  const { config } = kit;
  // The saga's hot path: plain SQL on Prisma's own pool (ADR 31).
  const store = new PgSagaRepository(pgPoolOf(prisma));
  // The clients keep the default breaker thresholds unless a test says otherwise.
  const breakerResetMs = deps.breakerResetMs ?? DEFAULT_CLIENT_BREAKER.resetTimeoutMs;
  return new SagaRunner({
    store: deps.wrapStore ? deps.wrapStore(store) : store,
    users: new GrpcUserDirectory(deps.user),
    stock: new GrpcStockReservations(deps.catalog),
    payments: new GrpcPayments(deps.payment),
    ...(deps.twoPhase ? { twoPhase: deps.twoPhase } : {}),
    vault: new AesGcmCardVault(config.CARD_ENCRYPTION_KEY),
    observer: sagaMetrics(kit.metrics.registry),
    breakers: new CircuitBreakerWatch(
      { user: deps.user.breaker, catalog: deps.catalog.breaker, payment: deps.payment.breaker },
      breakerResetMs,
      deps.clock,
    ),
    logger: kit.logger,
    settings: {
      pollIntervalMs: config.SAGA_POLL_INTERVAL_MS,
      stepDeadlineMs: config.SAGA_STEP_DEADLINE_MS,
      retryBaseMs: config.SAGA_RETRY_BASE_MS,
      retryMaxMs: config.SAGA_RETRY_MAX_MS,
      leaseMs: config.SAGA_LEASE_MS,
      concurrency: config.SAGA_CONCURRENCY,
      callDeadlineMs: {
        user: config.USER_DEADLINE_MS,
        catalog: config.CATALOG_DEADLINE_MS,
        payment: config.PAYMENT_DEADLINE_MS,
      },
      breakerResetMs,
    },
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { kit, prisma } = deps;
  const { config, logger } = kit;

  // The runner's commits tell the open WatchOrder streams of their order (one instance's view).
  const changes = new OrderChanges();
  // The two-phase checkout's coordinator: its decision log in order's database, catalog and
  // payment as participants over the saga's own clients (docs/patterns/two-phase-commit.md).
  const twoPhaseLog = new PgTwoPhaseLog(pgPoolOf(prisma));
  const twoPhase = new TwoPhaseCoordinator({
    log: twoPhaseLog,
    participants: new GrpcTwoPhaseParticipants(deps.catalog, deps.payment),
    logger: logger.child({ component: 'two-phase' }),
    decisionTimeoutMs: config.TWO_PHASE_DECISION_TIMEOUT_MS,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const saga = createSagaRunner({ ...deps, twoPhase, wrapStore: (store) => notifyingStore(store, changes) });
  const orders = new PrismaOrderRepository(prisma);
  const checkoutMode = new CheckoutModeSwitch(config.CHECKOUT_MODE, RUNNABLE_CHECKOUT_MODES);
  const checkout = new CheckoutService({
    orders,
    cart: new GrpcCartReader(deps.cart, logger),
    catalog: new GrpcProductCatalog(deps.catalog, logger),
    vault: new AesGcmCardVault(config.CARD_ENCRYPTION_KEY),
    stepDeadlineMs: config.SAGA_STEP_DEADLINE_MS,
    // Another instance's runner finds it at its next poll; this one starts at once.
    onCreated: () => saga.wake(),
    observer: sagaMetrics(kit.metrics.registry),
    mode: () => checkoutMode.mode,
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
  const authenticate = requireUser(createTokenVerifier(config.JWT_PUBLIC_KEY));
  // Checkouts beyond what can start within the caller's deadline are refused at once (ADR 16).
  const admission = new CheckoutAdmission(
    {
      maxConcurrent: config.CHECKOUT_MAX_CONCURRENT,
      maxQueue: config.CHECKOUT_MAX_QUEUE,
      maxWaitMs: config.CHECKOUT_MAX_WAIT_MS,
      reserveMs: config.CHECKOUT_RESERVE_MS,
    },
    { observer: admissionMetrics(kit.metrics.registry) },
  );
  registerCheckoutRoutes(http, { checkout, authenticate, admission });
  registerOrderRoutes(http, { queries, authenticate });
  registerAdminRoutes(http, {
    queries,
    republisher: new EndEventRepublisher(prisma),
    adminToken: config.ADMIN_TOKEN,
    checkoutMode,
  });
  registerOutboxAudit(http, { pool: prismaAuditPool(prisma), adminToken: config.ADMIN_TOKEN });
  registerTwoPhaseRoutes(http, { coordinator: twoPhase, log: twoPhaseLog, adminToken: config.ADMIN_TOKEN });

  const grpc = createServiceGrpcServer(kit);
  const streams = new Set<AbortController>();
  const registers = [kit.metrics.registry];
  const open = getOrCreate(
    kit.metrics.registry,
    'shop_order_watch_streams',
    () => new Gauge({ name: 'shop_order_watch_streams', help: 'Open WatchOrder streams', registers }),
  );
  grpc.addService(
    orderV1.OrderServiceService,
    orderServiceHandlers(queries, { changes, resyncMs: config.WATCH_ORDER_RESYNC_MS, logger, open, streams }, twoPhase),
  );
  const endWatches = () => {
    for (const stop of streams) stop.abort();
  };
  return { http, grpc, saga, endWatches, twoPhase };
}
