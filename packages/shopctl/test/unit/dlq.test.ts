import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DlqTopicListing,
  describeDlqMessage,
  dlqCommand,
  formatDlqListing,
  normalizeDlqTopic,
  redriveDecision,
} from '../../src/dlq';

const headers = {
  ce_id: Buffer.from('3f1c8a1e-0000-4000-8000-000000000001'),
  ce_type: Buffer.from('shop.order.confirmed.v1'),
  'x-error': Buffer.from('injected failure on consumer order.events'),
  'x-error-attempts': Buffer.from('5'),
  'x-original-topic': Buffer.from('order.events'),
  'x-original-partition': Buffer.from('2'),
  'x-original-offset': Buffer.from('41'),
  'x-consumer-group': Buffer.from('cart.order-events'),
  'x-dead-letter-reason': Buffer.from('failed'),
};

test('a DLQ message is summarized from its CloudEvents and dead-letter headers', () => {
  const m = describeDlqMessage(
    'order.events.dlq',
    0,
    { key: Buffer.from('o-1'), headers, offset: '7', timestamp: '1764290000000' },
    8,
  );
  assert.deepEqual(m, {
    dlqTopic: 'order.events.dlq',
    partition: 0,
    offset: '7',
    timestamp: new Date(1764290000000).toISOString(),
    key: 'o-1',
    eventId: '3f1c8a1e-0000-4000-8000-000000000001',
    type: 'shop.order.confirmed.v1',
    reason: 'injected failure on consumer order.events',
    attempts: 5,
    consumerGroup: 'cart.order-events',
    sourceTopic: 'order.events',
    sourceAt: '2:41',
    poison: false,
    redriven: true,
  });
  const poison = describeDlqMessage('user.events.dlq', 1, { key: null, headers: {}, offset: '8', timestamp: '0' }, 8);
  assert.equal(poison.eventId, null);
  assert.equal(poison.sourceTopic, 'user.events', 'without x-original-topic: the DLQ name minus .dlq');
  assert.equal(poison.redriven, false);
  assert.equal(poison.sourceAt, null);
  const parked = (h: Record<string, string>) =>
    describeDlqMessage(
      'order.events.dlq',
      0,
      {
        key: null,
        headers: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)])),
        offset: '0',
        timestamp: '0',
      },
      0,
    ).poison;
  assert.equal(parked({ 'x-dead-letter-reason': 'poison', 'x-error-attempts': '0' }), true);
  assert.equal(parked({ 'x-dead-letter-reason': 'failed', 'x-error-attempts': '5' }), false);
  assert.equal(parked({ 'x-error-attempts': '0' }), true, 'written before the reason header: 0 attempts is poison');
  assert.equal(parked({ 'x-error-attempts': '3' }), false);
});

test('a redrive copies a failed message once per source message and passes over poison', () => {
  const at = (sourceAt: string | null, poison = false) => ({ sourceTopic: 'order.events', sourceAt, poison });
  const copied = new Set<string>();
  // cart and catalog each parked their own copy of order.events 2:41: one copy back reaches both.
  assert.equal(redriveDecision(at('2:41'), copied, false), 'copy');
  assert.equal(redriveDecision(at('2:41'), copied, false), 'copy-already-redriven');
  assert.equal(redriveDecision(at('2:42'), copied, false), 'copy');
  assert.equal(redriveDecision({ ...at('2:41'), sourceTopic: 'payment.events' }, copied, false), 'copy');
  // A poison message would only be parked again by every group: passed over unless asked for.
  assert.equal(redriveDecision(at('0:7', true), copied, false), 'poison');
  assert.equal(redriveDecision(at('0:7', true), copied, true), 'copy');
  assert.equal(redriveDecision(at('0:7', true), copied, true), 'copy-already-redriven');
  // Without the source coordinates nothing can be matched: copied.
  assert.equal(redriveDecision(at(null), copied, false), 'copy');
  assert.equal(redriveDecision(at(null), copied, false), 'copy');
});

test('a topic names its DLQ either way; a bad name is refused', () => {
  assert.equal(normalizeDlqTopic('order.events'), 'order.events.dlq');
  assert.equal(normalizeDlqTopic('order.events.dlq'), 'order.events.dlq');
  assert.throws(() => normalizeDlqTopic('order events'), /not a Kafka topic name/);
});

test('the listing shows pending messages per topic and hides empty topics unless --all', () => {
  const message = describeDlqMessage('order.events.dlq', 0, { key: null, headers, offset: '3', timestamp: '0' }, 3);
  const listings: DlqTopicListing[] = [
    {
      dlqTopic: 'order.events.dlq',
      count: 2,
      pending: 1,
      messages: [{ ...message, offset: '2', redriven: true }, message],
    },
    { dlqTopic: 'user.events.dlq', count: 0, pending: 0, messages: [] },
  ];
  const text = formatDlqListing(listings, false);
  assert.match(text, /^order\.events\.dlq: 2 message\(s\), 1 not yet redriven$/m);
  assert.match(text, /^ {2}0:3 +3f1c8a1e-\S+ +shop\.order\.confirmed\.v1 +cart\.order-events +5 +injected failure/m);
  assert.doesNotMatch(text, /0:2 /);
  assert.doesNotMatch(text, /^user\.events\.dlq/m);
  assert.match(text, /1 empty dead-letter topic\(s\) not shown/);
  const all = formatDlqListing(listings, true);
  assert.match(all, /^ {2}0:2 .* yes +injected/m);
  assert.match(all, /^user\.events\.dlq: 0 message\(s\)/m);
});

test('bad dlq input exits 2 with the usage', async () => {
  let err = '';
  const io = { env: {}, out: () => {}, err: (t: string) => (err += t) };
  assert.equal(await dlqCommand(['redrive'], io), 2);
  assert.match(err, /dlq redrive takes one topic/);
  assert.equal(await dlqCommand(['redrive', 'order.events', '--max', '0'], io), 2);
  assert.match(err, /--max '0' must be a whole number ≥ 1/);
  assert.equal(await dlqCommand(['discard', 'a', 'b'], io), 2);
  assert.match(err, /dlq discard takes one topic/);
  assert.equal(await dlqCommand(['purge'], io), 2);
  assert.match(err, /usage: shopctl dlq list/);
});
