// A history service on a scratch database, consuming source topics of the test's own (so the
// shop's real events never reach it), and a producer to publish events to them.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  createEvent,
  createLogger,
  createPrismaAdapter,
  createProducer,
  createServiceKit,
  type DomainEvent,
  type EventProducer,
  ensureTopics,
  loadConfig,
} from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { Kafka, logLevel } from 'kafkajs';
import { buildApp, type HistoryApp } from '../../src/app';
import { configSchema } from '../../src/config';
import { PrismaClient } from '../../src/generated/prisma/client';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const migrationsDir = join(__dirname, '../../../prisma/migrations');

export interface RunningHistory {
  app: HistoryApp;
  kafka: Kafka;
  producer: EventProducer;
  prisma: PrismaClient;
  db: ScratchDatabase;
  orderTopic: string;
  paymentTopic: string;
  publish(topic: string, event: DomainEvent): Promise<void>;
  close(): Promise<void>;
}

/** `kafkaBrokers`: another broker list (a dead one: Kafka away), tried once per call. */
export async function startHistory(options: { kafkaBrokers?: string } = {}): Promise<RunningHistory> {
  const suffix = randomUUID().slice(0, 8);
  const orderTopic = `order.events.history-test-${suffix}`;
  const paymentTopic = `payment.events.history-test-${suffix}`;
  const db = await createScratchDatabase({ prefix: 'history_test', migrationsDir });
  const prisma = new PrismaClient({ adapter: createPrismaAdapter(db.settings) });
  const config = loadConfig(configSchema, {
    ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HTTP_PORT: '0',
    OTEL_SDK_DISABLED: 'true',
    ORDER_EVENTS_TOPIC: orderTopic,
    ORDER_EVENTS_GROUP: `history-order-events-test-${suffix}`,
    PAYMENT_EVENTS_TOPIC: paymentTopic,
    PAYMENT_EVENTS_GROUP: `history-payment-events-test-${suffix}`,
    ...(options.kafkaBrokers ? { KAFKA_BROKERS: options.kafkaBrokers } : {}),
  });
  const kit = createServiceKit(config);
  const kafka = new Kafka({
    clientId: 'history-test',
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    ...(options.kafkaBrokers ? { retry: { retries: 0 }, connectionTimeout: 500 } : {}),
  });
  if (!options.kafkaBrokers) await ensureTopics(kafka, [orderTopic, paymentTopic], { withDlq: true });
  const app = await buildApp({ kit, prisma, kafka, backoff: { initialMs: 20, maxMs: 50 } });
  await app.http.ready();
  await app.projector.start();
  const logger = createLogger({ service: 'history-test', level: 'silent' });
  const producer = createProducer(kafka, { logger });
  return {
    app,
    kafka,
    producer,
    prisma,
    db,
    orderTopic,
    paymentTopic,
    publish: (topic, event) => producer.publish(topic, [event]),
    close: async () => {
      await app.projector.stop();
      await producer.disconnect();
      await app.http.close();
      kit.breakers.close();
      await prisma.$disconnect();
      await db.drop();
      if (options.kafkaBrokers) return;
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      await kafkaAdmin
        .deleteTopics({ topics: [orderTopic, paymentTopic, `${orderTopic}.dlq`, `${paymentTopic}.dlq`] })
        .catch(() => undefined);
      await kafkaAdmin.disconnect();
    },
  };
}

const usd = (amount: number) => ({ amount, currency: 'USD' });

/** The events of one checkout: created, authorized, captured/voided and the end, at `start` + seconds. */
export function checkoutEvents(options: {
  orderId?: string;
  userId: string;
  products: { productId: string; name: string; quantity: number; price: number }[];
  outcome: 'confirmed' | 'cancelled';
  start: Date;
}) {
  const orderId = options.orderId ?? randomUUID();
  const paymentId = randomUUID();
  const at = (s: number) => new Date(options.start.getTime() + s * 1000);
  const lines = options.products.map((p) => ({
    productId: p.productId,
    name: p.name,
    quantity: p.quantity,
    unitPrice: usd(p.price),
    lineTotal: usd(p.price * p.quantity),
  }));
  const total = usd(lines.reduce((sum, l) => sum + l.lineTotal.amount, 0));
  const payment = (kind: string, status: string, s: number, captured: number) =>
    createEvent({
      service: 'payment',
      type: `shop.payment.${kind}.v1`,
      subject: paymentId,
      time: at(s),
      data: { paymentId, orderId, status, amount: total, captured: usd(captured), refunded: usd(0), cardLast4: '4242' },
    });
  const order = [
    createEvent({
      service: 'order',
      type: 'shop.order.created.v1',
      subject: orderId,
      time: at(0),
      data: {
        orderId,
        userId: options.userId,
        status: 'PENDING',
        lines,
        total,
        shippingAddress: null,
        cartVersion: 1,
        createdAt: at(0).toISOString(),
      },
    }),
    options.outcome === 'confirmed'
      ? createEvent({
          service: 'order',
          type: 'shop.order.confirmed.v1',
          subject: orderId,
          time: at(3),
          data: {
            orderId,
            userId: options.userId,
            status: 'CONFIRMED',
            lines: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
            total,
            paymentId,
            cartVersion: 1,
            confirmedAt: at(3).toISOString(),
          },
        })
      : createEvent({
          service: 'order',
          type: 'shop.order.cancelled.v1',
          subject: orderId,
          time: at(3),
          data: {
            orderId,
            userId: options.userId,
            status: 'CANCELLED',
            reason: 'step_deadline_exceeded:capture_payment',
            total,
            cartVersion: 1,
            cancelledAt: at(3).toISOString(),
          },
        }),
  ];
  const payments = [
    payment('authorized', 'AUTHORIZED', 1, 0),
    options.outcome === 'confirmed'
      ? payment('captured', 'CAPTURED', 2, total.amount)
      : payment('voided', 'VOIDED', 2, 0),
  ];
  return { orderId, paymentId, total, order, payments };
}
