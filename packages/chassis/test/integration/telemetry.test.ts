import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { eventually } from '../../src/testing/eventually';
import { jaegerUrl, otlpEndpoint } from '../support/stack';

const dist = join(__dirname, '../..');
let child: ChildProcess | undefined;

after(() => {
  child?.kill('SIGKILL');
});

interface JaegerSpan {
  operationName: string;
  references: { spanID: string }[];
  spanID: string;
}

test('the telemetry preload traces HTTP and fastify spans into Jaeger and returns the trace id', async () => {
  const serviceName = `traced-${randomUUID().slice(0, 8)}`;
  child = spawn(
    process.execPath,
    ['--require', join(dist, 'src/telemetry.js'), join(dist, 'test/fixtures/traced-app.js')],
    {
      env: { ...process.env, SERVICE_NAME: serviceName, OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const { address } = JSON.parse(line) as { address: string };

  const res = await fetch(`${address}/hello/ada`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { hello: 'ada' });
  const traceId = res.headers.get('x-trace-id');
  assert.match(traceId ?? '', /^[0-9a-f]{32}$/, 'the response carries the trace id');

  child.kill('SIGTERM');
  await once(child, 'exit');

  const spans = await eventually(
    'the request trace in Jaeger',
    async () => {
      const r = await fetch(`${jaegerUrl}/api/traces/${traceId}`);
      if (!r.ok) return undefined;
      const body = (await r.json()) as {
        data: { spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }[];
      };
      const trace = body.data[0];
      return trace && trace.spans.length >= 2 ? trace : undefined;
    },
    { intervalMs: 200 },
  );
  assert.ok(Object.values(spans.processes).some((p) => p.serviceName === serviceName));
  const names = spans.spans.map((s) => s.operationName);
  assert.ok(
    names.some((n) => n === 'GET' || n.startsWith('GET ')),
    `an HTTP server span in ${names.join(', ')}`,
  );
  assert.ok(
    names.some((n) => /hello\/:name|handler/.test(n)),
    `a fastify route span in ${names.join(', ')}`,
  );
});
