import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findOrderTrace, type JaegerTrace, renderTraceTree } from '../../src/trace';

const trace: JaegerTrace = {
  traceID: 't1',
  processes: { p1: { serviceName: 'gateway' }, p2: { serviceName: 'order' }, p3: { serviceName: 'payment' } },
  spans: [
    {
      traceID: 't1',
      spanID: 'a',
      operationName: 'POST /api/v1/checkout',
      processID: 'p1',
      startTime: 1_000_000,
      duration: 40_000,
    },
    {
      traceID: 't1',
      spanID: 'b',
      operationName: 'POST /v1/checkout',
      processID: 'p2',
      startTime: 1_005_000,
      duration: 30_000,
      references: [{ refType: 'CHILD_OF', spanID: 'a' }],
    },
    {
      traceID: 't1',
      spanID: 'h',
      operationName: 'onRequest - fastify',
      processID: 'p2',
      startTime: 1_006_000,
      duration: 1_000,
      references: [{ refType: 'CHILD_OF', spanID: 'b' }],
    },
    {
      traceID: 't1',
      spanID: 'q',
      operationName: 'pg.query:INSERT shoplab_order',
      processID: 'p2',
      startTime: 1_007_000,
      duration: 1_000,
      references: [{ refType: 'CHILD_OF', spanID: 'h' }],
    },
    {
      traceID: 't1',
      spanID: 'c',
      operationName: 'saga authorize_payment',
      processID: 'p2',
      startTime: 1_050_000,
      duration: 20_000,
      references: [{ refType: 'CHILD_OF', spanID: 'b' }],
      tags: [{ key: 'otel.status_code', value: 'ERROR' }],
    },
    {
      traceID: 't1',
      spanID: 'd',
      operationName: 'grpc.payment.v1.PaymentService/Authorize',
      processID: 'p3',
      startTime: 1_055_000,
      duration: 10_000,
      references: [{ refType: 'CHILD_OF', spanID: 'c' }],
    },
  ],
};

test('the tree nests children under parents in start order, with service, offset, duration and errors', () => {
  const lines = renderTraceTree(trace).split('\n');
  assert.equal(lines.length, 6);
  assert.match(lines[0] ?? '', /^\s+0\.0 ms {2}gateway: POST \/api\/v1\/checkout \(40\.0 ms\)$/);
  assert.match(lines[1] ?? '', /^\s+5\.0 ms {4}order: POST \/v1\/checkout/);
  assert.match(lines[4] ?? '', / {4}order: saga authorize_payment \(20\.0 ms\) {2}✗ ERROR$/);
  assert.match(lines[5] ?? '', / {6}payment: grpc\.payment\.v1\.PaymentService\/Authorize/);
});

test('compact mode hides database and hook spans and keeps their children attached', () => {
  const lines = renderTraceTree(trace, { compact: true }).split('\n');
  assert.deepEqual(
    lines.map((l) => l.trim().replace(/^[\d.]+ ms\s+/, '')),
    [
      'gateway: POST /api/v1/checkout (40.0 ms)',
      'order: POST /v1/checkout (30.0 ms)',
      'order: saga authorize_payment (20.0 ms)  ✗ ERROR',
      'payment: grpc.payment.v1.PaymentService/Authorize (10.0 ms)',
    ],
  );
});

test('an order is found by the order.id tag of its saga spans', async () => {
  const asked: string[] = [];
  const fake = (async (url: string) => {
    asked.push(url);
    const body = url.includes('/api/traces?') ? { data: [{ traceID: 't1' }] } : { data: [trace] };
    return new Response(JSON.stringify(body), { status: 200 });
  }) as typeof fetch;
  const found = await findOrderTrace('http://jaeger', 'o-1', fake);
  assert.equal(found.traceID, 't1');
  assert.match(asked[0] ?? '', /tags=%7B%22order\.id%22%3A%22o-1%22%7D/);
  assert.equal(asked[1], 'http://jaeger/api/traces/t1');
  const none = (async () => new Response(JSON.stringify({ data: [] }), { status: 200 })) as typeof fetch;
  await assert.rejects(
    findOrderTrace('http://jaeger', 'o-2', none),
    /no trace in Jaeger has a span with order\.id=o-2/,
  );
});
