// Its own file: it installs a global tracer provider for the process.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { eventually } from '@shoplab/chassis/testing';
import { type Harness, newUserId, startHarness, VISA } from '../support/harness';

const exporter = new InMemorySpanExporter();
let h: Harness;

before(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  h = await startHarness();
  h.catalog.products.set('p-kite', { name: 'A Kite', price: 1500 });
});

after(async () => {
  await h.close();
  trace.disable();
  propagation.disable();
  context.disable();
});

/** Waits (polling the database) until the order's saga is confirmed. */
async function confirmed(orderId: string): Promise<void> {
  let state = 'not read yet';
  await eventually(
    () => `the saga of ${orderId} to be confirmed (still ${state})`,
    async () => {
      state = (await h.prisma.sagaInstance.findUniqueOrThrow({ where: { orderId } })).state;
      return state === 'CONFIRMED' ? true : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20, onError: 'fail' },
  );
}

test('every saga step is a span in the checkout’s trace, and the timeline carries its trace id', async () => {
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-kite', quantity: 1 }]);
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `tracing-${userId}` },
    payload: { card: VISA },
  });
  const { orderId } = res.json();
  // In a process, checkout runs inside the HTTP server span of the instrumentation and stores its
  // traceparent with the saga; inject() has no such span, so the test stores one itself.
  const request = trace.getTracer('test').startSpan('POST /v1/checkout');
  request.end();
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), request), carrier);
  await h.prisma.sagaInstance.update({ where: { orderId }, data: { traceContext: carrier } });
  const runner = h.newRunner();
  runner.start();
  try {
    await confirmed(orderId);
  } finally {
    await runner.stop();
  }

  const { traceId, spanId } = request.spanContext();
  const spans = exporter.getFinishedSpans().filter((s) => s.name.startsWith('saga '));
  assert.deepEqual(
    spans.map((s) => s.name),
    ['validate_user', 'reserve_stock', 'authorize_payment', 'commit_stock', 'capture_payment', 'confirm'].map(
      (step) => `saga ${step}`,
    ),
  );
  for (const span of spans) {
    assert.equal(span.spanContext().traceId, traceId);
    assert.equal(span.parentSpanContext?.spanId, spanId);
    assert.equal(span.attributes['order.id'], orderId);
    assert.equal(span.attributes['saga.attempt'], 1);
  }
  const steps = await h.prisma.sagaStep.findMany({ where: { orderId } });
  assert.ok(steps.every((s) => s.traceId === traceId));
});

test('a saga created without a trace context is still one trace: its first span is the root', async () => {
  exporter.reset();
  const userId = newUserId();
  h.cart.set(userId, [{ productId: 'p-kite', quantity: 1 }]);
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `tracing-root-${userId}` },
    payload: { card: VISA },
  });
  const { orderId } = res.json();
  h.payments.script.next('capture', 'unavailable');
  const runner = h.newRunner();
  runner.start();
  try {
    await confirmed(orderId);
  } finally {
    await runner.stop();
  }

  const [first, ...rest] = exporter.getFinishedSpans().filter((s) => s.attributes['order.id'] === orderId);
  assert.ok(first && rest.length === 6, 'six steps, capture twice');
  assert.equal(first.name, 'saga validate_user');
  assert.equal(first.parentSpanContext, undefined);
  for (const span of rest) {
    assert.equal(span.spanContext().traceId, first.spanContext().traceId);
    assert.equal(span.parentSpanContext?.spanId, first.spanContext().spanId);
  }
  const captures = rest.filter((s) => s.name === 'saga capture_payment');
  assert.deepEqual(
    captures.map((s) => [s.attributes['saga.attempt'], s.status.code]),
    [
      [1, 2],
      [2, 0],
    ],
  );
});
