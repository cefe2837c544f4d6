// One checkout is one trace (issue 6), and every service's metrics reach Prometheus.
// Runs against the running shop (make up / make check), like shopper.e2e.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createProduct, poll } from './support';

const api = `${process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'}/api/v1`;
const jaeger = process.env.JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686';
const prometheus = process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
const SERVICES = ['gateway', 'user', 'catalog', 'cart', 'payment', 'order'];

interface Span {
  spanID: string;
  operationName: string;
  processID: string;
  startTime: number;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}
interface Trace {
  spans: Span[];
  processes: Record<string, { serviceName: string }>;
}

async function json(
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: a test reads loosely typed JSON.
  return { res, body: (await res.json()) as Record<string, any> };
}

/** Registers a shopper, fills a cart and checks out with `card`; returns the order and the checkout's trace id. */
async function checkout(cardNumber: string) {
  const { body: reg } = await json('POST', '/auth/register', undefined, {
    email: `obs-${randomUUID()}@example.com`,
    password: 'a long enough password',
    name: 'Observer',
  });
  const token = reg.token as string;
  // A product of the test's own (docs/adr/0015-tests-own-their-data.md), whatever the shop has sold.
  const product = await createProduct(1);
  await json('POST', '/cart/items', token, { productId: product.id, quantity: 1 });
  const { res, body } = await json(
    'POST',
    '/checkout',
    token,
    { card: { number: cardNumber, expMonth: 12, expYear: 2035, cvc: '123' } },
    { 'idempotency-key': randomUUID() },
  );
  assert.equal(res.status, 202);
  const traceId = res.headers.get('x-trace-id');
  assert.match(traceId ?? '', /^[0-9a-f]{32}$/);
  const order = await poll(
    'a terminal order',
    async () => {
      const { body: o } = await json('GET', `/orders/${body.orderId}`, token);
      return o.status === 'PENDING' ? undefined : o;
    },
    { intervalMs: 500 },
  );
  return { order, traceId: traceId as string };
}

/** The trace once Jaeger holds spans from every service in `expected` and `ready` says it is complete. */
async function traceOf(traceId: string, ready: (t: Trace, services: Set<string>) => boolean): Promise<Trace> {
  return poll(
    `trace ${traceId} in Jaeger`,
    async () => {
      const res = await fetch(`${jaeger}/api/traces/${traceId}`);
      if (!res.ok) return undefined;
      const trace = ((await res.json()) as { data: Trace[] }).data[0];
      if (!trace) return undefined;
      const services = new Set(trace.spans.map((s) => trace.processes[s.processID]?.serviceName ?? ''));
      return ready(trace, services) ? trace : undefined;
    },
    { intervalMs: 500 },
  );
}

const serviceOf = (t: Trace, s: Span) => t.processes[s.processID]?.serviceName;

test('a checkout is one trace: gateway → order → saga steps → user, catalog, payment → Kafka → consumers', async () => {
  const { order, traceId } = await checkout('4242 4242 4242 4242');
  assert.equal(order.status, 'CONFIRMED');
  const methods = [
    'grpc.user.v1.UserService/GetUser',
    'grpc.catalog.v1.CatalogService/ReserveStock',
    'grpc.payment.v1.PaymentService/Authorize',
    'grpc.catalog.v1.CatalogService/CommitStock',
    'grpc.payment.v1.PaymentService/Capture',
  ];
  // Spans arrive in batches from six processes: wait until every one this test names is in.
  const trace = await traceOf(traceId, (t, services) => {
    const has = (service: string, name: string) =>
      t.spans.some((s) => serviceOf(t, s) === service && s.operationName === name);
    return (
      ['gateway', 'order', 'user', 'catalog', 'payment', 'cart'].every((s) => services.has(s)) &&
      has('cart', 'process order.events') &&
      has('order', 'saga confirm') &&
      has('order', 'POST /v1/checkout') &&
      t.spans.some((s) => serviceOf(t, s) === 'order' && s.operationName.startsWith('send order.events')) &&
      methods.every((m) => has(m.split('.')[1] ?? '', m))
    );
  });
  const names = (service: string) =>
    trace.spans.filter((s) => serviceOf(trace, s) === service).map((s) => s.operationName);

  assert.ok(names('gateway').includes('POST /api/v1/checkout'));
  assert.ok(names('order').includes('POST /v1/checkout'), 'the gateway → order REST hop is in the trace');
  for (const method of methods) {
    const service = method.split('.')[1] ?? '';
    assert.ok(names(service).includes(method), `${service} served ${method} inside the checkout's trace`);
  }
  const sagaSteps = trace.spans
    .filter((s) => s.operationName.startsWith('saga '))
    .sort((a, b) => a.startTime - b.startTime)
    .map((s) => s.operationName)
    // A retried step has one span per attempt: the order of steps is what matters here.
    .filter((name, i, all) => name !== all[i - 1]);
  assert.deepEqual(sagaSteps, [
    'saga validate_user',
    'saga reserve_stock',
    'saga authorize_payment',
    'saga commit_stock',
    'saga capture_payment',
    'saga confirm',
  ]);
  const consumer = trace.spans.find(
    (s) => s.operationName === 'process order.events' && serviceOf(trace, s) === 'cart',
  );
  assert.ok(consumer?.references.length, 'the consumer span is connected to the producing trace');
  assert.ok(
    names('order').some((n) => n.startsWith('send order.events')),
    'the outbox relay published inside the trace',
  );
});

test('a compensated checkout shows the refused step and each compensation', async () => {
  const { order, traceId } = await checkout('4000 0000 0000 0002');
  assert.equal(order.status, 'CANCELLED');
  const trace = await traceOf(traceId, (t) =>
    [
      'saga validate_user',
      'saga reserve_stock',
      'saga authorize_payment',
      'saga compensate:release_stock',
      'saga cancel',
    ].every((name) => t.spans.some((s) => s.operationName === name)),
  );
  const sagaSpans = trace.spans
    .filter((s) => s.operationName.startsWith('saga '))
    .sort((a, b) => a.startTime - b.startTime);
  const names = sagaSpans.map((s) => s.operationName);
  assert.deepEqual(names.slice(0, 3), ['saga validate_user', 'saga reserve_stock', 'saga authorize_payment']);
  const authorize = sagaSpans.find((s) => s.operationName === 'saga authorize_payment');
  assert.ok(
    authorize?.tags.some((t) => t.key === 'error' || (t.key === 'otel.status_code' && t.value === 'ERROR')),
    'the refused step is marked as an error',
  );
  assert.ok(names.includes('saga compensate:release_stock'), `compensation span in ${names.join(', ')}`);
  assert.equal(names.at(-1), 'saga cancel');
  assert.ok(!names.includes('saga capture_payment'), 'no capture after a refusal');
});

test("every service's RED metrics reach Prometheus and move with traffic", async () => {
  const query = async (expr: string) => {
    const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return body.data.result;
  };
  const up = await poll(
    'every service scraped and up',
    async () => {
      const result = await query('up{job="shoplab"} == 1');
      const services = new Set(result.map((r) => r.metric.service));
      return SERVICES.every((s) => services.has(s)) ? services : undefined;
    },
    { intervalMs: 500 },
  );
  // Other processes of the stack (the web UI) may be scraped too; these six must be among them.
  assert.deepEqual(
    SERVICES.filter((s) => !up.has(s)),
    [],
  );
  const red = await poll(
    'RED metrics from every service',
    async () => {
      const result = await query('sum by (service) (shop_http_request_duration_seconds_count{job="shoplab"})');
      const services = new Set(result.map((r) => r.metric.service));
      return SERVICES.every((s) => services.has(s)) ? services : undefined;
    },
    { intervalMs: 500 },
  );
  assert.deepEqual(
    SERVICES.filter((s) => !red.has(s)),
    [],
  );

  const gatewayRequests = async () =>
    Number((await query('sum(shop_http_request_duration_seconds_count{service="gateway"})'))[0]?.value[1] ?? 0);
  const before = await gatewayRequests();
  for (let i = 0; i < 20; i++) await fetch(`${api}/products?limit=5`);
  await poll(
    'the gateway request counter to move',
    async () => ((await gatewayRequests()) >= before + 20 ? true : undefined),
    { intervalMs: 500 },
  );

  for (const [expr, what] of [
    ['shop_grpc_server_handling_seconds_count{service="catalog",method="ListProducts"}', 'catalog gRPC server RED'],
    ['shop_grpc_client_handling_seconds_count{service="gateway",target="catalog"}', 'gateway → catalog client RED'],
    ['shop_outbox_backlog{service="order"}', 'order outbox backlog'],
    ['shop_saga_outcomes_total{service="order"}', 'saga outcomes'],
    ['shop_revenue_minor_units_total{service="order",currency="USD"}', 'revenue'],
    ['shop_orders_total{service="order",status="CONFIRMED"}', 'orders by status'],
    ['shop_circuit_breaker_state{service="gateway"}', 'gateway breakers'],
    ['process_resident_memory_bytes{job="shoplab"}', 'default process metrics'],
  ] as const) {
    const result = await poll(
      what,
      async () => {
        const r = await query(expr);
        return r.length > 0 ? r : undefined;
      },
      { intervalMs: 500 },
    );
    assert.ok(result.length > 0, what);
  }
});
