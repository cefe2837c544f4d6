// The example service (widget-service.ts) run as a real process on the real stack, with a
// Consul API double for discovery: every chassis module working together.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createTokenSigner } from '../../src/auth';
import { generateKeyPairSetting } from '../../src/keys';
import { ConsulDouble } from '../../src/testing/consul-double';
import { createScratchDatabase, type ScratchDatabase } from '../../src/testing/database';
import { eventually } from '../../src/testing/eventually';
import { jaegerUrl } from '../support/stack';

const ADMIN = 'example-admin-token-0123456789';
const userKeys = generateKeyPairSetting();
const dist = join(__dirname, '../..');
const serviceName = `widgets-${randomUUID().slice(0, 6)}`;

let consul: ConsulDouble;
let database: ScratchDatabase;
let child: ChildProcess | undefined;
let exited: Promise<[number | null, NodeJS.Signals | null]>;
let httpPort: number;
let output = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const token = createTokenSigner(userKeys.privateKey)({ id: 'u-1', email: 'ada@example.com', name: 'Ada' });
const url = (path: string) => `http://127.0.0.1:${httpPort}${path}`;

before(async () => {
  consul = new ConsulDouble();
  await consul.start();
  database = await createScratchDatabase({ prefix: 'example_widgets' });
  httpPort = await freePort();
  child = spawn(process.execPath, ['--require', join(dist, 'src/telemetry.js'), join(__dirname, 'widget-service.js')], {
    env: {
      ...process.env,
      SERVICE_NAME: serviceName,
      HTTP_PORT: String(httpPort),
      GRPC_PORT: String(await freePort()),
      ADMIN_TOKEN: ADMIN,
      JWT_PUBLIC_KEY: userKeys.publicKey,
      DB_NAME: database.settings.database,
      REGISTRY_MODE: 'consul',
      CONSUL_URL: consul.url,
      WIDGET_TOPIC: `${serviceName}.events`,
      SHUTDOWN_TIMEOUT_MS: '8000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await eventually(
    'the service to start',
    async () => {
      if (child?.exitCode !== null) throw new Error(`the service exited: ${output}`);
      return output.includes('"ready":true') ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
});

after(async () => {
  child?.kill('SIGKILL');
  await consul.close();
  await database.drop();
});

test('the service registers itself and is listed as passing once /readyz answers', async () => {
  const listed = await eventually(
    'a passing instance in Consul',
    async () => {
      const res = await fetch(`${consul.url}/v1/health/service/${serviceName}?passing=true`);
      const body = (await res.json()) as { Service: { Port: number; Meta: Record<string, string> } }[];
      return body.length === 1 ? body[0] : undefined;
    },
    { intervalMs: 200 },
  );
  assert.equal(listed.Service.Port, httpPort);
  assert.ok(listed.Service.Meta.grpc_port, 'the gRPC port is published in meta');
});

test('a widget written with its event in one transaction is published and consumed exactly once', async () => {
  const unauthenticated = await fetch(url('/widgets'), { method: 'POST' });
  assert.equal(unauthenticated.status, 401);

  const res = await fetch(url('/widgets'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ id: 'w-1', name: 'Sprocket', stock: 3 }),
  });
  assert.equal(res.status, 201, output);
  const db = new pg.Client(database.settings);
  await db.connect();
  try {
    await eventually(
      'the consumer to record the widget.created event',
      async () => {
        const { rows } = await db.query<{ widget_id: string }>('SELECT widget_id FROM widget_notifications');
        return rows.length === 1 ? rows : undefined;
      },
      { intervalMs: 200 },
    );
    const outbox = await db.query<{ published: boolean }>('SELECT published_at IS NOT NULL AS published FROM outbox');
    assert.deepEqual(
      outbox.rows.map((r) => r.published),
      [true],
    );
    const processed = await db.query<{ n: string }>('SELECT count(*) AS n FROM processed_events');
    assert.equal(processed.rows[0]?.n, '1');
  } finally {
    await db.end();
  }
});

test('a read goes through the gRPC client, discovery and the breaker, and is traced', async () => {
  const res = await fetch(url('/widgets/w-1'));
  assert.equal(res.status, 200, output);
  assert.deepEqual(await res.json(), { id: 'w-1', name: 'Sprocket', stock: 3 });
  const missing = await fetch(url('/widgets/nope'));
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { code: string }).code, 'SHOP_NOT_FOUND');

  const traceId = res.headers.get('x-trace-id');
  const spans = await eventually(
    'the read trace in Jaeger',
    async () => {
      const r = await fetch(`${jaegerUrl}/api/traces/${traceId}`);
      if (!r.ok) return undefined;
      const body = (await r.json()) as { data: { spans: { operationName: string }[] }[] };
      const names = body.data[0]?.spans.map((s) => s.operationName) ?? [];
      return names.filter((n) => n.includes('catalog.v1.CatalogService/GetProduct')).length >= 2 ? names : undefined;
    },
    { intervalMs: 200 },
  );
  assert.ok(
    spans.some((n) => n.startsWith('GET')),
    'the HTTP span is in the same trace',
  );

  const breakers = await fetch(url('/admin/breakers'), { headers: { authorization: `Bearer ${ADMIN}` } });
  const list = ((await breakers.json()) as { items: { target: string; state: string }[] }).items;
  assert.deepEqual(
    list.map((b) => [b.target, b.state]),
    [[serviceName, 'closed']],
  );
  const metrics = await (await fetch(url('/metrics'))).text();
  assert.match(metrics, /shop_grpc_client_handling_seconds_count\{[^}]*method="GetProduct"[^}]*code="OK"[^}]*\} [1-9]/);
  assert.match(metrics, /shop_outbox_published_total\{[^}]*\} 1/);
});

test('SIGTERM deregisters first, lets the in-flight request finish, then closes the port', async () => {
  const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const fault = await fetch(url('/admin/chaos'), {
    method: 'PUT',
    headers: auth,
    body: JSON.stringify({
      kind: 'http',
      target: 'GET /widgets/:id',
      fault: { type: 'latency', ms: 1500 },
      durationSeconds: 60,
    }),
  });
  assert.equal(fault.status, 201);

  const inFlight = fetch(url('/widgets'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ id: 'w-2', name: 'Flange', stock: 1 }),
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  child?.kill('SIGTERM');

  await eventually('the instance to leave Consul', async () => (consul.list().length === 0 ? true : undefined), {
    timeoutMs: 1_000,
    intervalMs: 20,
  });
  let finished = false;
  void inFlight.then(() => {
    finished = true;
  });
  assert.equal(finished, false, 'deregistered while the request was still running');

  const res = await inFlight;
  assert.equal(res.status, 201, 'the request accepted before SIGTERM completed');
  assert.equal(((await res.json()) as { name: string }).name, 'Flange');

  const [code] = await exited;
  assert.equal(code, 0, output);
  await assert.rejects(fetch(url('/healthz')), 'the port is closed after shutdown');
  const db = new pg.Client(database.settings);
  await db.connect();
  try {
    const { rows } = await db.query<{ id: string }>(
      "SELECT event_id FROM outbox o JOIN widgets w ON w.id = o.aggregate_id WHERE w.id = 'w-2'",
    );
    assert.equal(rows.length, 1, 'the accepted widget and its event were committed');
  } finally {
    await db.end();
  }
});
