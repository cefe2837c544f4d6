// The rebuild's fast path: replays a source topic from its start up to the ends it had when the
// rebuild began, a whole fetched batch per transaction instead of one transaction per event.
// The projection does not depend on the order events arrive in (domain/order-document.ts), so a
// batch is grouped by order id: each order's facts are read once (locked), merged with all of
// its events in the batch, and written once. processed_events rows are written for the batch
// in the same transaction (the live consumer of the same group skips those events), and the
// offsets are committed after it. A message that is not a valid event, or whose data the
// contract refuses (a poison message), is passed over with a warning and counted: the live
// consumer parked it in `<topic>.dlq` when it first arrived, and parking it again on every
// rebuild would only pile up copies of what an operator has already seen. A failed
// transaction pauses that partition where it is: the ordinary per-event consumer of the same
// group takes over from the committed offset, with its retries.
import { type DomainEvent, decodeEvent, errorText, type Logger, PoisonMessageError } from '@shoplab/chassis';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { applyEvent, type OrderFacts, toDocument } from '../domain/order-document';
import type { PrismaClient } from '../generated/prisma/client';
import { PrismaHistoryWrites } from './history.store';

export interface ReplaySource {
  topic: string;
  groupId: string;
  /** Per partition, the offset to stop before (the topic's end when the rebuild started). */
  ends: Map<number, number>;
}

/** The partitions of the source topics consumed at once (infra: 3 per topic). */
const PARTITIONS_AT_ONCE = 3;

export class BatchReplay {
  private consumers: Consumer[] = [];
  private stopped = false;
  /** Poison messages passed over (not applied, not parked again). */
  private poison = 0;

  constructor(
    private readonly deps: { kafka: Kafka; prisma: PrismaClient; logger: Logger },
    private readonly sources: ReplaySource[],
  ) {}

  /** Resolves once every partition reached its end or was left to the per-event consumer. */
  async run(): Promise<{ replayed: number; poison: number; handedOver: string[] }> {
    let replayed = 0;
    const handedOver = new Set<string>();
    // A replay consumer kafkajs gives up on (a crash it does not restart after) commits nothing
    // more: the replay then fails, and its caller hands the rest to the per-event consumers.
    let givenUp: unknown;
    for (const source of this.sources) {
      if (![...source.ends.values()].some((end) => end > 0)) continue;
      const consumer = this.deps.kafka.consumer({ groupId: source.groupId, allowAutoTopicCreation: false });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) givenUp ??= payload.error;
      });
      this.consumers.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic: source.topic, fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: PARTITIONS_AT_ONCE,
        eachBatch: async (payload) => {
          const { partition } = payload.batch;
          const key = `${source.topic}/${partition}`;
          if (this.stopped || handedOver.has(key)) return;
          const end = source.ends.get(partition) ?? 0;
          const leave = () => consumer.pause([{ topic: source.topic, partitions: [partition] }]);
          try {
            const { applied, last } = await this.applyBatch(source, payload, end);
            replayed += applied;
            if (last !== null) {
              payload.resolveOffset(String(last));
              await payload.commitOffsetsIfNecessary();
            }
            // What comes after the end is the per-event consumer's (it starts from the committed offset).
            if (payload.batch.messages.some((m) => Number(m.offset) >= end - 1)) leave();
          } catch (err) {
            this.deps.logger.warn(
              { err, topic: source.topic, partition },
              'batch replay stopped on this partition; the per-event consumer takes over',
            );
            leave();
            handedOver.add(key);
          }
        },
      });
    }
    // Done when each partition's committed offset reached its end (kafkajs commits past the
    // transaction markers itself), or the partition was handed over.
    const admin = this.deps.kafka.admin();
    await admin.connect();
    try {
      while (!this.stopped) {
        if (givenUp !== undefined) throw givenUp;
        let behind = 0;
        for (const source of this.sources) {
          const committed = await admin.fetchOffsets({ groupId: source.groupId, topics: [source.topic] });
          const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
          for (const [partition, end] of source.ends) {
            if (end > 0 && !handedOver.has(`${source.topic}/${partition}`) && (at.get(partition) ?? -1) < end) behind++;
          }
        }
        if (behind === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await this.stop();
    return { replayed, poison: this.poison, handedOver: [...handedOver] };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const consumers = this.consumers;
    this.consumers = [];
    for (const c of consumers) await c.disconnect().catch(() => undefined);
  }

  /** Applies the batch's messages before `end` in one transaction; `last`: the last offset applied. */
  private async applyBatch(
    source: ReplaySource,
    { batch, heartbeat }: EachBatchPayload,
    end: number,
  ): Promise<{ applied: number; last: number | null }> {
    const messages = batch.messages.filter((m) => Number(m.offset) < end);
    if (messages.length === 0) return { applied: 0, last: null };
    const events: DomainEvent[] = [];
    for (const message of messages) {
      try {
        const event = decodeEvent(message);
        applyEvent(null, event); // parses the data as the contract says: PoisonMessageError if not
        events.push(event);
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) throw err;
        this.poison++;
        this.deps.logger.debug(
          { topic: source.topic, partition: batch.partition, offset: message.offset, err: errorText(err) },
          'history rebuild: passed over a poison message (the live consumer parked it in the dead-letter topic)',
        );
      }
    }
    const last = Number(messages.at(-1)?.offset);
    const applied = await this.deps.prisma.$transaction(
      async (tx) => {
        const ids = [...new Set(events.map((e) => e.id))];
        const fresh = await tx.$queryRaw<{ event_id: string }[]>`
          INSERT INTO processed_events (consumer_group, event_id)
          SELECT ${source.groupId}, unnest(${ids}::uuid[])
          ON CONFLICT DO NOTHING RETURNING event_id::text`;
        const isFresh = new Set(fresh.map((r) => r.event_id));
        const seen = new Set<string>();
        const toApply = events.filter((e) => isFresh.has(e.id) && !seen.has(e.id) && seen.add(e.id));
        const byOrder = new Map<string, DomainEvent[]>();
        for (const event of toApply) {
          const orderId = applyEvent(null, event)?.facts.orderId;
          if (orderId === undefined) continue; // an event type the read side does not use
          byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), event]);
        }
        const writes = new PrismaHistoryWrites(tx);
        // Sorted, so two partitions' transactions take the orders' locks in the same order.
        const orderIds = [...byOrder.keys()].sort();
        const known = await writes.loadManyForUpdate(orderIds);
        for (const orderId of orderIds) {
          let facts: OrderFacts | null = known.get(orderId) ?? null;
          let changed = false;
          for (const event of byOrder.get(orderId) ?? []) {
            const result = applyEvent(facts, event);
            if (!result) continue;
            facts = result.facts;
            changed ||= result.changed;
          }
          if (facts && changed) await writes.save(facts, toDocument(facts));
        }
        if (toApply.length > 0) {
          const newest = new Date(Math.max(...toApply.map((e) => Date.parse(e.time))));
          await writes.recordProgress(source.topic, newest, toApply.length);
        }
        return toApply.length;
      },
      { timeout: 60_000 },
    );
    await heartbeat();
    return { applied, last };
  }
}
