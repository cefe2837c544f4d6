import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pauseAfter } from '../../src/application/orders';
import { StreamSlots } from '../../src/domain/stream-slots';

test('stream slots: per user and in all, given back once however often released', () => {
  const slots = new StreamSlots({ perUser: 2, total: 3 });
  const a1 = slots.acquire('alice');
  const a2 = slots.acquire('alice');
  assert.ok(a1 && a2);
  assert.equal(slots.acquire('alice'), undefined, 'alice has 2');
  const b1 = slots.acquire('bob');
  assert.ok(b1);
  assert.equal(slots.acquire('carol'), undefined, '3 in all');
  a1();
  a1();
  assert.equal(slots.size, 2);
  assert.ok(slots.acquire('carol'));
  assert.equal(slots.acquire('alice'), undefined, 'full again in all');
});

test('a stream backs off while the order service fails: doubling from the poll interval, capped', () => {
  const options = { pollMs: 100, maxBackoffMs: 1_000 };
  assert.equal(pauseAfter(0, options), 100);
  for (let failures = 1; failures < 12; failures++) {
    const pause = pauseAfter(failures, options);
    assert.ok(pause >= 100 && pause <= 1_000, `${failures}: ${pause}`);
  }
  // Without a bound of its own it never waits longer than polling does.
  assert.equal(pauseAfter(5, { pollMs: 100 }), 100);
});
