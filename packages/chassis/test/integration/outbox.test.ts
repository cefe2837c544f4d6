import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { promisify } from 'node:util';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { Registry } from 'prom-client';
import { replayOutbox } from '../../src/admin-audit';
import { FaultInjector } from '../../src/chaos';
import {
  consumerIntake,
  createConsumer,
  createEvent,
  createProducer,
  type DomainEvent,
  type EventProducer,
  eventType,
  PROCESSED_EVENTS_DDL,
  pgTransactionRunner,
  type TransactionRunner,
} from '../../src/messaging';
import {
  dropWalSlot,
  OUTBOX_DDL,
  OutboxRelay,
  type OutboxRelayOptions,
  publishSwitch,
  RELAY_MODES,
  walNamesOf,
  walSlotState,
  writeOutbox,
} from '../../src/outbox';
import { createPrismaAdapter } from '../../src/prisma';
import { PrismaClient } from '../fixtures/prisma/generated/client';
import {
  createTopics,
  deleteTopics,
  eventually,
  installTracePropagation,
  randomName,
  readTopic,
  scratchSchema,
  testKafka,
  testLogger,
  withKafkaStopped,
} from '../support/kafka-fixtures';
import { testDatabase } from '../support/stack';

const logger = testLogger();
let kafka: Kafka;
let db: Awaited<ReturnType<typeof scratchSchema>>;
let producer: EventProducer;
const cleanups: (() => Promise<void>)[] = [];
const topics: string[] = [];

before(async () => {
  installTracePropagation();
  kafka = testKafka();
  db = await scratchSchema();
  // A run of this file killed mid-way (a timeout) leaves its WAL slot, which keeps WAL forever.
  await db.pool.query(
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
      WHERE database = current_database() AND NOT active AND slot_name LIKE $1`,
    [`shoplab_outbox_${testDatabase.database}_chassis_msg_%`],
  );
  await db.pool.query(
    'CREATE TABLE applied (seq bigserial PRIMARY KEY, event_id uuid NOT NULL, subject text NOT NULL, n int NOT NULL)',
  );
  producer = createProducer(kafka, { logger });
});

beforeEach(async () => {
  await db.pool.query('TRUNCATE outbox, processed_events, applied');
});

afterEach(async () => {
  // Stop this test's consumers, relays and readers, latest first.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

after(async () => {
  await dropSlot();
  await producer.disconnect();
  await deleteTopics(kafka, topics);
  await db.drop();
});

const inTransaction: TransactionRunner<pg.PoolClient> = (work) => pgTransactionRunner(db.pool)(work);

function orderEvent(orderId: string, n: number): DomainEvent<{ orderId: string; n: number }> {
  return createEvent({ service: 'order', type: eventType('order', 'changed'), subject: orderId, data: { orderId, n } });
}

function requestContext(traceId: string) {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

async function newTopic(): Promise<string> {
  const topic = randomName('chassis.outbox.');
  topics.push(topic, `${topic}.dlq`);
  await createTopics(kafka, [topic, `${topic}.dlq`]);
  return topic;
}

/** Starts a relay; a WAL relay is awaited until it streams, so the rows a test writes come through the WAL. */
async function startRelay(
  overrides: Partial<OutboxRelayOptions> = {},
  { awaitTailing = true } = {},
): Promise<{ relay: OutboxRelay; registry: Registry }> {
  const registry = new Registry();
  const relay = new OutboxRelay({
    pool: db.pool,
    producer,
    logger,
    metrics: { registry },
    pollIntervalMs: 200,
    backoff: { initialMs: 100, maxMs: 1000 },
    ...overrides,
  });
  // The WAL relay keeps its slot across a stop (a restart resumes from it): the test drops it once
  // every relay of the test has stopped (cleanups run latest first, so this one runs after them).
  if (relay.mode === 'wal' && !slotDropQueued) {
    slotDropQueued = true;
    cleanups.push(async () => {
      slotDropQueued = false;
      await dropSlot();
    });
  }
  relay.start();
  cleanups.push(() => relay.stop());
  if (relay.mode === 'wal' && awaitTailing) {
    await eventually('the relay to tail the WAL', () => (relay.tailing ? true : undefined));
  }
  return { relay, registry };
}

let slotDropQueued = false;

/** Drops the scratch schema's slot and publication once no relay streams from them. */
async function dropSlot(): Promise<void> {
  const names = await walNamesOf(db.pool);
  await eventually('the WAL slot dropped', async () =>
    (await dropWalSlot(db.pool, names)) || !(await walSlotState(db.pool, names)) ? true : undefined,
  );
}

/** A consumer that applies each event to `applied` and records the trace id it ran in. */
/**
 * Applies the topic's events as a service does: through consumerIntake, which replaces a
 * consumer kafkajs gives up on — after an outage a restarted broker may not name the group
 * coordinator yet, and kafkajs then crashes the consumer without restarting it.
 */
async function startApplyingConsumer(topic: string) {
  const traceIds = new Map<string, string | undefined>();
  const groupId = randomName('chassis-outbox-');
  const intake = consumerIntake('test-applying-consumer', {
    kafka,
    topics: [topic],
    logger,
    backoff: { initialMs: 200, maxMs: 1_000 },
    create: () =>
      createConsumer({
        kafka,
        groupId,
        topics: [topic],
        db: db.pool,
        logger,
        maxAttempts: 5,
        backoff: { initialMs: 50, maxMs: 500 },
        // After an outage the broker waits out the old member's session before the group rebalances.
        consumerConfig: { sessionTimeout: 6000, heartbeatInterval: 1000 },
        handler: async (event, tx) => {
          const data = event.data as { n: number };
          await tx.query('INSERT INTO applied (event_id, subject, n) VALUES ($1, $2, $3)', [
            event.id,
            event.subject,
            data.n,
          ]);
          traceIds.set(event.id, trace.getActiveSpan()?.spanContext().traceId);
        },
      }),
  });
  cleanups.push(async () => intake.stop());
  await intake.start?.();
  return { groupId, traceIds };
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function count(sql: string, values: unknown[] = []): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(sql, values);
  return Number(rows[0]?.n ?? 0);
}

async function appliedBySubject(): Promise<Map<string, number[]>> {
  const { rows } = await db.pool.query<{ subject: string; n: number }>('SELECT subject, n FROM applied ORDER BY seq');
  const bySubject = new Map<string, number[]>();
  for (const r of rows) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r.n]);
  return bySubject;
}

for (const relayMode of RELAY_MODES) {
  test(`outbox rows of a rolled-back transaction are never published (${relayMode} relay)`, async () => {
    const topic = await newTopic();
    await startRelay({ relayMode });
    const rolledBack = orderEvent('ord-rb', 1);
    const committed = orderEvent('ord-rb', 2);

    await assert.rejects(
      inTransaction(async (tx) => {
        await writeOutbox(tx, rolledBack, { topic });
        throw new Error('payment declined');
      }),
      /payment declined/,
    );
    await inTransaction((tx) => writeOutbox(tx, committed, { topic }));

    const reader = await readTopic(kafka, topic);
    cleanups.push(reader.stop);
    // Same key and an earlier id: had the rolled-back row been published, it would come first.
    await eventually('the committed event on the topic', () => (reader.messages.length > 0 ? true : undefined));
    assert.deepEqual(
      reader.messages.map((m) => m.headers?.ce_id?.toString()),
      [committed.id],
    );
    assert.equal(await count('SELECT count(*) AS n FROM outbox WHERE event_id = $1', [rolledBack.id]), 0);
    assert.equal(await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'), 0);
  });
}

for (const relayMode of RELAY_MODES) {
  test(`committed rows are published in order per aggregate and each handler runs in the trace that wrote its row (${relayMode} relay)`, async () => {
    const topic = await newTopic();
    const { traceIds } = await startApplyingConsumer(topic);
    await startRelay({ relayMode });
    const written = new Map<string, string>(); // event id → trace id of the writing request
    for (let n = 1; n <= 4; n++) {
      const traceId = `${n}`.repeat(32);
      const events = ['ord-a', 'ord-b', 'ord-c'].map((orderId) => orderEvent(orderId, n));
      await context.with(requestContext(traceId), () => inTransaction((tx) => writeOutbox(tx, events, { topic })));
      for (const e of events) written.set(e.id, traceId);
    }

    await eventually('all 12 events applied', async () =>
      (await count('SELECT count(*) AS n FROM applied')) === 12 ? true : undefined,
    );
    const bySubject = await appliedBySubject();
    for (const orderId of ['ord-a', 'ord-b', 'ord-c']) assert.deepEqual(bySubject.get(orderId), [1, 2, 3, 4], orderId);
    for (const [eventId, traceId] of written) assert.equal(traceIds.get(eventId), traceId, `trace of ${eventId}`);
  });
}

test('a NOTIFY wakes the relay long before its poll interval', async () => {
  const topic = await newTopic();
  const { relay } = await startRelay({ pollIntervalMs: 60_000 });
  await eventually('the relay to listen', () => (relay.listening ? true : undefined));
  // Let the start-up cycles finish so the relay is idling on its 60 s poll.
  await eventually('the relay to idle', async () => ((await relay.backlog()) === 0 ? true : undefined));
  const event = orderEvent('ord-notify', 1);

  await inTransaction((tx) => writeOutbox(tx, event, { topic }));

  await eventually(
    'the row to be published',
    async () =>
      (await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL')) === 1 ? true : undefined,
    { timeoutMs: 5000 },
  );
});

test('the relay listens again after its LISTEN connection is killed', async () => {
  const topic = await newTopic();
  const { relay } = await startRelay({ pollIntervalMs: 60_000 });
  await eventually('the relay to listen', () => (relay.listening ? true : undefined));
  const listeners = async () =>
    (
      await db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE application_name = 'shoplab-outbox-relay' AND datname = current_database() AND query ILIKE 'LISTEN%'`,
      )
    ).rows.map((r) => r.pid);
  const [before] = await eventually('the LISTEN backend', async () =>
    (await listeners()).length === 1 ? listeners() : undefined,
  );

  await db.pool.query('SELECT pg_terminate_backend($1)', [before]);

  await eventually('a new LISTEN backend', async () => {
    const now = await listeners();
    return now.length === 1 && now[0] !== before && relay.listening ? true : undefined;
  });
  await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-relisten', 1), { topic }));
  await eventually(
    'the row to be published on NOTIFY',
    async () =>
      (await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL')) === 1 ? true : undefined,
    { timeoutMs: 5000 },
  );
});

for (const relayMode of RELAY_MODES) {
  test(`rows written while Kafka is stopped are all published after it returns, in order per aggregate, and applied exactly once (${relayMode} relay)`, async () => {
    const topic = await newTopic();
    const { groupId } = await startApplyingConsumer(topic);
    const { registry } = await startRelay({ relayMode });
    // Warm up: the group has joined and the producer is connected before the outage.
    await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-warm', 0), { topic }));
    await eventually('the warm-up event applied', async () =>
      (await count('SELECT count(*) AS n FROM applied')) === 1 ? true : undefined,
    );
    const aggregates = ['ord-x', 'ord-y', 'ord-z'];
    const perAggregate = 8;

    await withKafkaStopped(async () => {
      for (let n = 1; n <= perAggregate; n++) {
        await inTransaction((tx) =>
          writeOutbox(
            tx,
            aggregates.map((id) => orderEvent(id, n)),
            { topic },
          ),
        );
      }
      await eventually('a failed publish attempt', async () =>
        (await metricValue(registry, 'shop_outbox_publish_failures_total')) > 0 ? true : undefined,
      );
      assert.equal(await metricValue(registry, 'shop_outbox_backlog'), aggregates.length * perAggregate);
      assert.equal(await count('SELECT count(*) AS n FROM applied'), 1, 'nothing consumed while Kafka is down');
    });

    const total = 1 + aggregates.length * perAggregate;
    await eventually(
      `all ${total} events applied`,
      async () => ((await count('SELECT count(*) AS n FROM applied')) === total ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const bySubject = await appliedBySubject();
    for (const id of aggregates) assert.deepEqual(bySubject.get(id), [1, 2, 3, 4, 5, 6, 7, 8], `order of ${id}`);
    assert.equal(await count('SELECT count(*) AS n FROM outbox'), total);
    assert.equal(await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'), 0);
    assert.equal(await count('SELECT count(*) AS n FROM processed_events WHERE consumer_group = $1', [groupId]), total);
    assert.equal(
      await count('SELECT count(*) AS n FROM (SELECT event_id FROM applied GROUP BY event_id HAVING count(*) > 1) d'),
      0,
      'no event applied twice',
    );
    assert.equal(await metricValue(registry, 'shop_outbox_backlog'), 0);
    assert.equal(await metricValue(registry, 'shop_outbox_published_total'), total);
    const lag = await registry.getSingleMetric('shop_outbox_publish_lag_seconds')?.get();
    const observed = lag?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'));
    assert.equal(observed?.value, total, 'a publish lag for every row');
  });
}

for (const relayMode of RELAY_MODES) {
  test(`two relays on one outbox publish every row once, in order (${relayMode} relay)`, async () => {
    const topic = await newTopic();
    await startRelay({ relayMode });
    // A second WAL relay finds the slot taken and keeps retrying: it never streams.
    await startRelay({ relayMode }, { awaitTailing: false });
    const reader = await readTopic(kafka, topic);
    cleanups.push(reader.stop);
    for (let n = 1; n <= 10; n++) {
      await inTransaction((tx) =>
        writeOutbox(
          tx,
          ['ord-1', 'ord-2', 'ord-3'].map((id) => orderEvent(id, n)),
          { topic },
        ),
      );
    }

    await eventually('30 messages on the topic', () => (reader.messages.length >= 30 ? true : undefined));
    assert.equal(await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'), 0);
    assert.equal(new Set(reader.messages.map((m) => m.headers?.ce_id?.toString())).size, 30);
    assert.equal(reader.messages.length, 30, 'no row published twice');
    for (const id of ['ord-1', 'ord-2', 'ord-3']) {
      const ns = reader.messages.filter((m) => m.key?.toString() === id).map((m) => JSON.parse(String(m.value)).n);
      assert.deepEqual(ns, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], id);
    }
  });
}

for (const relayMode of RELAY_MODES) {
  test(`an injected relay fault holds the rows back until it is cleared (${relayMode} relay)`, async () => {
    const topic = await newTopic();
    const chaos = new FaultInjector();
    const { registry } = await startRelay({ chaos, relayMode });
    const rule = chaos.add({ kind: 'relay', target: 'outbox', fault: { type: 'fail' } });
    if (relayMode === 'poll') {
      // A polling cycle checks for faults as it begins, and cycles run one at a time: once one has
      // failed, every later cycle meets the rule. One already under way when the rule was added
      // would still claim a row written now (it did, in a clean-clone run on a loaded machine).
      await eventually('a polling cycle failed by the fault', async () =>
        (await metricValue(registry, 'shop_outbox_publish_failures_total')) > 0 ? true : undefined,
      );
    }
    await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-chaos', 1), { topic }));

    await eventually('a failed cycle', async () =>
      (await metricValue(registry, 'shop_outbox_publish_failures_total')) > 0 ? true : undefined,
    );
    assert.equal(await metricValue(registry, 'shop_outbox_backlog'), 1);

    chaos.clear(rule.id);
    await eventually('the row to be published', async () =>
      (await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')) === 0 ? true : undefined,
    );
  });
}

test('switching poll → wal → poll while rows are written publishes every row once, in order, and drops the slot', async () => {
  const topic = await newTopic();
  const { relay, registry } = await startRelay();
  const reader = await readTopic(kafka, topic);
  cleanups.push(reader.stop);
  const names = await walNamesOf(db.pool);
  let writing = true;
  let n = 0;
  const writer = (async () => {
    while (writing) {
      n++;
      const events = ['ord-s1', 'ord-s2'].map((id) => orderEvent(id, n));
      await inTransaction((tx) => writeOutbox(tx, events, { topic }));
    }
  })();
  try {
    await eventually('rows published by polling', () => (reader.messages.length >= 10 ? true : undefined));
    assert.equal(await relay.setMode('wal'), 'wal');
    await eventually('the relay to tail the WAL', () => (relay.tailing ? true : undefined));
    const tailing = await relay.status();
    assert.equal(tailing.mode, 'wal');
    assert.equal(tailing.slot?.name, names.slot);
    assert.equal(tailing.slot?.active, true, 'the relay streams from its slot');
    const atSwitch = reader.messages.length;
    await eventually('rows published from the WAL', () => (reader.messages.length >= atSwitch + 10 ? true : undefined));
    assert.equal(await relay.setMode('poll'), 'poll');
    const atSwitchBack = reader.messages.length;
    await eventually('rows published by polling again', () =>
      reader.messages.length >= atSwitchBack + 10 ? true : undefined,
    );
  } finally {
    writing = false;
    await writer;
  }

  const total = 2 * n;
  await eventually(`all ${total} rows on the topic`, () => (reader.messages.length >= total ? true : undefined));
  assert.equal(await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'), 0);
  assert.equal(reader.messages.length, total, 'no row published twice');
  for (const id of ['ord-s1', 'ord-s2']) {
    const ns = reader.messages.filter((m) => m.key?.toString() === id).map((m) => JSON.parse(String(m.value)).n);
    assert.deepEqual(
      ns,
      Array.from({ length: n }, (_, i) => i + 1),
      id,
    );
  }
  assert.equal(await walSlotState(db.pool, names), undefined, 'back in poll mode the slot is gone');
  assert.deepEqual(await relay.status(), { mode: 'poll', tailing: false, slot: null });
  const modes = (await registry.getSingleMetric('shop_outbox_relay_mode')?.get())?.values ?? [];
  assert.deepEqual(Object.fromEntries(modes.map((v) => [v.labels.mode, v.value])), { poll: 1, wal: 0 });
});

test('a WAL relay stopped and started again keeps its slot, publishes what was written meanwhile and confirms past it', async () => {
  const topic = await newTopic();
  const names = await walNamesOf(db.pool);
  const first = await startRelay({ relayMode: 'wal' });
  await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-restart', 1), { topic }));
  await eventually('the first row published', async () =>
    (await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL')) === 1 ? true : undefined,
  );
  await first.relay.stop();
  const stopped = await eventually('the slot inactive', async () => {
    const state = await walSlotState(db.pool, names);
    return state && !state.active ? state : undefined;
  });
  for (let n = 2; n <= 4; n++) await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-restart', n), { topic }));

  await startRelay({ relayMode: 'wal' });
  await eventually('every row published', async () =>
    (await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')) === 0 ? true : undefined,
  );
  await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-restart', 5), { topic }));
  const reader = await readTopic(kafka, topic);
  cleanups.push(reader.stop);
  await eventually('five messages on the topic', () => (reader.messages.length >= 5 ? true : undefined));
  assert.deepEqual(
    reader.messages.map((m) => JSON.parse(String(m.value)).n),
    [1, 2, 3, 4, 5],
  );
  await eventually('the slot confirmed past the rows written while stopped', async () => {
    const state = await walSlotState(db.pool, names);
    return state?.confirmedFlushLsn && lsnValue(state.confirmedFlushLsn) > lsnValue(stopped.confirmedFlushLsn ?? '0/0')
      ? true
      : undefined;
  });
});

test('an idle WAL relay confirms past writes to other tables, so its slot keeps no WAL for them', async () => {
  const names = await walNamesOf(db.pool);
  await startRelay({ relayMode: 'wal' });
  await db.pool.query(
    `INSERT INTO applied (event_id, subject, n) SELECT gen_random_uuid(), 'not-outbox', g FROM generate_series(1, 2000) g`,
  );
  // Where the log ends now, its commit included (pg_current_wal_lsn() may lag: it is what was written out).
  const { rows } = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  const afterWrites = lsnValue(rows[0]?.lsn ?? '0/0');
  await eventually('the slot confirmed past the other table’s writes', async () => {
    const state = await walSlotState(db.pool, names);
    return state?.confirmedFlushLsn && lsnValue(state.confirmedFlushLsn) >= afterWrites ? true : undefined;
  });
  assert.equal(await count('SELECT count(*) AS n FROM outbox'), 0, 'nothing of it went to the outbox');
});

function lsnValue(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

test('direct publishing (the dual write of the exercises) skips the outbox and loses what it sends while Kafka is down', async () => {
  const topic = await newTopic();
  const { registry } = await startRelay({ attachPublishSwitch: true });
  cleanups.push(async () => publishSwitch.reset());
  publishSwitch.set('direct');

  await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-direct', 1), { topic }));
  await eventually('the direct send acknowledged', async () =>
    (await directOutcome(registry, 'published')) === 1 ? true : undefined,
  );
  assert.equal(await count('SELECT count(*) AS n FROM outbox'), 0, 'no outbox row in direct mode');

  await withKafkaStopped(async () => {
    await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-direct', 2), { topic }));
    await eventually(
      'the producer to give up on the send',
      async () => ((await directOutcome(registry, 'lost')) === 1 ? true : undefined),
      { timeoutMs: 60_000 },
    );
  });
  publishSwitch.set('outbox');
  await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-direct', 3), { topic }));
  await eventually(
    'the outbox row published after Kafka returned',
    async () =>
      (await count('SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL')) === 1 ? true : undefined,
    { timeoutMs: 60_000 },
  );
  // A reader that joins after the outage (a group that rode it out takes a session timeout to rejoin).
  const reader = await readTopic(kafka, topic);
  cleanups.push(reader.stop);
  await eventually('two messages on the topic', () => (reader.messages.length >= 2 ? true : undefined), {
    timeoutMs: 60_000,
  });
  const ns = reader.messages.map((m) => JSON.parse(String(m.value)).n);
  assert.deepEqual(ns, [1, 3], 'the event sent while Kafka was down is gone for good');
  assert.equal(await directOutcome(registry, 'published'), 1);
});

test('replayed rows are published again and an idempotent consumer applies each event once', async () => {
  const topic = await newTopic();
  const { groupId } = await startApplyingConsumer(topic);
  const { registry } = await startRelay();
  for (let n = 1; n <= 5; n++) await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-replay', n), { topic }));
  await eventually('five events applied', async () =>
    (await count('SELECT count(*) AS n FROM applied')) === 5 ? true : undefined,
  );
  const replayed = await replayOutbox(db.pool, 3);
  assert.equal(replayed.replayed, 3);
  await eventually('the replayed rows published again', async () =>
    (await metricValue(registry, 'shop_outbox_published_total')) === 8 ? true : undefined,
  );
  // The consumer has seen the duplicates once they are committed past: a later event proves it.
  await inTransaction((tx) => writeOutbox(tx, orderEvent('ord-replay', 6), { topic }));
  await eventually('the event after the duplicates applied', async () =>
    (await count('SELECT count(*) AS n FROM applied')) === 6 ? true : undefined,
  );
  assert.deepEqual((await appliedBySubject()).get('ord-replay'), [1, 2, 3, 4, 5, 6], 'each event applied once');
  assert.equal(await count('SELECT count(*) AS n FROM processed_events WHERE consumer_group = $1', [groupId]), 6);
});

async function directOutcome(registry: Registry, outcome: string): Promise<number> {
  const values = (await registry.getSingleMetric('shop_outbox_direct_publish_total')?.get())?.values ?? [];
  return values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

test('writeOutbox writes and notifies inside a Prisma interactive transaction', async () => {
  const prisma = new PrismaClient({ adapter: createPrismaAdapter(testDatabase) });
  const listener = new pg.Client(testDatabase);
  const notified: string[] = [];
  await listener.connect();
  listener.on('notification', (n) => notified.push(n.channel));
  await listener.query('LISTEN outbox');
  try {
    const kept = orderEvent('ord-prisma', 1);
    const dropped = orderEvent('ord-prisma', 2);
    await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SET LOCAL search_path TO ${db.schema}`);
      await writeOutbox(tx, kept);
    });
    await assert.rejects(
      prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL search_path TO ${db.schema}`);
        await writeOutbox(tx, dropped);
        throw new Error('rolled back');
      }),
    );

    const { rows } = await db.pool.query('SELECT event_id, topic, aggregate_type, payload, headers FROM outbox');
    assert.deepEqual(
      rows.map((r) => ({ ...r, headers: { ce_id: r.headers.ce_id, ce_type: r.headers.ce_type } })),
      [
        {
          event_id: kept.id,
          topic: 'order.events',
          aggregate_type: 'order',
          payload: { orderId: 'ord-prisma', n: 1 },
          headers: { ce_id: kept.id, ce_type: 'shop.order.changed.v1' },
        },
      ],
    );
    await eventually('the commit to notify', () => (notified.includes('outbox') ? true : undefined));
  } finally {
    await listener.end();
    await prisma.$disconnect();
  }
});

test('the Prisma models in prisma/outbox.prisma describe the tables of OUTBOX_DDL and PROCESSED_EVENTS_DDL', async () => {
  const run = promisify(execFile);
  const chassisDir = resolve(__dirname, '../../..');
  const workDir = join(chassisDir, 'test-output', randomName('outbox_prisma_'));
  await mkdir(join(workDir, 'migrations', '0_outbox'), { recursive: true });
  try {
    await cp(join(chassisDir, 'test/fixtures/prisma/prisma.config.ts'), join(workDir, 'prisma.config.ts'));
    // The fixture's generator and datasource blocks (engineType "client": no native engine), then the models.
    const fixture = await readFile(join(chassisDir, 'test/fixtures/prisma/schema.prisma'), 'utf8');
    const blocks = fixture.match(/^(generator|datasource) [\s\S]*?^}/gm)?.join('\n\n') ?? '';
    const models = await readFile(join(chassisDir, 'prisma/outbox.prisma'), 'utf8');
    await writeFile(join(workDir, 'schema.prisma'), `${blocks}\n\n${models}`);
    await writeFile(join(workDir, 'migrations', 'migration_lock.toml'), 'provider = "postgresql"\n');
    await writeFile(
      join(workDir, 'migrations', '0_outbox', 'migration.sql'),
      `${OUTBOX_DDL}\n${PROCESSED_EVENTS_DDL}\n`,
    );

    // Applies the DDL to a shadow database and diffs it against the models.
    const { stdout } = await run(
      resolve(chassisDir, '../../node_modules/.bin/prisma'),
      ['migrate', 'diff', '--from-migrations', 'migrations', '--to-schema-datamodel', 'schema.prisma', '--script'],
      { cwd: workDir, env: { ...process.env, DB_NAME: testDatabase.database, DATABASE_URL: undefined } },
    );
    assert.match(stdout, /This is an empty migration/);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
});
