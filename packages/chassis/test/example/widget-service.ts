// A small example service built on every chassis module, run by example-service.test.ts as
// a real process (`node --require <chassis>/dist/src/telemetry.js widget-service.js`):
//   config · logging · http (problem+json, OpenAPI, /readyz, /metrics, admin) · auth (JWT) ·
//   Prisma through the offline adapter · transactional outbox + relay · Kafka consumer with
//   processed_events · gRPC server (health + a service) · gRPC client through discovery
//   (Consul) with deadline, retry and breaker · chaos · lifecycle (graceful shutdown).
// It reuses catalog.v1.CatalogService/GetProduct as its gRPC API so no extra contract is needed.
import { catalogV1 } from '@shoplab/contracts';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { z } from 'zod';
import {
  baseConfigSchema,
  createConsumer,
  createEvent,
  createGrpcClient,
  createGrpcServer,
  createHttpApp,
  createPrismaAdapter,
  createProducer,
  createServiceKit,
  createTokenVerifier,
  databaseConfigSchema,
  ensureTopics,
  eventType,
  grpcConfigSchema,
  kafkaConfigSchema,
  kafkaLogCreator,
  loadConfig,
  OUTBOX_DDL,
  OutboxRelay,
  PROCESSED_EVENTS_DDL,
  poolConfig,
  publicKeySetting,
  requireUser,
  ShopError,
  startService,
  writeOutbox,
} from '../../src';
import { PrismaClient } from '../fixtures/prisma/generated/client';

const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({ JWT_PUBLIC_KEY: publicKeySetting, WIDGET_TOPIC: z.string().default('widget.events') });

const WIDGETS_DDL = `
CREATE TABLE IF NOT EXISTS widgets (id text PRIMARY KEY, name text NOT NULL, stock int NOT NULL DEFAULT 0,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS widget_notifications (event_id uuid PRIMARY KEY, widget_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now());`;

async function main() {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const { logger, metrics, chaos, breakers, registry } = kit;
  const db = {
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
  };

  const pool = new pg.Pool(poolConfig(db));
  await pool.query(`${WIDGETS_DDL}${OUTBOX_DDL}${PROCESSED_EVENTS_DDL}`);
  const prisma = new PrismaClient({ adapter: createPrismaAdapter(db) });
  const kafka = new Kafka({
    clientId: kit.instanceId,
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  await ensureTopics(kafka, [config.WIDGET_TOPIC], { withDlq: true });
  const producer = createProducer(kafka, { logger });
  const relay = new OutboxRelay({ pool, producer, logger, metrics, chaos, pollIntervalMs: 500 });
  const consumer = createConsumer({
    kafka,
    groupId: `${config.SERVICE_NAME}-notifier`,
    topics: [config.WIDGET_TOPIC],
    db: pool,
    logger,
    metrics,
    chaos,
    maxAttempts: 3,
    handler: async (event, tx) => {
      await tx.query('INSERT INTO widget_notifications (event_id, widget_id) VALUES ($1, $2)', [
        event.id,
        event.subject,
      ]);
    },
  });

  // gRPC: this service's API, and a client of it that goes through discovery.
  const grpc = createGrpcServer({
    serviceName: config.SERVICE_NAME,
    logger,
    metrics,
    chaos,
    host: config.GRPC_HOST,
    port: config.GRPC_PORT,
  });
  const notHere = async () => {
    throw new ShopError('SHOP_ROUTE_NOT_FOUND', 'the example service implements GetProduct only');
  };
  grpc.addService(catalogV1.CatalogServiceService, {
    getProduct: async (request: catalogV1.GetProductRequest) => {
      const widget = await prisma.widget.findUnique({ where: { id: request.id } });
      if (!widget) throw new ShopError('SHOP_NOT_FOUND', `No widget ${request.id}`);
      return {
        product: {
          id: widget.id,
          sku: widget.id,
          name: widget.name,
          description: '',
          category: 'widgets',
          price: { amount: 100, currency: 'USD' },
          available: widget.stock,
          imageUrl: '',
        },
      };
    },
    batchGetProducts: notHere,
    listProducts: notHere,
    reserveStock: notHere,
    commitStock: notHere,
    releaseStock: notHere,
    restockCommitted: notHere,
    prepareReserveStock: notHere,
    finishPrepared: notHere,
  });
  const self = createGrpcClient(
    catalogV1.CatalogServiceClient,
    {
      caller: config.SERVICE_NAME,
      target: config.SERVICE_NAME,
      registry,
      deadlineMs: 5_000,
      retry: { idempotentMethods: ['getProduct'], retries: 2 },
    },
    { metrics, breakers, logger, chaos },
  );

  const verify = createTokenVerifier(config.JWT_PUBLIC_KEY);
  const http = await createHttpApp({
    ...kit.httpOptions(),
    readiness: { db: () => pool.query('SELECT 1') },
  });
  http.post(
    '/widgets',
    {
      onRequest: requireUser(verify),
      schema: { body: z.object({ id: z.string().min(1), name: z.string().min(1), stock: z.number().int().min(0) }) },
    },
    async (request, reply) => {
      const widget = await prisma.$transaction(async (tx) => {
        const created = await tx.widget.create({ data: request.body });
        await writeOutbox(
          tx,
          createEvent({
            service: config.SERVICE_NAME,
            type: eventType('widget', 'created'),
            subject: created.id,
            data: request.body,
          }),
          { topic: config.WIDGET_TOPIC },
        );
        return created;
      });
      return reply.code(201).send({ id: widget.id, name: widget.name, stock: widget.stock });
    },
  );
  http.get('/widgets/:id', { schema: { params: z.object({ id: z.string() }) } }, async (request) => {
    const { product } = await self.call('getProduct', { id: request.params.id });
    return { id: product?.id, name: product?.name, stock: product?.available };
  });

  await startService(kit, {
    http,
    grpc,
    intake: [
      { name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() },
      { name: 'consumer', start: () => consumer.start(), stop: () => consumer.stop() },
    ],
    pools: [
      { name: 'grpc-clients', close: () => self.close() },
      { name: 'kafka-producer', close: () => producer.disconnect() },
      { name: 'prisma', close: () => prisma.$disconnect() },
      { name: 'pg', close: () => pool.end() },
    ],
  });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
