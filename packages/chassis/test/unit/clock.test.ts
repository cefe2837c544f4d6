import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaultInjector } from '../../src/chaos';
import { compareHlc, formatHlc, HLC_PATTERN, ProcessClock, parseHlc, stampFromMetadata } from '../../src/clock';
import { createEvent, decodeEvent, encodeEvent } from '../../src/events';

/** A clock whose machine time is whatever `time.ms` says. */
function clockAt(ms: number): { clock: ProcessClock; time: { ms: number } } {
  const time = { ms };
  return { clock: new ProcessClock(() => time.ms), time };
}

test('the HLC encoding sorts as (physical, counter) and parses back', () => {
  const readings = [
    { physical: 9, counter: 5 },
    { physical: 10, counter: 0 },
    { physical: 10, counter: 2 },
    { physical: 1_796_478_608_851, counter: 0 },
    { physical: 1_796_478_608_851, counter: 11 },
  ];
  const encoded = readings.map(formatHlc);
  for (const e of encoded) assert.match(e, HLC_PATTERN);
  assert.deepEqual([...encoded].reverse().sort(), encoded);
  assert.deepEqual(encoded.map(parseHlc), readings);
  assert.equal(parseHlc('17964786-1'), undefined);
  assert.equal(compareHlc(undefined, encoded[0]), -1);
  assert.equal(compareHlc(encoded[2], encoded[1]), 1);
});

test('ticks follow the wall clock and count events within one millisecond', () => {
  const { clock, time } = clockAt(1_000);
  const a = clock.tick();
  const b = clock.tick();
  time.ms = 1_005;
  const c = clock.tick();
  assert.deepEqual(
    [a, b, c].map((s) => [s.lamport, parseHlc(s.hlc), s.wall]),
    [
      [1, { physical: 1_000, counter: 0 }, 1_000],
      [2, { physical: 1_000, counter: 1 }, 1_000],
      [3, { physical: 1_005, counter: 0 }, 1_005],
    ],
  );
});

test('a wall clock that steps back does not move the HLC back', () => {
  const { clock, time } = clockAt(5_000);
  const before = clock.tick();
  time.ms = 4_000;
  const after = clock.tick();
  assert.deepEqual(parseHlc(after.hlc), { physical: 5_000, counter: 1 });
  assert.equal(compareHlc(before.hlc, after.hlc), -1);
});

test('a receive from a node ahead takes its time: what the receiver does next sorts after the send', () => {
  const sender = clockAt(60_000);
  const receiver = clockAt(30_000); // 30 s behind
  for (let i = 0; i < 4; i++) sender.clock.tick();
  const sent = sender.clock.tick();
  const received = receiver.clock.receive(sent);
  const caused = receiver.clock.tick();
  assert.equal(received.lamport, 6);
  assert.equal(caused.lamport, 7);
  assert.deepEqual(parseHlc(received.hlc), { physical: 60_000, counter: sent.lamport });
  assert.deepEqual(parseHlc(caused.hlc), { physical: 60_000, counter: sent.lamport + 1 });
  assert.ok(compareHlc(sent.hlc, caused.hlc) < 0, 'the HLC puts the effect after its cause');
  assert.ok(caused.wall < sent.wall, 'while the wall clocks put it 30 s before');
});

test('a receive from a node behind keeps the receiver’s time; equal times take the larger counter', () => {
  const { clock } = clockAt(10_000);
  clock.tick();
  const merged = clock.receive({ lamport: 40, hlc: formatHlc({ physical: 2_000, counter: 9 }) });
  assert.equal(merged.lamport, 41);
  assert.deepEqual(parseHlc(merged.hlc), { physical: 10_000, counter: 1 });
  const same = clock.receive({ hlc: formatHlc({ physical: 10_000, counter: 7 }) });
  assert.deepEqual(parseHlc(same.hlc), { physical: 10_000, counter: 8 });
  assert.equal(same.lamport, 42);
});

test('a message without stamps, or with malformed ones, only advances the local clocks', () => {
  const { clock } = clockAt(3_000);
  clock.tick();
  const s = clock.receive({ lamport: Number.NaN, hlc: 'yesterday' });
  assert.equal(s.lamport, 2);
  assert.deepEqual(parseHlc(s.hlc), { physical: 3_000, counter: 1 });
  assert.deepEqual(stampFromMetadata(undefined, undefined), { lamport: undefined, hlc: undefined });
  assert.deepEqual(stampFromMetadata('12', 'x'), { lamport: 12, hlc: 'x' });
  assert.equal(stampFromMetadata('-1', undefined).lamport, undefined);
});

test('the counter never overflows its digits: the physical part moves on instead', () => {
  const { clock } = clockAt(1_000);
  const merged = clock.receive({ hlc: formatHlc({ physical: 1_000, counter: 999_999 }) });
  assert.deepEqual(parseHlc(merged.hlc), { physical: 1_001, counter: 0 });
  assert.deepEqual(parseHlc(clock.tick().hlc), { physical: 1_001, counter: 1 });
});

test('a chaos clock skew offsets now() and the HLC’s physical part, and ends with the rule', () => {
  const time = { ms: 100_000 };
  const chaos = new FaultInjector(undefined, () => time.ms);
  const clock = new ProcessClock(() => time.ms);
  clock.useOffset(() => chaos.clockOffsetMs());
  const rule = chaos.add({ kind: 'clock', fault: { type: 'skew', ms: -30_000 }, durationSeconds: 60 });
  assert.equal(rule.target, '*');
  assert.equal(clock.now(), 70_000);
  const skewed = clock.tick();
  assert.equal(skewed.wall, 70_000);
  assert.deepEqual(parseHlc(skewed.hlc), { physical: 70_000, counter: 0 });
  // Skews add up; the rule's expiry is measured on the real clock.
  chaos.add({ kind: 'clock', fault: { type: 'skew', ms: 5_000 }, durationSeconds: 10 });
  assert.equal(clock.now(), 75_000);
  time.ms += 10_000;
  assert.equal(clock.now(), 80_000);
  chaos.clear();
  assert.equal(clock.now(), 110_000);
});

test('a skew is a clock fault only: refused on a call kind, as is a call fault on the clock', () => {
  const chaos = new FaultInjector();
  assert.throws(() => chaos.add({ kind: 'grpc', fault: { type: 'skew', ms: 1_000 } } as never));
  assert.throws(() => chaos.add({ kind: 'clock', fault: { type: 'fail' } } as never));
  assert.throws(() => chaos.add({ kind: 'clock', fault: { type: 'skew', ms: 0 } }));
  assert.throws(() => chaos.add({ kind: 'clock', fault: { type: 'skew', ms: 86_400_001 } }));
  assert.throws(() => chaos.add({ kind: 'clock', target: 'payment', fault: { type: 'skew', ms: 1_000 } } as never));
  assert.equal(chaos.list().length, 0);
});

test('events carry the clocks as ce_lamport and ce_hlc and decode with them; older events without them still decode', () => {
  const event = createEvent({ service: 'order', type: 'shop.order.created.v1', subject: 'o-1', data: { n: 1 } });
  assert.equal(typeof event.lamport, 'number');
  assert.match(event.hlc ?? '', HLC_PATTERN);
  const encoded = encodeEvent(event, {});
  assert.equal(encoded.headers.ce_lamport, String(event.lamport));
  assert.equal(encoded.headers.ce_hlc, event.hlc);
  const delivered = (headers: Record<string, string>) => ({
    key: Buffer.from(encoded.key),
    value: Buffer.from(encoded.value),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
  });
  assert.deepEqual(decodeEvent(delivered(encoded.headers)), event);
  const { ce_lamport: _l, ce_hlc: _h, ...older } = encoded.headers;
  const old = decodeEvent(delivered(older));
  assert.equal(old.lamport, undefined);
  assert.equal(old.hlc, undefined);
  assert.equal(old.id, event.id);
  assert.throws(() => decodeEvent(delivered({ ...encoded.headers, ce_hlc: 'soon' })), /hlc/);
});

test('an event’s time and its HLC come from one reading of the (skewable) clock', () => {
  const { clock } = clockAt(Date.parse('2026-01-01T00:00:00.000Z'));
  const stamp = clock.tick();
  const event = createEvent({ service: 'payment', type: 'shop.payment.captured.v1', subject: 'p', data: {}, stamp });
  assert.equal(event.time, '2026-01-01T00:00:00.000Z');
  assert.equal(parseHlc(event.hlc ?? '')?.physical, Date.parse(event.time));
});
