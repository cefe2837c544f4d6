import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createProducer, type DomainEvent, decodeEvent, type EventProducer, OutboxRelay } from '@shoplab/chassis';
import { Kafka, logLevel } from 'kafkajs';
import type pg from 'pg';
import { createPgPool } from '../../src/infrastructure/database';
import { PASSWORD, startTestService, type TestService, uniqueEmail } from '../support/app';
import { berlin, registerUser } from '../support/http';

let svc: TestService;

before(async () => {
  svc = await startTestService();
});

after(async () => {
  await svc?.close();
});

interface OutboxRow {
  event_id: string;
  topic: string;
  aggregate_type: string;
  aggregate_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
}

async function outboxRows(): Promise<OutboxRow[]> {
  return svc.prisma.$queryRaw<OutboxRow[]>`
    SELECT event_id, topic, aggregate_type, aggregate_id, event_type, payload, headers FROM outbox ORDER BY id`;
}

test('registration writes exactly one outbox row: shop.user.registered.v1 without the password', async () => {
  await svc.prisma.$executeRaw`TRUNCATE outbox`;
  const email = uniqueEmail('events');
  const res = await svc.http.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD, name: 'Eve' },
  });
  assert.equal(res.statusCode, 201);
  const userId = res.json().user.id;

  const rows = await outboxRows();
  assert.equal(rows.length, 1);
  const [row] = rows as [OutboxRow];
  assert.equal(row.topic, 'user.events');
  assert.equal(row.event_type, 'shop.user.registered.v1');
  assert.equal(row.aggregate_type, 'user');
  assert.equal(row.aggregate_id, userId);
  assert.deepEqual(row.payload, { id: userId, email, name: 'Eve' });
  assert.equal(row.headers.ce_source, '/shoplab/user');
  assert.equal(row.headers.ce_subject, userId);

  const stored = JSON.stringify(row);
  assert.ok(!stored.includes(PASSWORD), 'the password is not in the event');
  const { passwordHash } = await svc.prisma.user.findUniqueOrThrow({ where: { id: userId } });
  assert.ok(!stored.includes(passwordHash.split('$')[5] as string), 'nor is its hash');
});

test('a refused registration writes no event', async () => {
  const { email } = await registerUser(svc.http);
  await svc.prisma.$executeRaw`TRUNCATE outbox`;
  const again = await svc.http.inject({
    method: 'POST',
    url: '/v1/auth/register',
    payload: { email, password: PASSWORD, name: 'Twice' },
  });
  assert.equal(again.statusCode, 409);
  assert.equal((await outboxRows()).length, 0);
});

test('adding an address writes shop.user.address_added.v1 keyed by the user', async () => {
  const session = await registerUser(svc.http);
  await svc.prisma.$executeRaw`TRUNCATE outbox`;
  const res = await svc.http.inject({
    method: 'POST',
    url: '/v1/users/me/addresses',
    headers: session.auth,
    payload: berlin,
  });
  assert.equal(res.statusCode, 201);
  const rows = await outboxRows();
  assert.equal(rows.length, 1);
  const [row] = rows as [OutboxRow];
  assert.equal(row.event_type, 'shop.user.address_added.v1');
  assert.equal(row.aggregate_id, session.id);
  assert.deepEqual(row.payload, { userId: session.id, address: { ...res.json() } });
});

test('the outbox relay publishes the registration to user.events on the real Kafka', async () => {
  const kafka = new Kafka({
    clientId: `user-test-${randomUUID().slice(0, 8)}`,
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
  });
  const producer: EventProducer = createProducer(kafka, { logger: svc.http.log });
  const pool: pg.Pool = createPgPool(svc.db.settings);
  const relay = new OutboxRelay({ pool, producer, logger: svc.http.log, pollIntervalMs: 100 });
  const consumer = kafka.consumer({ groupId: `user-test-${randomUUID()}`, maxWaitTimeInMs: 200 });
  try {
    // The broker auto-creates topics, but a consumer subscribing while that happens fails:
    // make sure the topic is there first (a no-op when it exists).
    const admin = kafka.admin();
    await admin.connect();
    await admin
      .createTopics({ topics: [{ topic: 'user.events' }], waitForLeaders: true })
      .finally(() => admin.disconnect());

    const session = await registerUser(svc.http);
    relay.start();

    await consumer.connect();
    await consumer.subscribe({ topics: ['user.events'], fromBeginning: true });
    const received = new Promise<DomainEvent>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const event = decodeEvent(message);
            if (event.subject === session.id && event.type === 'shop.user.registered.v1') resolve(event);
          },
        })
        .catch(reject);
    });
    let timer: NodeJS.Timeout | undefined;
    const event = await Promise.race([
      received,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no shop.user.registered.v1 on user.events within 30 s')), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.deepEqual(event.data, { id: session.id, email: session.email, name: 'Test User' });
    assert.equal(event.source, '/shoplab/user');
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await relay.stop();
    await producer.disconnect().catch(() => undefined);
    await pool.end();
  }
});
