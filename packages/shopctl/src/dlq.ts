// `shopctl dlq list|redrive`: the dead-letter topics the chassis' consumers write
// (packages/chassis/src/dead-letter.ts): `<topic>.dlq`, the original key, value and headers,
// plus x-error, x-error-attempts, x-original-topic/-partition/-offset and x-consumer-group.
//
// list reads every DLQ message without committing anything (a throw-away consumer group,
// deleted afterwards). redrive copies messages back to their source topic with key and
// headers kept and an `x-redriven-at` header added, and commits its own consumer group's
// offset on the DLQ after each copy: a message is redriven once. At least once, not exactly:
// a crash between the copy and the commit redrives that one message again, which the
// consumers' idempotency (processed_events) absorbs. Two kinds of DLQ message are passed over
// (the offset still moves past them): a poison message (it could never be handled: copying it
// back only parks it again, in every group, so each redrive would multiply it) unless asked
// for, and a second DLQ copy of a source message already copied back in this redrive (each
// consumer group parks its own copy; one copy back reaches every group).
import { randomUUID } from 'node:crypto';
import { type Admin, type IHeaders, Kafka, type KafkaMessage, logLevel, Partitioners } from 'kafkajs';
import { messageOf } from './api';
import { type CliIo, formatTable, parseOptions, UsageError } from './command';

/** The DLQ topic of a source topic. */
export const dlqTopicOf = (topic: string): string => `${topic}.dlq`;
/** The consumer group whose committed offsets on each DLQ mark what was redriven. */
export const REDRIVE_GROUP = 'shopctl-dlq-redrive';
/** Header added to a redriven copy (ISO time). */
export const REDRIVEN_HEADER = 'x-redriven-at';

/** Dead-letter headers (DLQ_HEADERS in packages/chassis/src/dead-letter.ts). */
const H = {
  error: 'x-error',
  attempts: 'x-error-attempts',
  topic: 'x-original-topic',
  partition: 'x-original-partition',
  offset: 'x-original-offset',
  group: 'x-consumer-group',
  reason: 'x-dead-letter-reason',
} as const;

export interface DlqOptions {
  /** Broker addresses (default: $KAFKA_BROKERS, else 127.0.0.1:9092). */
  brokers?: string[];
  env?: NodeJS.ProcessEnv;
}

/** One dead-lettered message as `dlq list` shows it. */
export interface DlqMessage {
  dlqTopic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  /** CloudEvents attributes from the ce_* headers; null for a message that is not a CloudEvent. */
  eventId: string | null;
  type: string | null;
  /** Why it was dead-lettered (x-error), how many attempts, by which group, from where. */
  reason: string | null;
  attempts: number | null;
  consumerGroup: string | null;
  sourceTopic: string;
  /** Where it was read from in the source topic (`partition:offset`); null when not recorded. */
  sourceAt: string | null;
  /**
   * Parked without retries because it could never be handled (not a CloudEvent, data its
   * contract refuses): x-dead-letter-reason `poison`, or — written before that header — 0 attempts.
   */
  poison: boolean;
  /** True when the redriver's committed offset is past it. */
  redriven: boolean;
}

export interface DlqTopicListing {
  dlqTopic: string;
  /** Messages in the topic (high − low watermark, summed over partitions). */
  count: number;
  /** Of those, not yet redriven. */
  pending: number;
  messages: DlqMessage[];
}

export function kafkaOf(options: DlqOptions): Kafka {
  const env = options.env ?? process.env;
  const brokers = options.brokers ?? (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
  return new Kafka({
    clientId: 'shopctl',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 200 },
  });
}

/** `order.events` or `order.events.dlq` → the DLQ topic. */
export function normalizeDlqTopic(topic: string): string {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new UsageError(`'${topic}' is not a Kafka topic name`);
  return topic.endsWith('.dlq') ? topic : dlqTopicOf(topic);
}

function header(headers: IHeaders | undefined, name: string): string | null {
  const raw = headers?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined ? null : value.toString();
}

/** The summary of one DLQ message (pure: tested over crafted messages). */
export function describeDlqMessage(
  dlqTopic: string,
  partition: number,
  message: Pick<KafkaMessage, 'key' | 'headers' | 'offset' | 'timestamp'>,
  redrivenBelow: number,
): DlqMessage {
  const attempts = header(message.headers, H.attempts);
  const reason = header(message.headers, H.reason);
  const sourcePartition = header(message.headers, H.partition);
  const sourceOffset = header(message.headers, H.offset);
  return {
    dlqTopic,
    partition,
    offset: message.offset,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: message.key?.toString() ?? null,
    eventId: header(message.headers, 'ce_id'),
    type: header(message.headers, 'ce_type'),
    reason: header(message.headers, H.error),
    attempts: attempts === null ? null : Number(attempts),
    consumerGroup: header(message.headers, H.group),
    sourceTopic: header(message.headers, H.topic) ?? dlqTopic.replace(/\.dlq$/, ''),
    sourceAt: sourcePartition !== null && sourceOffset !== null ? `${sourcePartition}:${sourceOffset}` : null,
    poison: reason === null ? attempts === '0' : reason === 'poison',
    redriven: Number(message.offset) < redrivenBelow,
  };
}

/** Per partition: [low, high) of the topic, and the redriver's committed offset (low when none). */
async function partitionsOf(admin: Admin, topic: string) {
  const [offsets, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: REDRIVE_GROUP, topics: [topic] }),
  ]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)] as const));
  return offsets.map((p) => {
    const low = Number(p.low);
    const high = Number(p.high);
    const redriven = done.get(p.partition) ?? -1;
    return { partition: p.partition, low, high, redrivenBelow: redriven < 0 ? low : Math.max(low, redriven) };
  });
}

/** Gives up reading when nothing arrives for this long (a gap at the end of a partition). */
const IDLE_MS = 10_000;

/**
 * Reads `topic` with consumer group `groupId` from its start (or the group's committed offsets)
 * up to the offsets in `stopAt` (high watermarks seen before; list only partitions with
 * something to read), calling `handle` in order per partition; stops early when `handle`
 * answers false. `commit` commits the group's offset past a message.
 */
async function readUpTo(
  kafka: Kafka,
  topic: string,
  groupId: string,
  stopAt: Map<number, number>,
  handle: (partition: number, message: KafkaMessage, commit: () => Promise<void>) => Promise<boolean>,
): Promise<void> {
  const remaining = new Set(stopAt.keys());
  if (remaining.size === 0) return;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let idle = setTimeout(() => finish(), IDLE_MS + 20_000); // joining the group takes a few seconds
  let stopped = false;
  consumer.on(consumer.events.CRASH, () => finish());
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(), IDLE_MS);
        if (stopped || !remaining.has(partition)) return;
        const high = stopAt.get(partition) ?? 0;
        const commit = () => consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        if (Number(message.offset) < high && !(await handle(partition, message, commit))) {
          stopped = true;
          finish();
          return;
        }
        if (Number(message.offset) + 1 >= high) {
          remaining.delete(partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    await finished;
  } finally {
    clearTimeout(idle);
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Every DLQ topic (`*.dlq`) or the one given, with its messages summarized. */
export async function listDlq(options: DlqOptions & { topic?: string } = {}): Promise<DlqTopicListing[]> {
  const kafka = kafkaOf(options);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    const topics = options.topic
      ? [normalizeDlqTopic(options.topic)]
      : existing.filter((t) => t.endsWith('.dlq')).sort();
    const listings: DlqTopicListing[] = [];
    for (const dlqTopic of topics) {
      if (!existing.includes(dlqTopic)) {
        listings.push({ dlqTopic, count: 0, pending: 0, messages: [] });
        continue;
      }
      const partitions = await partitionsOf(admin, dlqTopic);
      const messages: DlqMessage[] = [];
      const groupId = `shopctl-dlq-list-${randomUUID()}`;
      const below = new Map(partitions.map((p) => [p.partition, p.redrivenBelow]));
      const stopAt = new Map(partitions.filter((p) => p.high > p.low).map((p) => [p.partition, p.high]));
      await readUpTo(kafka, dlqTopic, groupId, stopAt, async (partition, m) => {
        messages.push(describeDlqMessage(dlqTopic, partition, m, below.get(partition) ?? 0));
        return true;
      });
      await admin.deleteGroups([groupId]).catch(() => undefined);
      listings.push({
        dlqTopic,
        count: partitions.reduce((sum, p) => sum + (p.high - p.low), 0),
        pending: partitions.reduce((sum, p) => sum + Math.max(0, p.high - p.redrivenBelow), 0),
        messages,
      });
    }
    return listings;
  } finally {
    await admin.disconnect();
  }
}

export interface RedriveResult {
  dlqTopic: string;
  /** Messages copied back, each to its source topic. */
  redriven: { partition: number; offset: string; sourceTopic: string; eventId: string | null }[];
  /** Passed over, marked handled: poison messages (without includePoison) and second copies. */
  skipped: { poison: number; copies: number };
  /** Not yet redriven messages left (because of --max). */
  remaining: number;
}

/** What a redrive does with one DLQ message: copy it back, or pass over it (and why). */
export function redriveDecision(
  message: Pick<DlqMessage, 'poison' | 'sourceTopic' | 'sourceAt'>,
  copied: Set<string>,
  includePoison: boolean,
): 'copy' | 'poison' | 'copy-already-redriven' {
  if (message.poison && !includePoison) return 'poison';
  if (message.sourceAt === null) return 'copy';
  const origin = `${message.sourceTopic}/${message.sourceAt}`;
  if (copied.has(origin)) return 'copy-already-redriven';
  copied.add(origin);
  return 'copy';
}

/**
 * Copies the DLQ's not-yet-redriven messages (at most `max`) back to their source topic —
 * x-original-topic, else the DLQ name without `.dlq` — keeping key, value and headers and adding
 * x-redriven-at; commits the redriver's offset past each one after its copy is acknowledged.
 * Poison messages (unless `includePoison`) and further copies of a source message this redrive
 * already copied back are passed over: the offset moves past them, nothing is copied.
 */
export async function redriveDlq(
  options: DlqOptions & { topic: string; max?: number; includePoison?: boolean; now?: () => Date },
): Promise<RedriveResult> {
  const dlqTopic = normalizeDlqTopic(options.topic);
  const kafka = kafkaOf(options);
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const skipped = { poison: 0, copies: 0 };
  try {
    if (!(await admin.listTopics()).includes(dlqTopic)) return { dlqTopic, redriven: [], skipped, remaining: 0 };
    const partitions = await partitionsOf(admin, dlqTopic);
    const pendingTotal = partitions.reduce((sum, p) => sum + Math.max(0, p.high - p.redrivenBelow), 0);
    const max = options.max ?? Number.POSITIVE_INFINITY;
    const redriven: RedriveResult['redriven'] = [];
    if (pendingTotal === 0 || max <= 0) return { dlqTopic, redriven, skipped, remaining: pendingTotal };
    await producer.connect();
    const stopAt = new Map(partitions.filter((p) => p.high > p.redrivenBelow).map((p) => [p.partition, p.high]));
    const below = new Map(partitions.map((p) => [p.partition, p.redrivenBelow]));
    const copied = new Set<string>();
    await readUpTo(kafka, dlqTopic, REDRIVE_GROUP, stopAt, async (partition, m, commit) => {
      if (Number(m.offset) < (below.get(partition) ?? 0)) return true; // redriven before (a reset group)
      if (redriven.length + skipped.poison + skipped.copies >= max) return false;
      const described = describeDlqMessage(dlqTopic, partition, m, 0);
      const decision = redriveDecision(described, copied, options.includePoison ?? false);
      if (decision === 'copy') {
        await producer.send({
          topic: described.sourceTopic,
          acks: -1,
          messages: [
            {
              key: m.key,
              value: m.value,
              headers: { ...m.headers, [REDRIVEN_HEADER]: (options.now?.() ?? new Date()).toISOString() },
            },
          ],
        });
        redriven.push({ partition, offset: m.offset, sourceTopic: described.sourceTopic, eventId: described.eventId });
      } else if (decision === 'poison') {
        skipped.poison++;
      } else {
        skipped.copies++;
      }
      await commit();
      return true;
    });
    return { dlqTopic, redriven, skipped, remaining: pendingTotal - redriven.length - skipped.poison - skipped.copies };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Marks the DLQ's not-yet-redriven messages (at most `max`, oldest first per partition) as
 * handled without copying them: for messages that can never succeed (not a CloudEvent, a
 * contract the consumer will always refuse). Moves the redriver group's offsets; resolves
 * how many were discarded. Run it while no redrive of the same topic runs.
 */
export async function discardDlq(options: DlqOptions & { topic: string; max?: number }): Promise<number> {
  const dlqTopic = normalizeDlqTopic(options.topic);
  const kafka = kafkaOf(options);
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(dlqTopic)) return 0;
    let budget = options.max ?? Number.POSITIVE_INFINITY;
    const moves: { partition: number; offset: string }[] = [];
    let discarded = 0;
    for (const p of await partitionsOf(admin, dlqTopic)) {
      const n = Math.min(Math.max(0, p.high - p.redrivenBelow), budget);
      if (n === 0) continue;
      moves.push({ partition: p.partition, offset: String(p.redrivenBelow + n) });
      budget -= n;
      discarded += n;
    }
    if (moves.length > 0) await admin.setOffsets({ groupId: REDRIVE_GROUP, topic: dlqTopic, partitions: moves });
    return discarded;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Appends raw messages to a topic, as they are (no CloudEvents envelope): how an exercise or a
 * test puts a malformed message in front of the consumers.
 */
export async function sendRaw(
  options: DlqOptions & {
    topic: string;
    messages: { key?: string; value: string | null; headers?: Record<string, string> }[];
  },
): Promise<void> {
  const producer = kafkaOf(options).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic: options.topic, acks: -1, messages: options.messages });
  } finally {
    await producer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// The command

export const DLQ_USAGE = `usage: shopctl dlq list [topic] [--all] [--json]
       shopctl dlq redrive <topic> [--max N] [--include-poison]
       shopctl dlq discard <topic> [--max N]
  topic    a source topic (order.events) or its DLQ (order.events.dlq); list: every *.dlq
  list     per DLQ: how many messages, how many not yet redriven, and each message's event id,
           type, consumer group, attempts and reason (--all also lists the handled ones —
           redriven or discarded — and empty topics)
  redrive  copies the messages not yet redriven back to their source topic (key, value and
           headers kept, ${REDRIVEN_HEADER} added) and commits the offset of the consumer group
           ${REDRIVE_GROUP} past each: a message is redriven once. --max N: at most N.
           Passed over (marked handled, not copied): poison messages, which could never be
           handled and would only be parked again by every group (--include-poison copies
           them too, e.g. after a fix that makes their data acceptable), and further copies of
           a source message already copied back (each group parks its own copy; one copy back
           reaches every group).
  discard  marks messages not yet redriven as handled without copying them (for messages that
           can never succeed, e.g. not a CloudEvent): moves that group's offsets past them.
Brokers: $KAFKA_BROKERS, else 127.0.0.1:9092.
Exit status: 0 done, 1 Kafka failed, 2 bad input.`;

function clip(text: string | null, width: number): string {
  if (text === null) return '-';
  const line = text.replace(/\s+/g, ' ');
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** The listing as text: a header line per DLQ topic, one row per message. */
export function formatDlqListing(listings: DlqTopicListing[], all: boolean): string {
  if (listings.length === 0) return 'no dead-letter topics (*.dlq)\n';
  const out: string[] = [];
  const empty = listings.filter((l) => l.count === 0);
  for (const l of all || listings.length === 1 ? listings : listings.filter((l) => l.count > 0)) {
    out.push(`${l.dlqTopic}: ${l.count} message(s), ${l.pending} not yet redriven`);
    const shown = l.messages.filter((m) => all || !m.redriven);
    if (shown.length > 0) {
      out.push(
        formatTable([
          ['PARTITION:OFFSET', 'EVENT ID', 'TYPE', 'GROUP', 'ATTEMPTS', ...(all ? ['HANDLED'] : []), 'REASON'],
          ...shown.map((m) => [
            `${m.partition}:${m.offset}`,
            m.eventId ?? '(not a CloudEvent)',
            m.type ?? '-',
            m.consumerGroup ?? '-',
            m.attempts === null ? '-' : String(m.attempts),
            ...(all ? [m.redriven ? 'yes' : 'no'] : []),
            clip(m.reason, 80),
          ]),
        ])
          .split('\n')
          .map((line) => `  ${line}`)
          .join('\n'),
      );
    }
  }
  if (!all && listings.length > 1 && empty.length > 0) {
    out.push(`(${empty.length} empty dead-letter topic(s) not shown; --all lists them)`);
  }
  return `${out.join('\n')}\n`;
}

/** `shopctl dlq …`; returns the exit status. */
export async function dlqCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'list') {
      const { positional, flags } = parseOptions(rest, { flags: ['json', 'all'] });
      if (positional.length > 1) throw new UsageError('dlq list takes at most one topic');
      const topic = positional[0] === undefined ? undefined : normalizeDlqTopic(positional[0]);
      const listings = await listDlq({ env: io.env, ...(topic ? { topic } : {}) });
      io.out(
        flags.has('json') ? `${JSON.stringify(listings, null, 2)}\n` : formatDlqListing(listings, flags.has('all')),
      );
      return 0;
    }
    if (sub === 'redrive' || sub === 'discard') {
      const { positional, values, flags } = parseOptions(rest, {
        valued: ['max'],
        flags: sub === 'redrive' ? ['include-poison'] : [],
      });
      if (positional.length !== 1) throw new UsageError(`dlq ${sub} takes one topic`);
      const topic = normalizeDlqTopic(positional[0] as string);
      let max: number | undefined;
      if (values.max !== undefined) {
        max = Number(values.max);
        if (!Number.isInteger(max) || max < 1) throw new UsageError(`--max '${values.max}' must be a whole number ≥ 1`);
      }
      if (sub === 'discard') {
        const discarded = await discardDlq({ env: io.env, topic, ...(max !== undefined ? { max } : {}) });
        io.out(`${topic}: discarded ${discarded} message(s) (they stay in the topic, marked handled)\n`);
        return 0;
      }
      const result = await redriveDlq({
        env: io.env,
        topic,
        includePoison: flags.has('include-poison'),
        ...(max !== undefined ? { max } : {}),
      });
      for (const r of result.redriven) {
        io.out(
          `redriven ${topic} ${r.partition}:${r.offset} → ${r.sourceTopic}${r.eventId ? ` (event ${r.eventId})` : ''}\n`,
        );
      }
      const passed = [
        ...(result.skipped.poison > 0
          ? [`${result.skipped.poison} poison message(s) (they could never be handled; --include-poison copies them)`]
          : []),
        ...(result.skipped.copies > 0
          ? [`${result.skipped.copies} further copy(ies) of a message already copied back`]
          : []),
      ];
      io.out(
        `${topic}: redrove ${result.redriven.length} message(s)${passed.length > 0 ? `, passed over ${passed.join(' and ')}` : ''}, ${result.remaining} left\n`,
      );
      return 0;
    }
    if (sub === undefined || sub === 'help' || sub === '--help') {
      io.out(`${DLQ_USAGE}\n`);
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown subcommand '${sub}' (list, redrive, discard)`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shopctl dlq: ${err.message}\n\n${DLQ_USAGE}\n`);
      return 2;
    }
    io.err(`shopctl dlq ${sub}: ${messageOf(err)}\n`);
    return 1;
  }
}
