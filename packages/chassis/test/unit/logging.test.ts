import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../../src/logging';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', destination }) };
}

test('passwords, tokens, card data and Authorization headers are redacted', () => {
  const { lines, logger } = capture();
  logger.info(
    {
      body: { email: 'a@b.c', password: 'hunter2', card: { number: '4242424242424242', cvc: '123' } },
      req: { headers: { authorization: 'Bearer abc.def.ghi', host: 'x' } },
      token: 'jwt',
    },
    'login',
  );
  const text = JSON.stringify(lines[0]);
  for (const secret of ['hunter2', '4242424242424242', 'abc.def.ghi', '"jwt"']) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.ok(text.includes('a@b.c'), 'non-secret fields stay');
  assert.equal(lines[0]?.service, 'test');
  assert.equal(lines[0]?.level, 'info');
});

test('a line logged inside a span carries its trace_id and span_id', () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracer = new BasicTracerProvider().getTracer('t');
  const { lines, logger } = capture();
  const span = tracer.startSpan('work');
  context.with(trace.setSpan(context.active(), span), () => logger.info('inside'));
  logger.info('outside');
  span.end();
  assert.equal(lines[0]?.trace_id, span.spanContext().traceId);
  assert.equal(lines[0]?.span_id, span.spanContext().spanId);
  assert.equal(lines[1]?.trace_id, undefined);
  context.disable();
});
