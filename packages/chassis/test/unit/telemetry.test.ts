import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

// The preload starts tracing as it is required, so each case runs in a child process
// (node --require <chassis>/dist/src/telemetry.js) that reports what it found as JSON.
const chassisDir = join(__dirname, '../..');
const preload = join(chassisDir, 'src/telemetry.js');

// Runs in the child, after the preload: a span across an await, the propagators' fields,
// the span's resource, whether node:http was patched, and which OpenTelemetry packages
// were loaded.
const probe = `
const api = require('@opentelemetry/api');
const http = require('node:http');
(async () => {
  const tracer = api.trace.getTracer('probe');
  const out = await tracer.startActiveSpan('outer', async (span) => {
    await new Promise((r) => setTimeout(r, 5));
    const active = api.trace.getActiveSpan();
    const carrier = {};
    api.propagation.inject(api.context.active(), carrier);
    const recording = span.isRecording();
    span.end();
    return {
      recording,
      sameSpanAfterAwait: active === span,
      traceparent: carrier.traceparent ?? null,
      fields: api.propagation.fields(),
      resource: span.resource ? span.resource.attributes : null,
    };
  });
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    const m = file.match(/node_modules\\/(@opentelemetry\\/[^/]+)/);
    if (m) packages.add(m[1]);
  }
  out.httpPatched = typeof http.request.__wrapped === 'boolean' && http.request.__wrapped;
  out.otelPackages = [...packages].sort();
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
})();
`;

async function runProbe(env: Record<string, string>) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--require', preload, '-e', probe], {
    cwd: chassisDir,
    env: {
      ...process.env,
      SERVICE_NAME: 'probe',
      INSTANCE_ID: 'probe-1',
      // Nothing listens there: the probe's one span is never exported.
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      ...env,
    },
  });
  return JSON.parse(stdout) as {
    recording: boolean;
    sameSpanAfterAwait: boolean;
    traceparent: string | null;
    fields: string[];
    resource: Record<string, unknown> | null;
    httpPatched: boolean;
    otelPackages: string[];
  };
}

test('the preload registers a tracer provider, W3C propagation, async context and the instrumentations', async () => {
  const r = await runProbe({});
  assert.equal(r.recording, true, 'spans are recorded (sampler ratio 1)');
  assert.equal(r.sameSpanAfterAwait, true, 'the active span survives an await (AsyncLocalStorage context)');
  assert.match(r.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'W3C trace context is injected');
  assert.ok(r.fields.includes('baggage'), 'W3C baggage is propagated too');
  assert.equal(r.resource?.['service.name'], 'probe');
  assert.equal(r.resource?.['service.instance.id'], 'probe-1');
  assert.equal(r.resource?.['service.namespace'], 'shoplab');
  assert.equal(typeof r.resource?.['process.pid'], 'number', 'the process detector ran');
  assert.equal(typeof r.resource?.['host.name'], 'string', 'the host detector ran');
  assert.equal(r.httpPatched, true, 'node:http is instrumented');
});

test('the preload loads no exporter, metrics or logs SDK that only traces would not need', async () => {
  const r = await runProbe({});
  // NodeSDK (@opentelemetry/sdk-node) required all of these whatever it used: ~2 500 modules and
  // ~60 MB of resident memory per service (docs/adr/0049-service-memory-lean-telemetry-and-heap-settings.md).
  const unwanted = r.otelPackages.filter((p) =>
    /^@opentelemetry\/(sdk-node|sdk-logs|exporter-(?!trace-otlp-http$).*|otlp-grpc-exporter-base|propagator-.*|configuration)$/.test(
      p,
    ),
  );
  assert.deepEqual(unwanted, [], `loaded: ${r.otelPackages.join(', ')}`);
  assert.ok(r.otelPackages.includes('@opentelemetry/exporter-trace-otlp-http'), 'the one exporter is there');
});

test('OTEL_SDK_DISABLED=true leaves tracing off (no-op spans, nothing injected)', async () => {
  const r = await runProbe({ OTEL_SDK_DISABLED: 'true' });
  assert.equal(r.recording, false);
  assert.equal(r.traceparent, null);
});
