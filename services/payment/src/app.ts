// buildApp: the payment service's HTTP app and gRPC server, without listening.
import {
  createHttpApp,
  createServiceGrpcServer,
  createTwoPhaseInquiry,
  type GrpcServer,
  type HttpApp,
  prismaAuditPool,
  registerOutboxAudit,
  registerPreparedTransactionRoutes,
  type ServiceKit,
  type TwoPhaseInquiry,
} from '@shoplab/chassis';
import { paymentV1 } from '@shoplab/contracts';
import { paymentHandlers } from './api/grpc/payment.handler';
import { registerAdminRoutes } from './api/http/admin.routes';
import { registerCardNetworkRoutes } from './api/http/card-network.routes';
import { PaymentService } from './application/payments';
import type { PaymentConfig } from './config';
import type { PrismaClient } from './generated/prisma/client';
import { CardNetworkClient } from './infrastructure/card-network.client';
import { PrismaPaymentStore } from './infrastructure/payment.store';
import { PaymentTwoPhaseParticipant } from './infrastructure/two-phase.participant';

export interface AppDeps {
  kit: ServiceKit<PaymentConfig>;
  prisma: PrismaClient;
  /** Topic the outbox rows are written for (default `payment.events`). */
  eventsTopic?: string;
}

export interface PaymentApp {
  http: HttpApp;
  grpc: GrpcServer;
  payments: PaymentService;
  /** The two-phase participant's questions to order (not started: main.ts runs it as an intake). */
  twoPhaseInquiry: TwoPhaseInquiry;
}

export async function buildApp(deps: AppDeps): Promise<PaymentApp> {
  const { kit, prisma } = deps;
  const { config } = kit;
  const cardNetwork = new CardNetworkClient({
    mode: config.CARD_NETWORK_MODE,
    ambassadorUrl: config.CARD_NETWORK_AMBASSADOR_URL,
    ambassadorTimeoutMs: config.CARD_NETWORK_AMBASSADOR_TIMEOUT_MS,
    directUrl: config.CARD_NETWORK_URL,
    directTimeoutMs: config.CARD_NETWORK_TIMEOUT_MS,
    directRetries: config.CARD_NETWORK_RETRIES,
    registry: kit.metrics.registry,
  });
  const payments = new PaymentService({
    store: new PrismaPaymentStore(prisma, {
      ...(deps.eventsTopic ? { topic: deps.eventsTopic } : {}),
      snapshotEvery: config.PAYMENT_SNAPSHOT_EVERY,
    }),
    latencyMs: config.PAYMENT_LATENCY_MS,
    appendRetries: config.PAYMENT_APPEND_RETRIES,
    cardNetwork,
  });

  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: 'Simulated card processor: authorizations, captures, voids, refunds and their ledger',
    // Kafka is not a readiness dependency: the outbox keeps events until it is back.
    readiness: { db: () => prisma.$queryRaw`SELECT 1` },
  });
  registerAdminRoutes(http, { payments, adminToken: config.ADMIN_TOKEN });
  // The two-phase checkout: prepared authorizations held too long are asked about (order decides);
  // main.ts starts it, POST /v1/admin/two-phase/inquire asks now.
  const twoPhaseInquiry = createTwoPhaseInquiry(kit, 'payment', prisma);
  registerPreparedTransactionRoutes(http, { db: prisma, adminToken: config.ADMIN_TOKEN, inquiry: twoPhaseInquiry });
  registerCardNetworkRoutes(http, { client: cardNetwork, adminToken: config.ADMIN_TOKEN });
  registerOutboxAudit(http, { pool: prismaAuditPool(prisma), adminToken: config.ADMIN_TOKEN });

  // The two-phase checkout's participant: the same use cases on a store whose transactions end prepared.
  const twoPhase = new PaymentTwoPhaseParticipant(
    (gid) =>
      payments.withStore(
        new PrismaPaymentStore(prisma, {
          ...(deps.eventsTopic ? { topic: deps.eventsTopic } : {}),
          snapshotEvery: config.PAYMENT_SNAPSHOT_EVERY,
          prepareAs: gid,
        }),
      ),
    prisma,
  );

  const grpc = createServiceGrpcServer(kit);
  grpc.addService(paymentV1.PaymentServiceService, paymentHandlers(payments, twoPhase));
  return { http, grpc, payments, twoPhaseInquiry };
}
