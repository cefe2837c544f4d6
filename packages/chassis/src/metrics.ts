import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';

/** Latency buckets (seconds) for RPCs and HTTP requests: 2.5 ms … 10 s. */
export const LATENCY_BUCKETS = [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The metrics every service exposes; services add their own to `registry`. */
export interface ServiceMetrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  grpcServerDuration: Histogram<'service' | 'method' | 'code'>;
  grpcClientDuration: Histogram<'target' | 'service' | 'method' | 'code'>;
  breakerState: Gauge<'caller' | 'target'>;
  breakerEvents: Counter<'caller' | 'target' | 'event'>;
  chaosInjections: Counter<'kind' | 'target' | 'fault'>;
}

/** One registry per service (default labels: service, instance), with Node's default metrics. */
export function createMetrics(service: string, instance?: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service, ...(instance ? { instance_id: instance } : {}) });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'shop_http_request_duration_seconds',
      help: 'HTTP requests served, by route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    grpcServerDuration: new Histogram({
      name: 'shop_grpc_server_handling_seconds',
      help: 'gRPC calls served, by method and status code',
      labelNames: ['service', 'method', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    grpcClientDuration: new Histogram({
      name: 'shop_grpc_client_handling_seconds',
      help: 'gRPC calls made, by target, method and status code',
      labelNames: ['target', 'service', 'method', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    breakerState: new Gauge({
      name: 'shop_circuit_breaker_state',
      help: 'Circuit breaker state per caller and target: 0 closed, 1 half-open, 2 open',
      labelNames: ['caller', 'target'],
      registers,
    }),
    breakerEvents: new Counter({
      name: 'shop_circuit_breaker_events_total',
      help: 'Circuit breaker events (open, half_open, close, reject, timeout, failure, success, fallback)',
      labelNames: ['caller', 'target', 'event'],
      registers,
    }),
    chaosInjections: new Counter({
      name: 'shop_chaos_injections_total',
      help: 'Faults injected by the chaos controller',
      labelNames: ['kind', 'target', 'fault'],
      registers,
    }),
  };
}

/**
 * The metric `name` of `registry`, created by `create` the first time: components built more
 * than once per process (a consumer per restart, a relay per test) share one registration.
 */
export function getOrCreate<M extends Metric>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}
