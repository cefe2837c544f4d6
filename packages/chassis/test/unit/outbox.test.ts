import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { before, describe, test } from 'node:test';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { FaultInjector } from '../../src/chaos';
import { createEvent, type DomainEvent, eventType, type TopicMessages } from '../../src/messaging';
import { OutboxPublishError, OutboxRelay, writeOutbox } from '../../src/outbox';
import { installTracePropagation, testLogger } from '../support/kafka-fixtures';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const inRequest = trace.setSpanContext(ROOT_CONTEXT, {
  traceId,
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
});

function stockReserved(productId: string, quantity = 1): DomainEvent<{ productId: string; quantity: number }> {
  return createEvent({
    service: 'catalog',
    type: eventType('stock', 'reserved'),
    subject: productId,
    data: { productId, quantity },
  });
}

/** A pg client inside BEGIN, recording what it is asked. */
function recordingTx() {
  const statements: { sql: string; values: unknown[] }[] = [];
  return {
    statements,
    tx: {
      query: async (sql: string, values?: unknown[]) => {
        statements.push({ sql: sql.replace(/\s+/g, ' ').trim(), values: values ?? [] });
        return { rows: [], rowCount: 1 };
      },
    },
  };
}

before(() => installTracePropagation());

describe('writeOutbox', () => {
  test('inserts each event with its topic, aggregate, payload and headers, and notifies the relay in the same statement', async () => {
    const { tx, statements } = recordingTx();
    const [a, b] = [stockReserved('p-1', 2), stockReserved('p-2')];

    await writeOutbox(tx, [a, b]);

    assert.equal(statements.length, 1, 'one round trip');
    const [insert] = statements;
    assert.match(
      insert?.sql ?? '',
      /^WITH written AS \( INSERT INTO outbox \(event_id, topic, aggregate_type, aggregate_id, event_type, payload, headers\) VALUES \(.+\), \(.+\) \) SELECT .*pg_notify\('outbox', ''\)/,
    );
    const values = insert?.values ?? [];
    assert.deepEqual(values.slice(0, 5), [a.id, 'catalog.events', 'stock', 'p-1', 'shop.stock.reserved.v1']);
    assert.deepEqual(JSON.parse(String(values[5])), { productId: 'p-1', quantity: 2 });
    const headers = JSON.parse(String(values[6]));
    assert.equal(headers.ce_id, a.id);
    assert.equal(headers.ce_source, '/shoplab/catalog');
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(values[7], b.id, 'the second row follows');
  });

  test('captures the trace context of the request that wrote the rows', async () => {
    const { tx, statements } = recordingTx();
    await context.with(inRequest, () => writeOutbox(tx, stockReserved('p-1'), { topic: 'stock.audit' }));
    const values = statements[0]?.values ?? [];
    assert.equal(values[1], 'stock.audit');
    assert.equal(JSON.parse(String(values[6])).traceparent, `00-${traceId}-00f067aa0ba902b7-01`);
  });

  test('speaks Prisma raw SQL inside a Prisma interactive transaction', async () => {
    const calls: unknown[][] = [];
    const record = async (sql: string, ...values: unknown[]) => {
      calls.push([sql.replace(/\s+/g, ' ').trim(), ...values]);
    };
    const prismaTx = {
      $executeRawUnsafe: async (sql: string, ...values: unknown[]) => {
        await record(sql, ...values);
        return 1;
      },
      $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]) => {
        await record(sql, ...values);
        return [] as T;
      },
    };
    const event = stockReserved('p-7');
    await writeOutbox(prismaTx, event);
    assert.equal(calls.length, 1);
    assert.match(String(calls[0]?.[0]), /^WITH written AS \( INSERT INTO outbox .*pg_notify\('outbox', ''\)/);
    assert.equal(calls[0]?.[1], event.id);
  });

  test('writes nothing and sends no notification for no events', async () => {
    const { tx, statements } = recordingTx();
    await writeOutbox(tx, []);
    assert.deepEqual(statements, []);
  });
});

// ---------------------------------------------------------------------------------------------
// One relay cycle against a scripted database and producer.

interface Row {
  id: string;
  event_id: string;
  topic: string;
  aggregate_id: string;
  payload: unknown;
  headers: Record<string, string>;
  created_at: Date;
}

function row(id: number, aggregate: string, trace = ''): Row {
  const event = stockReserved(aggregate, id);
  return {
    id: String(id),
    event_id: event.id,
    topic: 'catalog.events',
    aggregate_id: aggregate,
    payload: event.data,
    headers: { ce_id: event.id, ce_time: event.time, ...(trace ? { traceparent: trace } : {}) },
    created_at: new Date(),
  };
}

function scriptedPool(rows: Row[], { locked = true } = {}) {
  const statements: { sql: string; values: unknown[] }[] = [];
  // An EventEmitter like pg's client: the transaction runner listens for the connection's 'error'.
  const client = Object.assign(new EventEmitter(), {
    query: async (sql: string, values: unknown[] = []) => {
      const text = sql.replace(/\s+/g, ' ').trim();
      statements.push({ sql: text, values });
      if (text.includes('pg_try_advisory_xact_lock')) return { rows: [{ locked }], rowCount: 1 };
      if (text.includes('FOR UPDATE SKIP LOCKED')) return { rows, rowCount: rows.length };
      if (text.includes('published_at = clock_timestamp()')) {
        const ids = values[0] as string[];
        return { rows: ids.map(() => ({ topic: 'catalog.events', lag_seconds: 0.25 })), rowCount: ids.length };
      }
      return { rows: [], rowCount: 0 };
    },
    release: () => undefined,
  });
  const pool = { connect: async () => client, query: async () => ({ rows: [{ n: '0' }] }), options: {} };
  return { pool: pool as unknown as pg.Pool, statements };
}

const trace1 = `00-${'1'.repeat(32)}-${'a'.repeat(16)}-01`;
const trace2 = `00-${'2'.repeat(32)}-${'b'.repeat(16)}-01`;

describe('a relay cycle', () => {
  test('publishes the claimed rows in id order, one request per run of topic and trace, and marks them', async () => {
    const rows = [row(1, 'p-1', trace1), row(2, 'p-2', trace1), row(3, 'p-1', trace2), row(4, 'p-1', trace2)];
    const { pool, statements } = scriptedPool(rows);
    const sent: TopicMessages[][] = [];
    const relay = new OutboxRelay({
      pool,
      logger: testLogger(),
      producer: { send: async (batch) => void sent.push([...batch]) },
    });

    assert.deepEqual(await relay.runOnce(), { claimed: 4, published: 4, standby: false });

    assert.deepEqual(
      sent.map((batch) => batch.flatMap((b) => b.messages.map((m) => m.key))),
      [
        ['p-1', 'p-2'],
        ['p-1', 'p-1'],
      ],
    );
    const first = sent[0]?.[0]?.messages[0];
    assert.deepEqual(JSON.parse(String(first?.value)), { productId: 'p-1', quantity: 1 });
    assert.equal(first?.headers?.traceparent, trace1, 'the trace captured at write time travels on');
    assert.deepEqual(
      statements.map((s) => s.sql.split(' ').slice(0, 2).join(' ')),
      [
        'BEGIN',
        "SELECT pg_try_advisory_xact_lock(hashtext('shoplab.outbox-relay:'",
        'SELECT id,',
        'UPDATE outbox',
        'COMMIT',
      ],
    );
    assert.deepEqual(statements[3]?.values, [['1', '2', '3', '4']]);
  });

  test('stops at the first failed run: earlier rows are marked published, the failed and later ones stay', async () => {
    const rows = [row(1, 'p-1', trace1), row(2, 'p-1', trace2), row(3, 'p-1', trace1)];
    const { pool, statements } = scriptedPool(rows);
    const attempted: string[] = [];
    const relay = new OutboxRelay({
      pool,
      logger: testLogger(),
      producer: {
        send: async (batch) => {
          const ids = batch.flatMap((b) => b.messages.map((m) => String(m.headers?.ce_id)));
          attempted.push(...ids);
          if (ids.includes(rows[1]?.event_id ?? ''))
            throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
        },
      },
    });

    await assert.rejects(
      relay.runOnce(),
      (err: unknown) => err instanceof OutboxPublishError && /published 1 of 3/.test(err.message),
    );

    assert.deepEqual(attempted, [rows[0]?.event_id, rows[1]?.event_id], 'row 3 was never sent');
    const updates = statements.filter((s) => s.sql.startsWith('UPDATE'));
    assert.deepEqual(updates[0]?.values, [['1']], 'only row 1 is marked published');
    assert.deepEqual(updates[1]?.values, [['2'], 'Connection error: connect ECONNREFUSED 127.0.0.1:9092']);
    assert.equal(statements.at(-1)?.sql, 'COMMIT', 'the published prefix and the error are kept');
  });

  test('stands by without claiming when another relay holds the lock', async () => {
    const { pool, statements } = scriptedPool([row(1, 'p-1')], { locked: false });
    const relay = new OutboxRelay({
      pool,
      logger: testLogger(),
      producer: { send: async () => assert.fail('no publish') },
    });
    assert.deepEqual(await relay.runOnce(), { claimed: 0, published: 0, standby: true });
    assert.ok(!statements.some((s) => s.sql.includes('FOR UPDATE')));
  });

  test('an injected relay fault fails the cycle before anything is claimed', async () => {
    const { pool, statements } = scriptedPool([row(1, 'p-1')]);
    const chaos = new FaultInjector();
    chaos.add({ kind: 'relay', target: 'outbox', fault: { type: 'fail' } });
    const registry = new Registry();
    const relay = new OutboxRelay({
      pool,
      logger: testLogger(),
      chaos,
      metrics: { registry },
      producer: { send: async () => assert.fail('no publish') },
    });
    await assert.rejects(relay.runOnce(), /injected failure on relay outbox/);
    assert.deepEqual(statements, []);
  });
});
