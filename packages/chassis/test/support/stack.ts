// The local stack's addresses for tests (infra/local/infra.sh env exports the same names).
export const testDatabase = {
  host: process.env.DB_HOST ?? '127.0.0.1',
  port: Number(process.env.DB_PORT ?? 5432),
  user: process.env.DB_USER ?? 'shoplab',
  password: process.env.DB_PASSWORD ?? 'shoplab',
  database: 'shoplab_test',
};

export const kafkaBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export const otlpEndpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318';
export const jaegerUrl = process.env.JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686';
