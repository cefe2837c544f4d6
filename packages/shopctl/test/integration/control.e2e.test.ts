// `shopctl kill|stop|start` against the LIVE local stack (infra/local/*.sh of this checkout):
// a killed service's process is gone at once and `start` brings it back ready; the same for an
// infrastructure component. Run under the live-stack lock:
//   flock /tmp/shoplab-live.lock bash scripts/test.sh control.e2e
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { shoplabStateDir } from '../../src/api';
import { localStackRunning } from '../../src/control';

const cli = resolve(__dirname, '../../src/cli.js');
const run = join(shoplabStateDir(), 'run');

function shopctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { timeout: 240_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 2) : 0, stdout, stderr });
    });
  });
}

function pidOf(name: string): number | undefined {
  const file = join(run, `${name}.pid`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

/** Alive and not a zombie (a killed daemon stays one until its reaper gets to it). */
function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

for (const { target, readyUrl, how } of [
  { target: 'user', readyUrl: 'http://127.0.0.1:8081/readyz', how: 'kill' },
  { target: 'user', readyUrl: 'http://127.0.0.1:8081/readyz', how: 'stop' },
  { target: 'jaeger', readyUrl: 'http://127.0.0.1:16686/api/services', how: 'kill' },
] as const) {
  test(`after \`shopctl ${how} ${target}\` its process is gone; \`shopctl start ${target}\` brings it back ready`, async (t) => {
    const before = pidOf(target);
    if (!localStackRunning() || before === undefined || !(await ready(readyUrl))) {
      t.skip(`${target} is not running from the local stack (make up)`);
      return;
    }
    try {
      const down = await shopctl([how, target]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(
        down.stdout,
        new RegExp(`^shopctl: ${how === 'kill' ? 'killed' : 'stopped'} ${target} \\(local\\)$`, 'm'),
      );
      if (how === 'kill') assert.match(down.stdout, /SIGKILL/);
      assert.equal(alive(before), false, `pid ${before} is still alive`);
      assert.equal(pidOf(target), undefined, 'the pid file is removed');
      assert.equal(await ready(readyUrl), false);
    } finally {
      const up = await shopctl(['start', target]);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, new RegExp(`^shopctl: started ${target} \\(local, ready\\)$`, 'm'));
    }
    assert.equal(await ready(readyUrl), true);
    const after = pidOf(target);
    assert.ok(after !== undefined && after !== before && alive(after));
  });
}
