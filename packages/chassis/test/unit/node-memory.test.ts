import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// The services' heap and malloc settings (docs/adr/0049-service-memory-lean-telemetry-and-heap-settings.md)
// are written twice: scripts/lib/node-memory.sh for the native stack and the bench's gateway,
// the Dockerfile's runtime stage for compose and Kubernetes.
const root = join(__dirname, '../../../../..');

function settings(): Record<string, string> {
  const out = execFileSync('bash', ['-c', 'source scripts/lib/node-memory.sh && shoplab_node_memory_env'], {
    cwd: root,
    encoding: 'utf8',
  });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

test('the images run the services with the same memory settings as the native stack', () => {
  const native = settings();
  assert.deepEqual(Object.keys(native).sort(), ['MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS']);
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'));
  const env = runtime.match(/^ENV NODE_OPTIONS="([^"]*)" MALLOC_MMAP_THRESHOLD_=(\d+)$/m);
  assert.ok(env, "the Dockerfile's runtime stage sets NODE_OPTIONS and MALLOC_MMAP_THRESHOLD_ on one ENV line");
  assert.equal(env[1], native.NODE_OPTIONS);
  assert.equal(env[2], native.MALLOC_MMAP_THRESHOLD_);
});

test("NODE_OPTIONS bounds V8's heap (node accepts both flags there)", () => {
  const { NODE_OPTIONS } = settings();
  const out = execFileSync(
    process.execPath,
    [
      '-e',
      // Survivors make V8 grow the young generation to its maximum (32 MB without the flag).
      "let keep = []; for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 200000) keep = []; } const v8 = require('node:v8'); const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); process.stdout.write(JSON.stringify({ limit: v8.getHeapStatistics().heap_size_limit, newSpace: s.space_size }))",
    ],
    { env: { ...process.env, NODE_OPTIONS }, encoding: 'utf8' },
  );
  const { limit, newSpace } = JSON.parse(out) as { limit: number; newSpace: number };
  const mb = 1024 * 1024;
  assert.ok(limit <= 300 * mb, `heap limit ${limit / mb} MB (a machine-sized default is GBs)`);
  assert.ok(newSpace <= 8 * mb, `new space ${newSpace / mb} MB`);
});
