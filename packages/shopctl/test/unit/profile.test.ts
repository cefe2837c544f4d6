import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CpuProfile, codeGroup, formatProfileSummary, summarizeProfile } from '../../src/bench/profile';

test('codeGroup names where a frame’s code comes from', () => {
  assert.equal(codeGroup('file:///work/node_modules/@prisma/client/runtime/client.js', 'El'), 'pkg:@prisma/client');
  assert.equal(codeGroup('/work/node_modules/fastify/lib/route.js', 'x'), 'pkg:fastify');
  assert.equal(codeGroup('/work/node_modules/@shoplab/chassis/dist/src/http.js', 'x'), 'shoplab:chassis');
  assert.equal(codeGroup('/work/services/catalog/dist/src/app.js', 'x'), 'shoplab:catalog');
  assert.equal(codeGroup('node:internal/streams/writable', 'write'), 'node');
  assert.equal(codeGroup('wasm://wasm/007708f6', 'wasm-function[83]'), 'wasm');
  assert.equal(codeGroup('', '(garbage collector)'), '(garbage collector)');
  assert.equal(codeGroup('', '(idle)'), '(idle)');
  assert.equal(codeGroup('', 'writev'), '(native)');
});

// Three functions and idle; samples every 1 ms (timeDeltas in µs), the first 2 ms a start-up frame.
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
    { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    { id: 3, callFrame: { functionName: 'query', url: '/w/node_modules/pg/lib/client.js', lineNumber: 9 } },
    { id: 4, callFrame: { functionName: 'list', url: '/w/services/catalog/dist/src/a.js', lineNumber: 0 } },
    { id: 5, callFrame: { functionName: 'compile', url: 'node:internal/modules/cjs/loader', lineNumber: 1 } },
  ],
  startTime: 0,
  endTime: 10_000,
  samples: [5, 5, 3, 3, 3, 3, 4, 4, 2, 2],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

test('summarizeProfile splits busy time by function and origin, idle left out, shares of busy time', () => {
  const s = summarizeProfile(PROFILE);
  assert.equal(s.durationMs, 10);
  // The last sample has no following delta: 9 ms attributed, 1 of it idle.
  assert.equal(s.busyMs, 8);
  assert.deepEqual(
    s.groups.map((g) => [g.group, g.selfMs, g.share]),
    [
      ['pkg:pg', 4, 0.5],
      ['node', 2, 0.25],
      ['shoplab:catalog', 2, 0.25],
    ],
  );
  assert.deepEqual(s.top[0], { name: 'query', where: 'pg/lib/client.js:10', selfMs: 4, share: 0.5 });
  assert.match(formatProfileSummary(s), /pkg:pg +4 ms +50\.0 %/);
});

test('--from leaves the start of the profile out', () => {
  const s = summarizeProfile(PROFILE, 20, 2.5);
  assert.equal(
    s.groups.find((g) => g.group === 'node'),
    undefined,
    'the start-up frame is gone',
  );
  assert.equal(s.busyMs, 6);
  assert.equal(s.durationMs, 7.5);
});
