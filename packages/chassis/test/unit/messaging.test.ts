import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { context, ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from '@opentelemetry/api';
import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { FaultInjector } from '../../src/chaos';
import { processClock } from '../../src/clock';
import { ShopError } from '../../src/errors';
import {
  aggregateTypeOf,
  backoffDelayMs,
  consumerMetrics,
  createEvent,
  createMessageProcessor,
  DLQ_HEADERS,
  type DomainEvent,
  databaseUnavailable,
  decodeEvent,
  encodeEvent,
  eventType,
  extractTraceContext,
  ForeignSourceError,
  type MessageProcessorOptions,
  type MessageToProcess,
  type PgQueryable,
  PoisonMessageError,
  sourceOf,
  type TopicMessages,
  topicForSource,
  topicOwner,
  traceHeaders,
} from '../../src/messaging';
import { installTracePropagation, testLogger } from '../support/kafka-fixtures';

const remoteParent: SpanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
};
const inRequest = trace.setSpanContext(ROOT_CONTEXT, remoteParent);

function orderConfirmed(orderId = 'ord-1'): DomainEvent<{ total: { amount: number; currency: string } }> {
  return createEvent({
    service: 'order',
    type: eventType('order', 'confirmed'),
    subject: orderId,
    data: { total: { amount: 1999, currency: 'USD' } },
  });
}

/** The message as kafkajs delivers it: Buffers everywhere. */
function asDelivered(encoded: ReturnType<typeof encodeEvent>, offset = '0'): KafkaMessage {
  return {
    key: Buffer.from(encoded.key),
    value: Buffer.from(encoded.value),
    headers: Object.fromEntries(Object.entries(encoded.headers).map(([k, v]) => [k, Buffer.from(v)])),
    timestamp: encoded.timestamp,
    attributes: 0,
    offset,
  } as KafkaMessage;
}

before(() => installTracePropagation());

describe('the envelope', () => {
  test('createEvent fills the id, time and source and keeps the data', () => {
    const event = orderConfirmed();
    assert.match(event.id, /^[0-9a-f-]{36}$/);
    assert.equal(event.source, '/shoplab/order');
    assert.equal(event.type, 'shop.order.confirmed.v1');
    assert.equal(event.subject, 'ord-1');
    assert.equal(event.datacontenttype, 'application/json');
    assert.ok(!Number.isNaN(Date.parse(event.time)));
    assert.deepEqual(event.data, { total: { amount: 1999, currency: 'USD' } });
  });

  test('event types follow shop.<aggregate>.<event>.v<major>', () => {
    assert.equal(eventType('payment', 'captured', 2), 'shop.payment.captured.v2');
    assert.equal(aggregateTypeOf('shop.stock.reserved.v1'), 'stock');
    assert.equal(topicForSource('/shoplab/catalog'), 'catalog.events');
    for (const bad of [
      'order.confirmed.v1',
      'shop.Order.confirmed.v1',
      'shop.order.confirmed',
      'shop.order.confirmed.v0',
    ]) {
      assert.throws(() => aggregateTypeOf(bad), /invalid event type/, bad);
      assert.throws(
        () => createEvent({ service: 'order', type: bad, subject: 'o', data: {} }),
        /shop\.<aggregate>/,
        bad,
      );
    }
  });

  test('an event encodes in binary mode: key = aggregate id, value = data, attributes in ce_ headers', () => {
    const event = orderConfirmed();
    const message = encodeEvent(event, {});
    assert.equal(message.key, 'ord-1');
    assert.deepEqual(JSON.parse(message.value), event.data);
    assert.equal(message.timestamp, String(Date.parse(event.time)));
    assert.deepEqual(message.headers, {
      'content-type': 'application/json',
      ce_specversion: '1.0',
      ce_id: event.id,
      ce_source: '/shoplab/order',
      ce_type: 'shop.order.confirmed.v1',
      ce_subject: 'ord-1',
      ce_time: event.time,
      // Extension attributes: the producer's logical clocks (clock.ts).
      ce_lamport: String(event.lamport),
      ce_hlc: event.hlc,
    });
  });

  test('a delivered message decodes to the event that was encoded', () => {
    const event = orderConfirmed();
    assert.deepEqual(decodeEvent(asDelivered(encodeEvent(event))), event);
  });

  test('messages that are not valid domain events are poison', () => {
    const good = encodeEvent(orderConfirmed(), {});
    const cases: [string, { headers?: Record<string, string>; value?: string | null }, RegExp][] = [
      ['no CloudEvents headers', { headers: { 'content-type': 'application/json' } }, /no ce_id/],
      ['a body that is not JSON', { value: '{"total":' }, /cannot decode/],
      ['no value at all', { value: null }, /no value/],
      ['a type outside the naming rule', { headers: { ...good.headers, ce_type: 'OrderConfirmed' } }, /type must be/],
      ['an id that is not a uuid', { headers: { ...good.headers, ce_id: '42' } }, /id/],
      ['an unreadable time', { headers: { ...good.headers, ce_time: 'yesterday' } }, /cannot decode/],
      [
        'a body that is not JSON data',
        { headers: { ...good.headers, 'content-type': 'text/plain' } },
        /datacontenttype/,
      ],
    ];
    for (const [what, change, reason] of cases) {
      const message = asDelivered(good);
      if (change.value !== undefined) message.value = change.value === null ? null : Buffer.from(change.value);
      if (change.headers) message.headers = change.headers;
      assert.throws(
        () => decodeEvent(message),
        (err: unknown) => err instanceof PoisonMessageError && reason.test(err.message),
        what,
      );
    }
  });

  test('the active trace context is written as traceparent and read back with the same trace id', () => {
    const message = context.with(inRequest, () => encodeEvent(orderConfirmed()));
    assert.equal(message.headers.traceparent, `00-${remoteParent.traceId}-${remoteParent.spanId}-01`);
    const extracted = trace.getSpanContext(extractTraceContext(message.headers));
    assert.equal(extracted?.traceId, remoteParent.traceId);
    assert.equal(extracted?.spanId, remoteParent.spanId);
    assert.deepEqual(traceHeaders(ROOT_CONTEXT), {}, 'no trace, no header');
  });

  test('backoff doubles up to its cap, with jitter that never reaches zero', () => {
    const top = () => 1 - Number.EPSILON;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, { initialMs: 100, maxMs: 1000 }, top)),
      [100, 200, 400, 800, 1000, 1000],
    );
    assert.equal(
      backoffDelayMs(3, { initialMs: 100, maxMs: 1000 }, () => 0),
      40,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The per-message logic, with an in-memory ledger standing in for PostgreSQL and Kafka.

interface Harness {
  options: MessageProcessorOptions<PgQueryable>;
  journal: string[];
  applied: string[];
  processed: Set<string>;
  dlq: TopicMessages[];
  commits: string[];
  metrics: ReturnType<typeof consumerMetrics>;
  abort: AbortController;
}

function harness(
  handler: (event: DomainEvent, attempt: number) => Promise<void> | void,
  overrides: Partial<MessageProcessorOptions<PgQueryable>> = {},
): Harness {
  const journal: string[] = [];
  const applied: string[] = [];
  const processed = new Set<string>();
  const dlq: TopicMessages[] = [];
  const commits: string[] = [];
  const metrics = consumerMetrics(new Registry());
  const abort = new AbortController();
  const options: MessageProcessorOptions<PgQueryable> = {
    groupId: 'billing',
    metrics,
    logger: testLogger(),
    maxAttempts: 3,
    backoff: { initialMs: 1, maxMs: 2 },
    dlqTopic: (topic) => `${topic}.dlq`,
    signal: abort.signal,
    producer: {
      send: async (batch) => {
        journal.push('dlq');
        dlq.push(...batch);
      },
    },
    // BEGIN … COMMIT with the ledger insert staged until commit, as PostgreSQL would.
    transaction: async (work) => {
      const staged = new Set<string>();
      const pendingEffects: string[] = [];
      journal.push('begin');
      const tx: PgQueryable & { effects: string[] } = {
        effects: pendingEffects,
        query: async (sql, values) => {
          const id = String(values?.[1]);
          if (!sql.includes('processed_events')) throw new Error(`unexpected SQL ${sql}`);
          if (processed.has(id) || staged.has(id)) return { rows: [], rowCount: 0 };
          staged.add(id);
          return { rows: [{ event_id: id }], rowCount: 1 };
        },
      };
      try {
        const result = await work(tx);
        for (const id of staged) processed.add(id);
        applied.push(...pendingEffects);
        journal.push('commit-tx');
        return result;
      } catch (err) {
        journal.push('rollback');
        throw err;
      }
    },
    handler: async (event, tx, meta) => {
      journal.push(`handle#${meta.attempt}`);
      await handler(event, meta.attempt);
      (tx as unknown as { effects: string[] }).effects.push(event.id);
    },
    ...overrides,
  };
  return { options, journal, applied, processed, dlq, commits, metrics, abort };
}

/** The message on partition 2 of order.events, committing into the harness' journal. */
const payloadFor = (h: Harness, message: KafkaMessage): MessageToProcess => ({
  topic: 'order.events',
  partition: 2,
  message,
  heartbeat: async () => undefined,
  commit: async (offset) => {
    h.journal.push(`commit ${offset}`);
    h.commits.push(`order.events/2@${offset}`);
  },
});

async function count(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

describe('the consumer, message by message', () => {
  test('an event is applied in one transaction and only then is its offset committed', async () => {
    const h = harness(() => undefined);
    const event = orderConfirmed();
    const done = await createMessageProcessor(h.options)(payloadFor(h, asDelivered(encodeEvent(event), '41')));
    assert.equal(done, true);
    assert.deepEqual(h.journal, ['begin', 'handle#1', 'commit-tx', 'commit 42']);
    assert.deepEqual(h.applied, [event.id]);
    assert.deepEqual(h.commits, ['order.events/2@42']);
    assert.equal(await count(h.metrics.processed), 1);
  });

  test('a redelivered event id is skipped, committed and counted as a duplicate', async () => {
    const h = harness(() => undefined);
    const process = createMessageProcessor(h.options);
    const message = encodeEvent(orderConfirmed());
    await process(payloadFor(h, asDelivered(message, '0')));
    await process(payloadFor(h, asDelivered(message, '1')));
    assert.equal(h.applied.length, 1);
    assert.deepEqual(h.commits, ['order.events/2@1', 'order.events/2@2']);
    assert.equal(await count(h.metrics.duplicates), 1);
  });

  test('a handler that fails once is retried, and its first attempt leaves nothing behind', async () => {
    const h = harness((_event, attempt) => {
      if (attempt === 1) throw new Error('deadlock detected');
    });
    await createMessageProcessor(h.options)(payloadFor(h, asDelivered(encodeEvent(orderConfirmed()), '7')));
    assert.deepEqual(h.journal, ['begin', 'handle#1', 'rollback', 'begin', 'handle#2', 'commit-tx', 'commit 8']);
    assert.equal(h.applied.length, 1);
    assert.equal(await count(h.metrics.failures), 1);
  });

  test('a handler that keeps failing is dead-lettered with the error headers, then committed', async () => {
    const h = harness(() => {
      throw new Error('no such product p-9');
    });
    const message = asDelivered(encodeEvent(orderConfirmed()), '5');
    await createMessageProcessor(h.options)(payloadFor(h, message));
    assert.deepEqual(h.journal.slice(-2), ['dlq', 'commit 6']);
    assert.equal(h.journal.filter((j) => j.startsWith('handle')).length, 3);
    const [sent] = h.dlq;
    assert.equal(sent?.topic, 'order.events.dlq');
    const dead = sent?.messages[0];
    assert.deepEqual(dead?.value, message.value, 'the original bytes');
    assert.deepEqual(dead?.key, message.key);
    assert.equal(dead?.headers?.[DLQ_HEADERS.error], 'no such product p-9');
    assert.equal(dead?.headers?.[DLQ_HEADERS.attempts], '3');
    assert.equal(dead?.headers?.[DLQ_HEADERS.topic], 'order.events');
    assert.equal(dead?.headers?.[DLQ_HEADERS.partition], '2');
    assert.equal(dead?.headers?.[DLQ_HEADERS.offset], '5');
    assert.equal(dead?.headers?.[DLQ_HEADERS.group], 'billing');
    assert.equal(h.applied.length, 0);
    assert.equal(h.processed.size, 0, 'a dead-lettered id is not recorded, so a replay can apply it');
  });

  test('a handler that finds the data broken (PoisonMessageError) is dead-lettered after one attempt', async () => {
    const h = harness(() => {
      throw new PoisonMessageError('lines missing');
    });
    await createMessageProcessor(h.options)(payloadFor(h, asDelivered(encodeEvent(orderConfirmed()), '3')));
    assert.equal(h.journal.filter((j) => j.startsWith('handle')).length, 1, 'not retried');
    assert.deepEqual(h.journal.slice(-2), ['dlq', 'commit 4']);
    assert.equal(h.dlq[0]?.messages[0]?.headers?.[DLQ_HEADERS.attempts], '1');
    assert.equal(h.dlq[0]?.messages[0]?.headers?.[DLQ_HEADERS.error], 'lines missing');
  });

  test('a failed offset commit is not a handler failure: nothing is retried or dead-lettered', async () => {
    const h = harness(() => undefined);
    const payload = payloadFor(h, asDelivered(encodeEvent(orderConfirmed()), '12'));
    payload.commit = async () => {
      throw new Error('The coordinator is not aware of this member');
    };
    await assert.rejects(createMessageProcessor(h.options)(payload), /not aware of this member/);
    assert.deepEqual(h.journal, ['begin', 'handle#1', 'commit-tx']);
    assert.equal(h.applied.length, 1, 'applied once; a redelivery will be skipped as a duplicate');
    assert.deepEqual(h.dlq, []);
  });

  test('a poison message goes to the DLQ at once without reaching the handler', async () => {
    const h = harness(() => undefined);
    const garbage = asDelivered(encodeEvent(orderConfirmed()), '9');
    garbage.value = Buffer.from('%%%');
    garbage.headers = {};
    await createMessageProcessor(h.options)(payloadFor(h, garbage));
    assert.deepEqual(h.journal, ['dlq', 'commit 10']);
    assert.equal(h.dlq[0]?.messages[0]?.headers?.[DLQ_HEADERS.attempts], '0');
    assert.match(String(h.dlq[0]?.messages[0]?.headers?.[DLQ_HEADERS.error]), /no ce_id/);
  });

  test('an injected consumer fault counts as a failed attempt', async () => {
    const chaos = new FaultInjector();
    const rule = chaos.add({ kind: 'consumer', target: 'order.events', fault: { type: 'fail' } });
    const h = harness((_event, attempt) => {
      if (attempt === 1) throw new Error('unreachable: chaos fails attempt 1 first');
    });
    h.options.chaos = {
      apply: async (kind, name) => {
        try {
          await chaos.apply(kind, name);
        } finally {
          chaos.clear(rule.id); // one injected failure only
        }
      },
    };
    await createMessageProcessor(h.options)(payloadFor(h, asDelivered(encodeEvent(orderConfirmed()), '0')));
    assert.deepEqual(h.journal, ['begin', 'handle#2', 'commit-tx', 'commit 1']);
  });

  test('an unreachable database is waited out, not counted as attempts: the event is applied once it is back, never dead-lettered', async () => {
    // What pg says while PostgreSQL is down: a refused connect.
    const refused = () =>
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });
    let calls = 0;
    const h = harness(() => {
      calls++;
      if (calls <= 5) throw refused(); // more failures than maxAttempts (3)
    });
    await createMessageProcessor(h.options)(payloadFor(h, asDelivered(encodeEvent(orderConfirmed()), '20')));
    assert.deepEqual(h.dlq, [], 'not dead-lettered');
    assert.equal(calls, 6);
    assert.equal(h.applied.length, 1);
    assert.deepEqual(h.journal.slice(-2), ['commit-tx', 'commit 21']);
    assert.equal(await count(h.metrics.failures), 5, 'each failed try is still counted');
  });

  test('a database outage is recognised raw or as a repository mapped it; another unavailable dependency is not', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    assert.equal(databaseUnavailable(refused), true);
    const mapped = new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'The catalog database is unavailable', undefined, {
      cause: refused,
    });
    assert.equal(databaseUnavailable(mapped), true);
    assert.equal(databaseUnavailable(new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'payment is unavailable')), false);
    assert.equal(databaseUnavailable(new Error('no such product p-9')), false);
  });

  test('stopping during the backoff gives up without committing, so the message is redelivered', async () => {
    const h = harness(() => {
      throw new Error('database is restarting');
    });
    h.options.backoff = { initialMs: 60_000, maxMs: 60_000 };
    const processing = createMessageProcessor(h.options)(
      payloadFor(h, asDelivered(encodeEvent(orderConfirmed()), '3')),
    );
    setTimeout(() => h.abort.abort(), 20);
    assert.equal(await processing, false, 'not done');
    assert.deepEqual(h.journal, ['begin', 'handle#1', 'rollback']);
    assert.deepEqual(h.commits, []);
  });

  test('the handler runs in a consumer span that continues the trace of the message', async () => {
    let seen: string | undefined;
    const h = harness(() => {
      seen = trace.getActiveSpan()?.spanContext().traceId;
    });
    const message = context.with(inRequest, () => encodeEvent(orderConfirmed()));
    await createMessageProcessor(h.options)(payloadFor(h, asDelivered(message)));
    assert.equal(seen, remoteParent.traceId);
  });
});

// ---------------------------------------------------------------------------------------------
// Only a topic's owner speaks on it (docs/adr/0041-events-accepted-only-from-their-owner.md).

/** An order event as `service` would publish it, e.g. a forged one from `cart`. */
function fromService(service: string, orderId = 'ord-forged'): DomainEvent {
  return createEvent({ service, type: eventType('order', 'confirmed'), subject: orderId, data: { orderId } });
}

describe("a topic's owner", () => {
  test('is read from the topic name, the inverse of topicForSource, and a name with no rule has none', () => {
    assert.equal(topicOwner('order.events'), 'order');
    assert.equal(topicOwner('payment.events'), 'payment');
    assert.equal(topicOwner('order.events.test-1a2b3c4d'), 'order', "a test's own copy of the topic");
    assert.equal(topicOwner('legacy-shipping.events'), 'legacy-shipping');
    assert.equal(topicOwner(topicForSource(sourceOf('catalog'))), 'catalog');
    for (const none of ['chassis.msg.abc', 'order-test-events-1', 'events', 'Order.events', 'order.eventsx']) {
      assert.equal(topicOwner(none), undefined, none);
    }
    assert.equal(sourceOf('order'), '/shoplab/order');
    assert.throws(() => sourceOf('Order'), /invalid service name/);
  });

  test('an event from another source is dead-lettered as poison at once, with the reason, counted, not applied', async () => {
    const h = harness(() => undefined);
    const before = processClock.peek().lamport;
    const forged = fromService('cart');
    const message = asDelivered(
      encodeEvent({ ...forged, lamport: before + 1_000_000, hlc: undefined } as DomainEvent),
      '20',
    );
    assert.equal(await createMessageProcessor(h.options)(payloadFor(h, message)), true);
    assert.deepEqual(h.journal, ['dlq', 'commit 21'], 'never reaches the handler, then moves past it');
    assert.deepEqual(h.applied, []);
    const dead = h.dlq[0]?.messages[0];
    assert.equal(h.dlq[0]?.topic, 'order.events.dlq');
    assert.deepEqual(dead?.value, message.value, 'the original bytes');
    assert.equal(dead?.headers?.[DLQ_HEADERS.reason], 'poison');
    assert.equal(dead?.headers?.[DLQ_HEADERS.attempts], '0');
    assert.equal(
      dead?.headers?.[DLQ_HEADERS.error],
      `event ${forged.id} (shop.order.confirmed.v1) on order.events comes from /shoplab/cart, but only /shoplab/order publishes to order.events: not applied`,
    );
    assert.equal(await count(h.metrics.foreignSource), 1);
    assert.deepEqual(
      (await h.metrics.deadLettered.get()).values.map((v) => [v.labels.reason, v.value]),
      [['poison', 1]],
    );
    assert.ok(processClock.peek().lamport < before + 1_000_000, "a forged event's clock is not taken in");
  });

  test("the owner's own event on the same topic is applied, and the refusal is the consumer's, not a crash", async () => {
    const h = harness(() => undefined);
    const process = createMessageProcessor(h.options);
    await process(payloadFor(h, asDelivered(encodeEvent(fromService('cart')), '0')));
    const genuine = fromService('order', 'ord-genuine');
    await process(payloadFor(h, asDelivered(encodeEvent(genuine), '1')));
    assert.deepEqual(h.applied, [genuine.id]);
    assert.deepEqual(h.commits, ['order.events/2@1', 'order.events/2@2']);
    assert.equal(await count(h.metrics.processed), 1);
    assert.equal(await count(h.metrics.foreignSource), 1);
  });

  test('a consumer that names the owner checks any topic against it; a topic with no known owner takes any source', async () => {
    const named = harness(() => undefined, { owner: () => 'payment' });
    await createMessageProcessor(named.options)(payloadFor(named, asDelivered(encodeEvent(fromService('order')))));
    assert.deepEqual(named.applied, []);
    assert.match(String(named.dlq[0]?.messages[0]?.headers?.[DLQ_HEADERS.error]), /only \/shoplab\/payment publishes/);

    const open = harness(() => undefined, { owner: () => undefined });
    const event = fromService('cart');
    await createMessageProcessor(open.options)(payloadFor(open, asDelivered(encodeEvent(event))));
    assert.deepEqual(open.applied, [event.id]);
    assert.equal(await count(open.metrics.foreignSource), 0);
  });

  test('the refusal is a PoisonMessageError that names the topic, the source and the owner', () => {
    const err = new ForeignSourceError('order.events', fromService('cart'), '/shoplab/order');
    assert.ok(err instanceof PoisonMessageError);
    assert.equal(err.expected, '/shoplab/order');
    assert.equal(err.event.source, '/shoplab/cart');
  });
});
