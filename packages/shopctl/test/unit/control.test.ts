import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { controlCommand, detectMode, localStackRunning, parseTargets, planControl } from '../../src/control';

test('targets are services or infrastructure components, at least one, each once', () => {
  assert.deepEqual(parseTargets(['order', 'kafka', 'order']), ['order', 'kafka']);
  assert.throws(() => parseTargets([]), /at least one target/);
  assert.throws(() => parseTargets(['redis']), /unknown target 'redis' \(services: .*; infrastructure: postgres/);
});

test('locally, services stop before the infrastructure they need and start after it', () => {
  const argv = (action: 'stop' | 'start' | 'kill') =>
    planControl(action, ['order', 'kafka', 'gateway'], 'local', '/repo').map((s) => s.argv.join(' '));
  assert.deepEqual(argv('kill'), [
    'bash /repo/infra/local/services.sh kill order gateway',
    'bash /repo/infra/local/infra.sh kill kafka',
  ]);
  assert.deepEqual(argv('stop'), [
    'bash /repo/infra/local/services.sh down order gateway',
    'bash /repo/infra/local/infra.sh down kafka',
  ]);
  assert.deepEqual(argv('start'), [
    'bash /repo/infra/local/infra.sh up kafka',
    'bash /repo/infra/local/services.sh up order gateway',
  ]);
});

test('in compose mode each action is one docker compose command; start waits for health', () => {
  const argv = (action: 'stop' | 'start' | 'kill') =>
    planControl(action, ['order', 'kafka'], 'compose', '/repo').map((s) => s.argv.join(' '));
  assert.deepEqual(argv('kill'), ['docker compose kill order kafka']);
  assert.deepEqual(argv('stop'), ['docker compose stop order kafka']);
  assert.deepEqual(argv('start'), ['docker compose up --detach --no-deps --wait order kafka']);
});

test('mode: SHOPLAB_MODE wins; else local while the local stack runs, else compose if it works', async () => {
  const never = async () => assert.fail('compose should not be probed');
  assert.equal(
    await detectMode({ SHOPLAB_MODE: 'compose' }, { localRunning: () => true, composeWorks: never }),
    'compose',
  );
  assert.equal(
    await detectMode({ SHOPLAB_MODE: 'local' }, { localRunning: () => false, composeWorks: never }),
    'local',
  );
  await assert.rejects(detectMode({ SHOPLAB_MODE: 'k8s' }), /SHOPLAB_MODE must be local or compose/);
  assert.equal(await detectMode({}, { localRunning: () => true, composeWorks: never }), 'local');
  assert.equal(await detectMode({}, { localRunning: () => false, composeWorks: async () => true }), 'compose');
  assert.equal(await detectMode({}, { localRunning: () => false, composeWorks: async () => false }), 'local');
});

test('the local stack counts as running when a pid file names a live process', async () => {
  const state = await mkdtemp(join(tmpdir(), 'shopctl-state-'));
  try {
    assert.equal(localStackRunning({ SHOPLAB_STATE: state }), false);
    await mkdir(join(state, 'run'));
    await writeFile(join(state, 'run', 'order.pid'), '999999999\n');
    await writeFile(join(state, 'run', 'garbage.pid'), 'not a pid\n');
    assert.equal(localStackRunning({ SHOPLAB_STATE: state }), false);
    await writeFile(join(state, 'run', 'user.pid'), `${process.pid}\n`);
    assert.equal(localStackRunning({ SHOPLAB_STATE: state }), true);
  } finally {
    await rm(state, { recursive: true });
  }
});

test('bad input exits 2 with the usage', async () => {
  let err = '';
  const io = { env: {}, out: () => {}, err: (t: string) => (err += t) };
  assert.equal(await controlCommand('kill', [], io), 2);
  assert.match(err, /name at least one target/);
  assert.equal(await controlCommand('stop', ['order', '--now'], io), 2);
  assert.match(err, /unknown option --now/);
  assert.match(err, /usage: shopctl stop\|start\|kill/);
});
