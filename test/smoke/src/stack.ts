// Addresses of the local stack, as `infra/local/infra.sh env` exports them (with its defaults).
export const stack = {
  db: {
    host: process.env.DB_HOST ?? '127.0.0.1',
    port: Number(process.env.DB_PORT ?? 5432),
    user: process.env.DB_USER ?? 'shoplab',
    password: process.env.DB_PASSWORD ?? 'shoplab',
  },
  serviceDatabases: ['shoplab_user', 'shoplab_catalog', 'shoplab_cart', 'shoplab_payment', 'shoplab_order'],
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318',
  jaegerUrl: process.env.JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686',
  prometheusUrl: process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090',
  stateDir: process.env.SHOPLAB_STATE ?? `${process.env.XDG_STATE_HOME ?? `${process.env.HOME}/.local/state`}/shoplab`,
};
