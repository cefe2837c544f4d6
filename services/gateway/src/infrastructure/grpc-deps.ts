import type { GrpcClientDeps, ServiceRegistry } from '@shoplab/chassis';

/** What every downstream gRPC client of the gateway is built from. */
export interface DownstreamClientSettings {
  registry: ServiceRegistry;
  deps: GrpcClientDeps;
  deadlineMs: number;
  /** Retries of the idempotent (read) methods. */
  retries: number;
  /** Breaker thresholds (tests lower them). */
  breaker?: { volumeThreshold?: number; errorThresholdPercentage?: number; resetTimeoutMs?: number };
}

export const CALLER = 'gateway';

/** Short backoff: the gateway's budgets are small, a user is waiting. */
export const READ_RETRY_BACKOFF = { baseDelayMs: 25, maxDelayMs: 200 } as const;
