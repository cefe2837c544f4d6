// The read side's intake: one consumer per source topic, in consumer groups of the read
// model's current generation, and the rebuild that drops the read model and replays the topics
// from the start under a new generation's groups (docs/patterns/cqrs.md#rebuild).
import { type Intake, type PrismaConsumerWiring, prismaConsumerIntake } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import type { Admin, Kafka } from 'kafkajs';
import type { PrismaClient } from '../generated/prisma/client';
import { createHistoryConsumer } from './history.consumer';
import type { PrismaHistoryReads } from './history.store';
import { BatchReplay } from './replay';

export interface SourceTopic {
  topic: string;
  /** The first generation's group; generation n > 0 uses `<group>-g<n>`. */
  group: string;
  maxAttempts?: number;
}

export interface ProjectorOptions {
  kafka: Kafka;
  prisma: PrismaClient;
  kit: PrismaConsumerWiring<PrismaClient>['kit'];
  reads: PrismaHistoryReads;
  sources: SourceTopic[];
  backoff?: { initialMs?: number; maxMs?: number };
  /** How often a running rebuild checks whether it has caught up (default 250 ms). */
  rebuildPollMs?: number;
}

export interface RebuildStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  generation: number;
  startedAt: string | null;
  finishedAt: string | null;
  elapsedSeconds: number;
  /** Events the new generation applied so far (all source topics). */
  eventsApplied: number;
  /** The topics' ends when the rebuild started: it is done once its groups reached them. */
  targetEvents: number;
  documents: number;
  error: string | null;
}

export function groupFor(group: string, generation: number): string {
  return generation === 0 ? group : `${group}-g${generation}`;
}

/** Messages of `topic` the group has not consumed yet (from the start when it has committed nothing). */
async function groupLag(admin: Admin, topic: string, groupId: string): Promise<number> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let lag = 0;
  for (const p of ends) {
    const position = at.get(p.partition) ?? -1;
    lag += Math.max(0, Number(p.high) - (position >= 0 ? position : Number(p.low)));
  }
  return lag;
}

export class HistoryProjector implements Intake {
  readonly name = 'history-projection';
  private intakes: Intake[] = [];
  private generation = 0;
  private admin: Promise<Admin> | undefined;
  /** Set by stop(): the rebuild's background work ends and starts nothing new. */
  private stopped = false;
  /** Between a rebuild's request and its state `running` (one rebuild at a time). */
  private rebuildStarting = false;
  private replay: BatchReplay | undefined;
  private rebuild: RebuildStatus = {
    state: 'idle',
    generation: 0,
    startedAt: null,
    finishedAt: null,
    elapsedSeconds: 0,
    eventsApplied: 0,
    targetEvents: 0,
    documents: 0,
    error: null,
  };

  constructor(private readonly options: ProjectorOptions) {}

  /** The consumer group each source topic is consumed by now. */
  groups(): { topic: string; groupId: string }[] {
    return this.options.sources.map((s) => ({ topic: s.topic, groupId: groupFor(s.group, this.generation) }));
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.startConsumers();
  }

  /** The per-event consumers of the current generation's groups. */
  private async startConsumers(): Promise<void> {
    this.generation = await this.options.reads.generation();
    this.rebuild.generation = this.generation;
    // stop() ran while the generation was read (a rebuild handing over at shutdown): start nothing.
    if (this.stopped) return;
    this.intakes = this.options.sources.map((s) =>
      prismaConsumerIntake(`${s.topic}-consumer`, createHistoryConsumer, {
        kafka: this.options.kafka,
        prisma: this.options.prisma,
        kit: this.options.kit,
        topic: s.topic,
        groupId: groupFor(s.group, this.generation),
        ...(s.maxAttempts ? { maxAttempts: s.maxAttempts } : {}),
        ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      }),
    );
    for (const intake of this.intakes) await intake.start?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const replay = this.replay;
    this.replay = undefined;
    await replay?.stop();
    const intakes = this.intakes;
    this.intakes = [];
    for (const intake of intakes) await intake.stop();
    await this.dropAdmin();
  }

  /** A connected admin client, kept for the lag reads (reconnected after an error). */
  async kafkaAdmin(): Promise<Admin> {
    // One connection for concurrent callers (the lag endpoint and the gauges ask at once).
    this.admin ??= (async () => {
      const admin = this.options.kafka.admin();
      try {
        await admin.connect();
        return admin;
      } catch (err) {
        this.admin = undefined;
        throw err;
      }
    })();
    return this.admin;
  }

  /** Events each source topic holds that the current groups have not applied yet. */
  async lag(): Promise<{ topic: string; groupId: string; events: number }[]> {
    try {
      const admin = await this.kafkaAdmin();
      return await Promise.all(
        this.groups().map(async (g) => ({ ...g, events: await groupLag(admin, g.topic, g.groupId) })),
      );
    } catch (err) {
      await this.dropAdmin();
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `Kafka did not answer: ${(err as Error).message}`);
    }
  }

  /** Forgets the admin client after an error (the next call connects a new one). */
  private async dropAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    const connected = await admin?.catch(() => undefined);
    await connected?.disconnect().catch(() => undefined);
  }

  rebuildStatus(): RebuildStatus {
    const r = this.rebuild;
    if (r.state === 'running' && r.startedAt) r.elapsedSeconds = (Date.now() - Date.parse(r.startedAt)) / 1000;
    return { ...r };
  }

  /**
   * Drops the read model and replays every source topic from its start under the next
   * generation's groups. Returns at once (state `running`); rebuildStatus() reports progress.
   * SHOP_CONFLICT while a rebuild runs.
   */
  async startRebuild(): Promise<RebuildStatus> {
    if (this.rebuild.state === 'running' || this.rebuildStarting) {
      throw new ShopError('SHOP_CONFLICT', 'A rebuild is already running', { generation: this.rebuild.generation });
    }
    // Claimed before the first await, so a second request in the meantime is the 409 above.
    this.rebuildStarting = true;
    // Kafka must answer before anything is dropped: without the topics' ends there is no rebuild.
    let ends: Map<string, { partition: number; low: number; high: number }[]>;
    try {
      ends = await this.topicEnds();
    } catch (err) {
      this.rebuildStarting = false;
      await this.dropAdmin();
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `Kafka did not answer: ${(err as Error).message}`);
    }
    this.rebuildStarting = false;
    this.rebuild = {
      ...this.rebuild,
      state: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      error: null,
      eventsApplied: 0,
      documents: 0,
    };
    try {
      for (const intake of this.intakes) await intake.stop();
      this.intakes = [];
      await this.options.reads.reset();
      let target = 0;
      for (const partitions of ends.values()) for (const p of partitions) target += p.high - p.low;
      this.rebuild.targetEvents = target;
      this.generation = await this.options.reads.generation();
      this.rebuild.generation = this.generation;
      this.replay = new BatchReplay(
        { kafka: this.options.kafka, prisma: this.options.prisma, logger: this.options.kit.logger },
        this.groups().map((g) => ({
          ...g,
          ends: new Map((ends.get(g.topic) ?? []).map((p) => [p.partition, p.high > p.low ? p.high : 0])),
        })),
      );
      void this.replayThenConsume(this.replay, this.generation);
      void this.followRebuild(ends);
    } catch (err) {
      this.fail(err);
      // The database refused the reset (or the generation): consume again, in whatever
      // generation the database holds, rather than stay stopped.
      if (this.intakes.length === 0) await this.startConsumers().catch(() => undefined);
      throw err;
    }
    return this.rebuildStatus();
  }

  /**
   * The rebuild's replay, a batch per transaction (replay.ts), then the ordinary consumers of
   * the same groups from where it committed: the events written since the rebuild began, and
   * any partition the replay handed over.
   */
  private async replayThenConsume(replay: BatchReplay, generation: number): Promise<void> {
    const log = this.options.kit.logger;
    try {
      const { replayed, poison, handedOver } = await replay.run();
      log.info(
        { replayed, poison, handedOver },
        poison > 0
          ? `history rebuild: batch replay finished; passed over ${poison} poison message(s), parked before by the live consumer`
          : 'history rebuild: batch replay finished',
      );
    } catch (err) {
      log.warn({ err }, 'history rebuild: batch replay failed; the per-event consumers replay the rest');
      await replay.stop();
    }
    if (this.stopped || this.replay !== replay || this.generation !== generation) return;
    this.replay = undefined;
    try {
      await this.startConsumers();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Each source topic's partitions: the first offset still held and the next to be written. */
  private async topicEnds(): Promise<Map<string, { partition: number; low: number; high: number }[]>> {
    const admin = await this.kafkaAdmin();
    const ends = new Map<string, { partition: number; low: number; high: number }[]>();
    for (const s of this.options.sources) {
      const offsets = await admin.fetchTopicOffsets(s.topic);
      ends.set(
        s.topic,
        offsets.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) })),
      );
    }
    return ends;
  }

  private fail(err: unknown): void {
    this.rebuild = {
      ...this.rebuild,
      state: 'failed',
      finishedAt: new Date().toISOString(),
      error: err instanceof Error ? err.message : String(err),
    };
  }

  /** Polls until the new groups have reached the topics' ends as they were at the start. */
  private async followRebuild(ends: Map<string, { partition: number; low: number; high: number }[]>): Promise<void> {
    const poll = this.options.rebuildPollMs ?? 250;
    const generation = this.generation;
    const log = this.options.kit.logger;
    for (;;) {
      if (this.stopped || this.rebuild.state !== 'running' || this.generation !== generation) return;
      try {
        if (await this.caughtUp(ends)) {
          // Every event up to the ends has committed: the final counts.
          const final = await this.options.reads.stats();
          const finishedAt = new Date();
          this.rebuild = {
            ...this.rebuild,
            eventsApplied: Object.values(final.topics).reduce((sum, t) => sum + t.eventsApplied, 0),
            documents: final.documents,
            state: 'done',
            finishedAt: finishedAt.toISOString(),
            elapsedSeconds:
              (finishedAt.getTime() - Date.parse(this.rebuild.startedAt ?? finishedAt.toISOString())) / 1000,
          };
          log.info({ ...this.rebuild }, 'history rebuild done');
          return;
        }
      } catch (err) {
        // Kafka or the database away for a moment: the consumers carry on; so does the follow-up.
        await this.dropAdmin();
        log.warn({ err }, 'could not read the rebuild progress; retrying');
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  /** Updates the progress counts; true once the current groups reached `ends` on every partition. */
  private async caughtUp(ends: Map<string, { partition: number; low: number; high: number }[]>): Promise<boolean> {
    const stats = await this.options.reads.stats();
    this.rebuild.eventsApplied = Object.values(stats.topics).reduce((sum, t) => sum + t.eventsApplied, 0);
    this.rebuild.documents = stats.documents;
    const admin = await this.kafkaAdmin();
    for (const g of this.groups()) {
      const committed = await admin.fetchOffsets({ groupId: g.groupId, topics: [g.topic] });
      const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      for (const { partition, low, high } of ends.get(g.topic) ?? []) {
        if (high > low && (at.get(partition) ?? -1) < high) return false;
      }
    }
    return true;
  }
}
