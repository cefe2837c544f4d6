import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Lifecycle } from '../../src/lifecycle';

const silent = pino({ level: 'silent' });

test('shutdown runs the phases in the fixed order whatever the registration order', async () => {
  const order: string[] = [];
  const lifecycle = new Lifecycle(silent, 1_000);
  lifecycle
    .onShutdown('flush-telemetry', 'otel', () => order.push('flush-telemetry'))
    .onShutdown('close-pools', 'db', () => order.push('close-pools'))
    .onShutdown('drain', 'http', () => order.push('drain'))
    .onShutdown('stop-intake', 'consumers', () => order.push('stop-intake'))
    .onShutdown('deregister', 'consul', () => order.push('deregister'));
  const report = await lifecycle.shutdown('SIGTERM');
  assert.deepEqual(order, ['deregister', 'stop-intake', 'drain', 'close-pools', 'flush-telemetry']);
  assert.equal(report.timedOut, false);
  assert.ok(lifecycle.isShuttingDown);
});

test('a failing step is reported and the later steps still run', async () => {
  const ran: string[] = [];
  const lifecycle = new Lifecycle(silent, 1_000);
  lifecycle
    .onShutdown('deregister', 'consul', () => {
      throw new Error('consul unreachable');
    })
    .onShutdown('close-pools', 'db', () => ran.push('db'));
  const report = await lifecycle.shutdown('SIGTERM');
  assert.deepEqual(ran, ['db']);
  assert.equal(report.steps[0]?.ok, false);
  assert.match(report.steps[0]?.error ?? '', /consul unreachable/);
});

test('the whole shutdown is bounded in time; steps past the deadline are skipped', async () => {
  const lifecycle = new Lifecycle(silent, 100);
  let poolsClosed = false;
  lifecycle
    .onShutdown('drain', 'stuck request', () => new Promise(() => undefined))
    .onShutdown('close-pools', 'db', () => {
      poolsClosed = true;
    });
  const started = Date.now();
  const report = await lifecycle.shutdown('SIGTERM');
  assert.ok(Date.now() - started < 1_000);
  assert.equal(report.timedOut, true);
  assert.equal(poolsClosed, false);
  assert.equal(report.steps[1]?.error, 'skipped: shutdown deadline passed');
});

test('shutdown runs once even when asked twice', async () => {
  let runs = 0;
  const lifecycle = new Lifecycle(silent, 1_000);
  lifecycle.onShutdown('drain', 'http', () => {
    runs++;
  });
  await Promise.all([lifecycle.shutdown('SIGTERM'), lifecycle.shutdown('SIGINT')]);
  assert.equal(runs, 1);
});
