import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';
import pino from 'pino';
import { registerOutboxAudit } from '../../src/admin-audit';
import { FaultInjector } from '../../src/chaos';
import { createHttpApp, type HttpApp } from '../../src/http';
import { createMetrics } from '../../src/metrics';
import { publishSwitch, relaySwitch } from '../../src/outbox';
import { scratchSchema } from '../support/kafka-fixtures';

const ADMIN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
let db: Awaited<ReturnType<typeof scratchSchema>>;
let app: HttpApp;

before(async () => {
  db = await scratchSchema();
  app = await createHttpApp({
    service: 'audited',
    version: '0.0.0',
    logger: pino({ level: 'silent' }),
    metrics: createMetrics('admin-audit-test'),
    chaos: new FaultInjector(),
    adminToken: ADMIN,
    readiness: {},
  });
  registerOutboxAudit(app, { pool: db.pool, adminToken: ADMIN });
  await app.ready();
});

after(async () => {
  await app.close();
  await db.drop();
});

beforeEach(async () => {
  await db.pool.query('TRUNCATE outbox, processed_events');
});

async function outboxRow(options: { published: boolean; ageSeconds?: number; lastError?: string }): Promise<void> {
  await db.pool.query(
    `INSERT INTO outbox (event_id, topic, aggregate_type, aggregate_id, event_type, payload, created_at, published_at, last_error)
     VALUES ($1, 't', 'a', 'id', 'e', '{}', now() - make_interval(secs => $2), CASE WHEN $3 THEN now() END, $4)`,
    [randomUUID(), options.ageSeconds ?? 0, options.published, options.lastError ?? null],
  );
}

test('an empty outbox reports nothing unpublished and no error', async () => {
  const res = await app.inject({ method: 'GET', url: '/admin/outbox', headers: auth });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), {
    unpublished: 0,
    published: 0,
    oldestUnpublishedAgeSeconds: 0,
    lastError: null,
    mode: 'outbox',
    relay: 'poll',
  });
});

test('the outbox report counts published and unpublished rows, the oldest age and the latest error', async () => {
  await outboxRow({ published: true, lastError: 'old failure, since published' });
  await outboxRow({ published: false, ageSeconds: 120 });
  await outboxRow({ published: false, ageSeconds: 5, lastError: 'broker down' });
  const body = (await app.inject({ method: 'GET', url: '/admin/outbox', headers: auth })).json();
  assert.equal(body.unpublished, 2);
  assert.equal(body.published, 1);
  assert.ok(body.oldestUnpublishedAgeSeconds >= 119 && body.oldestUnpublishedAgeSeconds < 200);
  assert.equal(body.lastError, 'broker down');
});

test('the consumers report counts applied event ids per group and no duplicates', async () => {
  for (const group of ['payment.order-events', 'payment.order-events', 'catalog.order-events']) {
    await db.pool.query('INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2)', [
      group,
      randomUUID(),
    ]);
  }
  const res = await app.inject({ method: 'GET', url: '/admin/consumers', headers: auth });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), {
    groups: [
      { group: 'catalog.order-events', processed: 1 },
      { group: 'payment.order-events', processed: 2 },
    ],
    duplicateIds: 0,
  });
});

test('the audit routes need the admin token', async () => {
  const missing = await app.inject({ method: 'GET', url: '/admin/outbox' });
  assert.equal(missing.statusCode, 401);
  const wrong = await app.inject({
    method: 'GET',
    url: '/admin/consumers',
    headers: { authorization: 'Bearer not-the-admin-token-000' },
  });
  assert.equal(wrong.statusCode, 403);
});

test('replay marks the last N published rows unpublished, newest first, and leaves older rows alone', async () => {
  for (let i = 0; i < 5; i++) await outboxRow({ published: true });
  await outboxRow({ published: false });
  const { rows: before } = await db.pool.query<{ event_id: string }>(
    'SELECT event_id::text FROM outbox WHERE published_at IS NOT NULL ORDER BY id',
  );
  const res = await app.inject({ method: 'POST', url: '/admin/outbox/replay', headers: auth, payload: { last: 2 } });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.replayed, 2);
  assert.deepEqual(new Set(body.eventIds), new Set(before.slice(-2).map((r) => r.event_id)));
  const { rows } = await db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
  );
  assert.equal(rows[0]?.n, 3, 'the two replayed rows and the one never published');
});

test('replay and mode reject bad input with problem+json', async () => {
  for (const payload of [{ last: 0 }, { last: 1001 }, { last: 'all' }, {}]) {
    const res = await app.inject({ method: 'POST', url: '/admin/outbox/replay', headers: auth, payload });
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.match(String(res.headers['content-type']), /problem\+json/);
  }
  const mode = await app.inject({
    method: 'PUT',
    url: '/admin/outbox/mode',
    headers: auth,
    payload: { mode: 'kafka' },
  });
  assert.equal(mode.statusCode, 400);
});

test('switching to direct publishing needs a relay in the process; outbox is always accepted', async () => {
  publishSwitch.reset();
  const direct = await app.inject({
    method: 'PUT',
    url: '/admin/outbox/mode',
    headers: auth,
    payload: { mode: 'direct' },
  });
  assert.equal(direct.statusCode, 409);
  assert.equal(direct.json().code, 'SHOP_CONFLICT');
  const outbox = await app.inject({
    method: 'PUT',
    url: '/admin/outbox/mode',
    headers: auth,
    payload: { mode: 'outbox' },
  });
  assert.equal(outbox.statusCode, 200);
  assert.deepEqual(outbox.json(), { mode: 'outbox' });
});

test('the relay switch takes poll or wal, and needs a relay in the process', async () => {
  relaySwitch.reset();
  const bad = await app.inject({ method: 'PUT', url: '/admin/outbox/relay', headers: auth, payload: { mode: 'tail' } });
  assert.equal(bad.statusCode, 400);
  assert.match(String(bad.headers['content-type']), /problem\+json/);
  const none = await app.inject({ method: 'PUT', url: '/admin/outbox/relay', headers: auth, payload: { mode: 'wal' } });
  assert.equal(none.statusCode, 409);
  assert.equal(none.json().code, 'SHOP_CONFLICT');
  const status = await app.inject({ method: 'GET', url: '/admin/outbox/relay', headers: auth });
  assert.equal(status.statusCode, 409);
  assert.equal(
    (await app.inject({ method: 'PUT', url: '/admin/outbox/relay', payload: { mode: 'poll' } })).statusCode,
    401,
  );
});

test('the switches need the admin token', async () => {
  assert.equal(
    (await app.inject({ method: 'PUT', url: '/admin/outbox/mode', payload: { mode: 'outbox' } })).statusCode,
    401,
  );
  assert.equal(
    (await app.inject({ method: 'POST', url: '/admin/outbox/replay', payload: { last: 1 } })).statusCode,
    401,
  );
});
