import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import { Counter, Registry } from 'prom-client';
import { stack } from './stack';

interface PromVector {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(expr: string): Promise<PromVector> {
  const res = await fetch(`${stack.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  assert.equal(res.status, 200);
  return (await res.json()) as PromVector;
}

test('Prometheus discovers a new target through file_sd, scrapes it, and up == 1 for it', async () => {
  const registry = new Registry();
  const hits = new Counter({ name: 'shop_smoke_hits_total', help: 'smoke test counter', registers: [registry] });
  hits.inc(7);
  const server = createServer(async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const instance = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const targetsDir = join(stack.stateDir, 'prometheus', 'targets');
  const targetFile = join(targetsDir, `smoke-${process.pid}.json`);
  try {
    await mkdir(targetsDir, { recursive: true });
    await writeFile(targetFile, JSON.stringify([{ targets: [instance], labels: { service: 'smoke' } }]));

    const up = await eventually(
      `up{instance="${instance}"} == 1`,
      async () => {
        const body = await query(`up{instance="${instance}"}`);
        return body.data.result[0]?.value[1] === '1' ? body : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    assert.equal(up.data.result[0]?.metric.service, 'smoke');
    const scraped = await query(`shop_smoke_hits_total{instance="${instance}"}`);
    assert.equal(scraped.data.result[0]?.value[1], '7');
  } finally {
    await rm(targetFile, { force: true });
    await new Promise((resolve) => server.close(resolve));
  }
});
