// OpenTelemetry bootstrap, loaded by the start command before anything else:
//   node --require @shoplab/chassis/telemetry dist/src/main.js
// Business code never imports this file (importing it starts the SDK); it asks
// @opentelemetry/api for a tracer, and the lifecycle flushes through flushTelemetry().
// It reads its few settings from the environment itself because it runs before the
// service's config is parsed; they are validated here all the same.
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';

const telemetryEnvSchema = z.object({
  SERVICE_NAME: z.string().default('unknown-service'),
  SERVICE_VERSION: z.string().default('0.1.0'),
  INSTANCE_ID: z.string().optional(),
  NODE_ENV: z.string().default('development'),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().default('http://127.0.0.1:4318'),
  OTEL_TRACES_SAMPLER_RATIO: z.coerce.number().min(0).max(1).default(1),
  OTEL_LOG_LEVEL: z.enum(['none', 'error', 'warn', 'info', 'debug']).default('error'),
});
export type TelemetrySettings = z.infer<typeof telemetryEnvSchema>;

export const TELEMETRY_GLOBAL_KEY = Symbol.for('shoplab.telemetry');
const GLOBAL_KEY = TELEMETRY_GLOBAL_KEY;
type GlobalWithSdk = typeof globalThis & { [GLOBAL_KEY]?: NodeTracerProvider | null };

/**
 * Starts tracing once per process (a second call returns the running provider).
 * The tracer provider is assembled from its parts, not with @opentelemetry/sdk-node's NodeSDK:
 * NodeSDK requires every exporter it can build from the environment (metrics, logs, Zipkin,
 * Prometheus, OTLP over gRPC and protobuf) whether or not it uses them — about 2 500 modules
 * and 60 MB of resident memory in each service (docs/adr/0049-service-memory-lean-telemetry-and-heap-settings.md).
 * What it did for us is done here: the W3C propagators and the AsyncLocalStorage context
 * manager (NodeTracerProvider.register), the env/process/host resource detectors, the
 * instrumentations.
 */
export function startTelemetry(env: Record<string, string | undefined> = process.env): NodeTracerProvider | null {
  const g = globalThis as GlobalWithSdk;
  if (g[GLOBAL_KEY] !== undefined) return g[GLOBAL_KEY];
  const parsed = telemetryEnvSchema.safeParse(env);
  if (!parsed.success) {
    console.error(`telemetry: invalid settings, tracing disabled: ${parsed.error.message}`);
    g[GLOBAL_KEY] = null;
    return null;
  }
  const settings = parsed.data;
  if (settings.OTEL_SDK_DISABLED === 'true') {
    g[GLOBAL_KEY] = null;
    return null;
  }
  const level = {
    none: DiagLogLevel.NONE,
    error: DiagLogLevel.ERROR,
    warn: DiagLogLevel.WARN,
    info: DiagLogLevel.INFO,
    debug: DiagLogLevel.DEBUG,
  }[settings.OTEL_LOG_LEVEL];
  diag.setLogger(new DiagConsoleLogger(), level);

  // Metrics are prom-client's (scraped by Prometheus) and logs are pino's (stdout):
  // only traces are exported, so no meter or logger provider is set up.
  const resource = detectResources({ detectors: [envDetector, processDetector, hostDetector] }).merge(
    resourceFromAttributes({
      'service.name': settings.SERVICE_NAME,
      'service.version': settings.SERVICE_VERSION,
      'service.namespace': 'shoplab',
      'deployment.environment.name': settings.NODE_ENV,
      ...(settings.INSTANCE_ID ? { 'service.instance.id': settings.INSTANCE_ID } : {}),
    }),
  );
  const provider = new NodeTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.OTEL_TRACES_SAMPLER_RATIO) }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${settings.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces` }), {
        scheduledDelayMillis: 1000,
      }),
    ],
  });
  // The global tracer provider, W3C trace context + baggage propagation, AsyncLocalStorage context.
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes would drown the real traffic.
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? ''),
      }),
      // fetch() is undici, not node:http: the gateway's REST calls need their own instrumentation.
      new UndiciInstrumentation(),
      // A request span and its handler span per request, no span per lifecycle hook: the hooks
      // (auth, rate limit, chaos, metrics) were 8 of a request's spans, and 0.89× the gateway's
      // CPU per request without them (docs/benchmarks.md#the-gateway-p1-p2).
      new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false }),
      new GrpcInstrumentation({ ignoreGrpcMethods: ['Check', 'Watch'] }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new KafkaJsInstrumentation(),
    ],
  });
  g[GLOBAL_KEY] = provider;
  return provider;
}

/** Flushes and stops tracing: the last step of a graceful shutdown. */
export async function shutdownTelemetry(): Promise<void> {
  const g = globalThis as GlobalWithSdk;
  const provider = g[GLOBAL_KEY];
  if (provider) await provider.shutdown();
  g[GLOBAL_KEY] = null;
}

// Loaded with --require: start right away, before the instrumented modules are required.
startTelemetry();
