// buildApp: the history service's HTTP app and the read side's intake, without listening.
import { createHttpApp, type HttpApp, type ServiceKit } from '@shoplab/chassis';
import type { Kafka } from 'kafkajs';
import { registerAdminRoutes } from './api/http/admin.routes';
import { registerHistoryRoutes } from './api/http/history.routes';
import type { HistoryConfig } from './config';
import type { PrismaClient } from './generated/prisma/client';
import { PrismaHistoryReads } from './infrastructure/history.store';
import { type LagSources, readLag, registerLagMetrics } from './infrastructure/lag';
import { HistoryProjector } from './infrastructure/projector';

export interface AppDeps {
  kit: ServiceKit<HistoryConfig>;
  prisma: PrismaClient;
  kafka: Kafka;
  /** Retry backoff of the consumers (tests shorten it). */
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface HistoryApp {
  http: HttpApp;
  /** The consumers of the source topics (startService intake), and the rebuild. */
  projector: HistoryProjector;
  reads: PrismaHistoryReads;
}

export async function buildApp(deps: AppDeps): Promise<HistoryApp> {
  const { kit, prisma, kafka } = deps;
  const { config } = kit;
  const reads = new PrismaHistoryReads(prisma);
  const projector = new HistoryProjector({
    kafka,
    prisma,
    kit,
    reads,
    sources: [
      { topic: config.ORDER_EVENTS_TOPIC, group: config.ORDER_EVENTS_GROUP, maxAttempts: config.EVENTS_MAX_ATTEMPTS },
      {
        topic: config.PAYMENT_EVENTS_TOPIC,
        group: config.PAYMENT_EVENTS_GROUP,
        maxAttempts: config.EVENTS_MAX_ATTEMPTS,
      },
    ],
    ...(deps.backoff ? { backoff: deps.backoff } : {}),
  });
  const lag: LagSources = { lag: () => projector.lag(), stats: () => reads.stats() };

  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: 'Order history: the CQRS read side, one document per order built from order.events and payment.events',
    // Kafka is not a readiness dependency: the reads answer from the database while it is away
    // (and the lag says how far behind they are).
    readiness: { db: () => prisma.$queryRaw`SELECT 1` },
  });
  registerHistoryRoutes(http, { reads });
  registerAdminRoutes(http, { projector, lag, adminToken: config.ADMIN_TOKEN });
  registerLagMetrics(kit.metrics.registry, () => readLag(lag));
  return { http, projector, reads };
}
