import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type pino from 'pino';
import { AccessLogSwitch } from './access-log';
import { FaultInjector } from './chaos';
import { processClock } from './clock';
import { type BaseConfig, ConfigError } from './config';
import { createServiceRegistry, type Instance, type ServiceRegistry } from './discovery';
import { useSidecarTls } from './grpc-client';
import type { GrpcServer } from './grpc-server';
import { type AdminListener, type HttpApp, type HttpAppOptions, listenAdmin } from './http';
import { flushTelemetry, Lifecycle, type ShutdownReport } from './lifecycle';
import { createLogger, type Logger } from './logging';
import { createMetrics, type ServiceMetrics } from './metrics';
import { BreakerRegistry, retry } from './resilience';
import { ServiceCredential, useServiceCredential } from './service-auth';

/** The cross-cutting parts of one service process, built once from its validated config. */
export interface ServiceKit<C extends BaseConfig = BaseConfig> {
  config: C;
  instanceId: string;
  logger: Logger;
  metrics: ServiceMetrics;
  chaos: FaultInjector;
  breakers: BreakerRegistry;
  registry: ServiceRegistry;
  lifecycle: Lifecycle;
  /** Who writes the access log: ACCESS_LOG at start, /admin/access-log at runtime. */
  accessLog?: AccessLogSwitch;
  /** The HttpAppOptions every service shares; add `readiness` and, for the gateway, `swaggerUi`. */
  httpOptions(): Omit<HttpAppOptions, 'readiness'>;
}

/** Builds logger, metrics, chaos, breakers, registry and lifecycle for a service. */
export function createServiceKit<C extends BaseConfig>(
  config: C,
  options: { logDestination?: pino.DestinationStream; registry?: ServiceRegistry } = {},
): ServiceKit<C> {
  const instanceId = config.INSTANCE_ID ?? `${config.SERVICE_NAME}-${randomUUID().slice(0, 8)}`;
  const logger = createLogger({
    service: config.SERVICE_NAME,
    instance: instanceId,
    level: config.LOG_LEVEL,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const metrics = createMetrics(config.SERVICE_NAME, instanceId);
  const chaos = new FaultInjector(metrics);
  // The process's clock (events, timelines) is skewed by the kit's chaos `clock` rules.
  processClock.useOffset(() => chaos.clockOffsetMs());
  // Every gRPC client of the process signs its calls with the service's own key.
  if (config.SERVICE_PRIVATE_KEY)
    useServiceCredential(new ServiceCredential(config.SERVICE_NAME, config.SERVICE_PRIVATE_KEY));
  // The services behind a TLS sidecar are dialled at the sidecar's address, over TLS.
  const sidecarTargets = Object.keys(config.SIDECAR_SERVICES);
  if (sidecarTargets.length > 0) {
    if (!config.SIDECAR_CA_FILE)
      throw new ConfigError(['SIDECAR_SERVICES is set: SIDECAR_CA_FILE must name the CA file']);
    useSidecarTls({ targets: sidecarTargets, caPem: readFileSync(config.SIDECAR_CA_FILE) });
  }
  const breakers = new BreakerRegistry();
  const registry =
    options.registry ??
    createServiceRegistry({
      mode: config.REGISTRY_MODE,
      staticServices: { ...config.STATIC_SERVICES, ...config.SIDECAR_SERVICES },
      consulUrl: config.CONSUL_URL,
      logger,
    });
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  const accessLog = new AccessLogSwitch(config.ACCESS_LOG);
  return {
    config,
    instanceId,
    logger,
    metrics,
    chaos,
    breakers,
    registry,
    lifecycle,
    accessLog,
    httpOptions: () => ({
      service: config.SERVICE_NAME,
      version: config.SERVICE_VERSION,
      logger,
      metrics,
      chaos,
      adminToken: config.ADMIN_TOKEN,
      bodyLimitBytes: config.HTTP_BODY_LIMIT_BYTES,
      accessLog,
      isShuttingDown: () => lifecycle.isShuttingDown,
      breakers,
    }),
  };
}

/** Something that takes work in (a Kafka consumer, the outbox relay) and can stop taking it. */
export interface Intake {
  name: string;
  start?(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** A pool or client to close at the end (Prisma, pg, Kafka producer). */
export interface Closeable {
  name: string;
  close(): Promise<unknown> | unknown;
}

export interface ServiceParts {
  http: HttpApp;
  grpc?: GrpcServer;
  intake?: Intake[];
  pools?: Closeable[];
  /** Install SIGTERM/SIGINT handlers (default true; tests drive `stop()` themselves). */
  handleSignals?: boolean;
}

/** The registry metadata key of an instance's admin listener port (when it has one). */
export const ADMIN_PORT_META = 'admin_port';

/**
 * `http://host:port` of an instance's admin routes: its admin listener (meta `admin_port`), else
 * its one HTTP port (a service without ADMIN_PORT serves them there).
 */
export function adminBaseUrlOf(instance: Instance): string {
  const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
  const adminPort = instance.meta?.[ADMIN_PORT_META];
  return `http://${host}:${adminPort ?? instance.port}`;
}

export interface RunningService {
  httpPort: number;
  /** The admin listener's port (ADMIN_PORT), when the service has one. */
  adminPort: number | undefined;
  grpcPort: number | undefined;
  stop(reason?: string): Promise<ShutdownReport>;
}

/**
 * Starts a service: listen (HTTP, then gRPC), start intake, register in the registry, and
 * wire the shutdown order: deregister → stop intake → drain HTTP and gRPC → close pools →
 * flush telemetry.
 */
export async function startService<C extends BaseConfig>(
  kit: ServiceKit<C>,
  parts: ServiceParts,
): Promise<RunningService> {
  const { config, logger, lifecycle, registry } = kit;
  // The admin listener first: once the public port takes requests, admin routes are 404 there.
  let admin: AdminListener | undefined;
  if (config.ADMIN_PORT !== undefined) {
    admin = await listenAdmin(parts.http, { host: config.ADMIN_HOST ?? config.HTTP_HOST, port: config.ADMIN_PORT });
  }
  await parts.http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const httpPort = (parts.http.server.address() as AddressInfo).port;
  const grpcPort = parts.grpc ? await parts.grpc.start() : undefined;
  for (const intake of parts.intake ?? []) await intake.start?.();

  await retry(
    () =>
      registry.register({
        id: kit.instanceId,
        service: config.SERVICE_NAME,
        address: config.ADVERTISE_HOST,
        port: httpPort,
        ...(grpcPort !== undefined ? { grpcPort } : {}),
        ...(admin ? { meta: { [ADMIN_PORT_META]: String(admin.port) } } : {}),
        tags: [`version-${config.SERVICE_VERSION}`],
        check: { path: '/readyz' },
      }),
    {
      retries: 8,
      baseDelayMs: 250,
      maxDelayMs: 5_000,
      shouldRetry: () => true,
      onRetry: (err, attempt) => logger.warn({ err, attempt }, 'registration failed, retrying'),
    },
  );

  lifecycle.onShutdown('deregister', 'registry', () => registry.deregister());
  for (const intake of parts.intake ?? []) lifecycle.onShutdown('stop-intake', intake.name, () => intake.stop());
  lifecycle.onShutdown('drain', 'http', () => parts.http.close());
  if (admin) {
    const listener = admin;
    lifecycle.onShutdown('drain', 'admin-http', () => listener.close());
  }
  if (parts.grpc) {
    const grpc = parts.grpc;
    lifecycle.onShutdown('drain', 'grpc', () => grpc.shutdown(config.SHUTDOWN_TIMEOUT_MS / 2));
  }
  for (const pool of parts.pools ?? []) lifecycle.onShutdown('close-pools', pool.name, () => pool.close());
  lifecycle.onShutdown('close-pools', 'breakers', () => kit.breakers.close());
  lifecycle.onShutdown('close-pools', 'registry', () => registry.close());
  lifecycle.onShutdown('flush-telemetry', 'opentelemetry', () => flushTelemetry());
  if (parts.handleSignals ?? true) lifecycle.installSignalHandlers();

  logger.info(
    { httpPort, adminPort: admin?.port, grpcPort, instance: kit.instanceId, registry: config.REGISTRY_MODE },
    `${config.SERVICE_NAME} started`,
  );
  return { httpPort, adminPort: admin?.port, grpcPort, stop: (reason = 'stop') => lifecycle.shutdown(reason) };
}
