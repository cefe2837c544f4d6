import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { eventually } from '@shoplab/chassis/testing';
import { stack } from './stack';

interface JaegerTrace {
  traceID: string;
  spans: { spanID: string; operationName: string; references: { spanID: string }[] }[];
}

test('a span exported over OTLP/HTTP is found again through the Jaeger query API', async () => {
  const serviceName = `smoke-${randomUUID().slice(0, 8)}`;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${stack.otlpEndpoint}/v1/traces` }))],
  });
  const tracer = provider.getTracer('shoplab-smoke');
  const parent = tracer.startSpan('smoke.parent');
  const traceId = parent.spanContext().traceId;
  const { trace, context } = await import('@opentelemetry/api');
  const child = tracer.startSpan('smoke.child', {}, trace.setSpan(context.active(), parent));
  child.end();
  parent.end();
  await provider.forceFlush();
  await provider.shutdown();

  const found = await eventually(
    'the trace in Jaeger',
    async () => {
      const res = await fetch(`${stack.jaegerUrl}/api/traces/${traceId}`);
      if (!res.ok) return undefined;
      const body = (await res.json()) as { data: JaegerTrace[] };
      return body.data[0]?.spans.length === 2 ? body.data[0] : undefined;
    },
    { intervalMs: 250 },
  );
  const byName = new Map(found.spans.map((s) => [s.operationName, s]));
  assert.ok(byName.has('smoke.parent') && byName.has('smoke.child'));
  assert.equal(byName.get('smoke.child')?.references[0]?.spanID, byName.get('smoke.parent')?.spanID);

  const services = (await (await fetch(`${stack.jaegerUrl}/api/services`)).json()) as { data: string[] };
  assert.ok(services.data.includes(serviceName), `Jaeger lists ${serviceName}`);
});
