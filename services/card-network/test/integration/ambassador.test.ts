// The card network's ambassador against real HAProxy (Debian's, infra/local/haproxy.sh installs
// it) with the committed config infra/haproxy/card-network-ambassador.cfg, in front of a real
// card network on a free port: retries absorb a flaky network, a held call is bounded by the try
// timeout, the circuit opens on a failing network and closes after its health checks.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CardNetworkApp } from '../../src/app';
import { TEST_ADMIN_TOKEN, testNetwork } from '../support';

const ROOT = resolve(__dirname, '../../../../..');
const CONFIG = join(ROOT, 'infra/haproxy/card-network-ambassador.cfg');
const HAPROXY = '/usr/sbin/haproxy';
const ADMIN = TEST_ADMIN_TOKEN;
const TRY_TIMEOUT_MS = 300;

let network: CardNetworkApp;
let haproxy: ChildProcess;
let ambassador: string;
let stats: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

const body = JSON.stringify({ pan: '4242424242424242', expMonth: 12, expYear: 2030, amount: 700, currency: 'USD' });
let n = 0;
const authorize = (key = `amb-${process.pid}-${++n}`) =>
  fetch(`${ambassador}/v1/authorizations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body,
  });

async function fault(spec: object | undefined): Promise<void> {
  const auth = { authorization: `Bearer ${ADMIN}` };
  await network.http.inject({ method: 'DELETE', url: '/admin/chaos', headers: auth });
  if (spec) {
    const res = await network.http.inject({
      method: 'PUT',
      url: '/admin/chaos',
      headers: auth,
      payload: { kind: 'http', target: 'POST /v1/authorizations', fault: spec, durationSeconds: 60 },
    });
    assert.equal(res.statusCode, 201);
  }
}

/** The card network server's row of the ambassador's stats (CSV): status, retries, checks down. */
async function serverStats(): Promise<Record<string, string>> {
  const csv = await (await fetch(`${stats}/stats;csv`)).text();
  const [head, ...rows] = csv.trim().split('\n');
  const names = head.replace(/^# /, '').split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'card_network' && r[1] === 'card-network');
  assert.ok(row, 'the card network server is in the stats');
  return Object.fromEntries(names.map((name, i) => [name, row[i]]));
}

before(async () => {
  network = await testNetwork();
  await network.http.listen({ host: '127.0.0.1', port: 0 });
  const networkPort = (network.http.server.address() as { port: number }).port;
  const [port, statsPort] = [await freePort(), await freePort()];
  ambassador = `http://127.0.0.1:${port}`;
  stats = `http://127.0.0.1:${statsPort}`;
  if (!existsSync(HAPROXY)) {
    // A fresh machine: the stack's own installer (apt-get haproxy), as `make up` would run it.
    execFileSync(
      'bash',
      ['-c', `source ${ROOT}/infra/local/lib.sh && source ${ROOT}/infra/local/haproxy.sh && haproxy_install`],
      {
        stdio: 'inherit',
      },
    );
  }
  haproxy = spawn(HAPROXY, ['-db', '-f', CONFIG], {
    env: {
      AMBASSADOR_BIND: `127.0.0.1:${port}`,
      AMBASSADOR_STATS_BIND: `127.0.0.1:${statsPort}`,
      CARD_NETWORK_ADDR: `127.0.0.1:${networkPort}`,
      CARD_NETWORK_TRY_TIMEOUT: `${TRY_TIMEOUT_MS}ms`,
    },
    stdio: 'ignore',
  });
  await until('the ambassador', async () => ((await fetch(`${stats}/healthz`)).ok ? true : undefined));
  await until('the card network checked up', async () => ((await serverStats()).status === 'UP' ? true : undefined));
});

after(async () => {
  await fault(undefined);
  haproxy?.kill('SIGTERM');
  await network?.http.close();
});

describe('the card network ambassador (real HAProxy)', () => {
  it('passes an authorization through, and the network its answer', async () => {
    const res = await authorize();
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { approved: boolean }).approved, true);
  });

  it('absorbs a flaky network: 30 % errors, every authorization answered, the retries counted', async () => {
    const before = Number((await serverStats()).wretr);
    const decided = network.network.stats.authorizations;
    await fault({ type: 'error', rate: 0.3 });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await authorize()).status);
    await fault(undefined);
    // Four tries each: a call fails only when all four meet an error (0.3^4 < 1 %).
    assert.ok(statuses.filter((s) => s === 200).length >= 28, `answers: ${statuses.join(' ')}`);
    assert.ok(Number((await serverStats()).wretr) > before, 'the ambassador retried');
    assert.equal(network.network.stats.authorizations - decided, statuses.filter((s) => s === 200).length);
  });

  it('bounds a held call by its try timeout and tries again, then answers 504', async () => {
    await fault({ type: 'hang' });
    const started = Date.now();
    const res = await authorize();
    const took = Date.now() - started;
    await fault(undefined);
    assert.equal(res.status, 504);
    // Four tries of TRY_TIMEOUT_MS each, not the minute the fault would hold a call.
    assert.ok(took >= 3 * TRY_TIMEOUT_MS && took < 20 * TRY_TIMEOUT_MS, `took ${took} ms`);
    await until('the card network back up', async () => ((await serverStats()).status === 'UP' ? true : undefined));
  });

  it('opens its circuit on a failing network (fails fast, the network not asked) and closes it after health checks', async () => {
    await fault({ type: 'fail' });
    await until('the circuit open', async () => {
      await authorize();
      return (await serverStats()).status.startsWith('DOWN') ? true : undefined;
    });
    // A call made while the circuit is open (open before and after it: a health check may close
    // it for a trial in between, then the call is not the one this looks at) fails without
    // reaching the network.
    const whileOpen = await until('a call while the circuit stays open', async () => {
      const before = await serverStats();
      if (!before.status.startsWith('DOWN')) return undefined;
      const status = (await authorize()).status;
      const after = await serverStats();
      return after.status.startsWith('DOWN') ? { status, sent: Number(after.lbtot) - Number(before.lbtot) } : undefined;
    });
    assert.deepEqual(whileOpen, { status: 503, sent: 0 });
    await fault(undefined);
    await until('the circuit closed', async () => ((await serverStats()).status === 'UP' ? true : undefined));
    assert.equal((await authorize()).status, 200);
  });
});
