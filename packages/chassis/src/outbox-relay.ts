// The outbox relay: publishes outbox rows to Kafka in id order and marks them published, one
// active relay per schema (the ordering rules are in outbox.ts). It finds the rows one of two
// ways (its relay mode): `poll` claims unpublished rows from the table, woken by NOTIFY with a
// polling fallback; `wal` tails the database's write-ahead log (outbox-wal.ts, ADR 0035).
import { type Context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Message } from 'kafkajs';
import pg from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { backoffDelayMs, sleep } from './backoff';
import type { FaultInjector } from './chaos';
import { errorText } from './errors';
import { extractTraceContext, traceHeaders } from './events';
import type { Logger } from './logging';
import { getOrCreate } from './metrics';
import { OUTBOX_CHANNEL } from './outbox-table';
import { dropWalSlot, ensureWalSlot, type WalNames, WalTail, walNamesOf, walSlotState } from './outbox-wal';
import type { EventProducer } from './producer';
import { publishSwitch } from './publish-switch';
import { RELAY_MODES, type RelayMode, type RelayStatus, relaySwitch } from './relay-switch';
import { pgTransactionRunner } from './sql';

/** The outbox metrics, registered once per registry. */
export interface OutboxMetrics {
  backlog: Gauge;
  publishLag: Histogram<'topic'>;
  published: Counter<'topic'>;
  failures: Counter;
  /** Events sent by the dual write (`direct` mode): published, or lost. */
  direct: Counter<'topic' | 'outcome'>;
  /** 1 for the relay mode in force (`poll` or `wal`), 0 for the other. */
  relayMode: Gauge<'mode'>;
}

/** The relay's metrics; the backlog gauge counts unpublished rows at scrape time with `countBacklog`. */
export function outboxMetrics(registry: Registry, countBacklog: () => Promise<number>): OutboxMetrics {
  const registers = [registry];
  return {
    backlog: getOrCreate(
      registry,
      'shop_outbox_backlog',
      () =>
        new Gauge({
          name: 'shop_outbox_backlog',
          help: 'Outbox rows not yet published',
          registers,
          async collect() {
            try {
              this.set(await countBacklog());
            } catch {
              // The database is unreachable: keep the last value rather than fail the scrape.
            }
          },
        }),
    ),
    publishLag: getOrCreate(
      registry,
      'shop_outbox_publish_lag_seconds',
      () =>
        new Histogram({
          name: 'shop_outbox_publish_lag_seconds',
          help: 'Time from writing an outbox row to publishing it',
          labelNames: ['topic'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
          registers,
        }),
    ),
    published: getOrCreate(
      registry,
      'shop_outbox_published_total',
      () =>
        new Counter({
          name: 'shop_outbox_published_total',
          help: 'Outbox rows published to Kafka',
          labelNames: ['topic'],
          registers,
        }),
    ),
    failures: getOrCreate(
      registry,
      'shop_outbox_publish_failures_total',
      () =>
        new Counter({
          name: 'shop_outbox_publish_failures_total',
          help: 'Relay cycles that failed (Kafka, database or an injected fault) and backed off',
          registers,
        }),
    ),
    direct: getOrCreate(
      registry,
      'shop_outbox_direct_publish_total',
      () =>
        new Counter({
          name: 'shop_outbox_direct_publish_total',
          help: "Events sent by the dual write (publish mode `direct`, the exercises' before switch), by outcome: published or lost",
          labelNames: ['topic', 'outcome'],
          registers,
        }),
    ),
    relayMode: getOrCreate(
      registry,
      'shop_outbox_relay_mode',
      () =>
        new Gauge({
          name: 'shop_outbox_relay_mode',
          help: 'How the outbox relay finds rows: 1 for the mode in force (poll: the table, wal: the write-ahead log)',
          labelNames: ['mode'],
          registers,
        }),
    ),
  };
}

export interface OutboxRelayOptions {
  /** The service's pool; one connection per cycle, plus a dedicated LISTEN connection. */
  pool: pg.Pool;
  producer: Pick<EventProducer, 'send'>;
  logger: Logger;
  metrics?: { registry: Registry };
  /** `relay` faults apply once per cycle (target `outbox`). */
  chaos?: Pick<FaultInjector, 'apply'>;
  /** Polling fallback when no NOTIFY arrives (default 1000 ms). */
  pollIntervalMs?: number;
  /** Rows claimed per cycle (default 100). */
  batchSize?: number;
  /** Backoff after a failed cycle (default 200 ms doubling to 10 s, with jitter); retries never stop. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** One active relay per schema via an advisory lock (default true). See the file comment. */
  singleActive?: boolean;
  /**
   * Attach the producer to the process-wide publishSwitch so `/admin/outbox/mode` can switch
   * the service to direct publishing (default false; services turn it on, tests leave it off).
   */
  attachPublishSwitch?: boolean;
  /** The LISTEN connection (default: a pg.Client with the pool's settings). */
  listenClient?: () => pg.Client;
  /**
   * How rows are found (default `poll`): `poll` claims them from the table; `wal` tails the
   * write-ahead log through a replication slot (outbox-wal.ts). setMode() switches at runtime.
   */
  relayMode?: RelayMode;
}

/** What one relay cycle did. */
export interface RelayCycleResult {
  claimed: number;
  published: number;
  /** Another relay holds the lock; this one did nothing. */
  standby: boolean;
}

/** A cycle that claimed rows but could not publish them all; the unpublished rows stay for the next cycle. */
export class OutboxPublishError extends Error {
  override readonly name = 'OutboxPublishError';
}

interface OutboxRow {
  id: string;
  event_id: string;
  topic: string;
  aggregate_id: string;
  payload: unknown;
  headers: Record<string, string>;
  created_at: Date;
}

const CLAIM_SQL = `
SELECT id, event_id, topic, aggregate_id, payload, headers, created_at
  FROM outbox
 WHERE published_at IS NULL
 ORDER BY id
 LIMIT $1
   FOR UPDATE SKIP LOCKED`;

// Per schema, so each service (and each test's scratch schema) has its own active relay.
const LOCK_SQL = `SELECT pg_try_advisory_xact_lock(hashtext('shoplab.outbox-relay:' || current_schema())) AS locked`;

// The rows of one committed transaction the WAL named, still unpublished (a drain, a replayed
// slot or another relay may have published some already), locked while they are sent.
const CLAIM_IDS_SQL = `
SELECT id, event_id, topic, aggregate_id, payload, headers, created_at
  FROM outbox
 WHERE id = ANY($1::bigint[]) AND published_at IS NULL
 ORDER BY id
   FOR UPDATE`;

const tracer = trace.getTracer('@shoplab/chassis/outbox');

/** Publishes outbox rows to Kafka in id order; woken by NOTIFY, with a polling fallback. */
export class OutboxRelay {
  private readonly log: Logger;
  private readonly metrics: OutboxMetrics;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private abort = new AbortController();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private listenDone: Promise<void> = Promise.resolve();
  private listener: pg.Client | undefined;
  private wakePending = false;
  private wakeWaiter: (() => void) | undefined;
  private currentMode: RelayMode;
  private wal: WalTail | undefined;
  private walNames: WalNames | undefined;
  private switching: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: OutboxRelayOptions) {
    this.log = options.logger.child({ component: 'outbox-relay' });
    this.metrics = outboxMetrics(options.metrics?.registry ?? new Registry(), () => this.backlog());
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 100;
    this.backoff = { initialMs: options.backoff?.initialMs ?? 200, maxMs: options.backoff?.maxMs ?? 10_000 };
    this.currentMode = options.relayMode ?? 'poll';
    this.recordMode();
    if (options.attachPublishSwitch) {
      publishSwitch.attach({ producer: options.producer, logger: this.log, outcomes: this.metrics.direct });
      relaySwitch.attach(this);
    }
  }

  /** How the relay finds rows now. */
  get mode(): RelayMode {
    return this.currentMode;
  }

  /** True while the WAL relay's replication stream is open. */
  get tailing(): boolean {
    return this.wal?.active ?? false;
  }

  /**
   * Switches how rows are found, without losing or doubling one. To `wal`: the slot is
   * created first (every later commit is decoded), the polling loop stops, one ordinary cycle
   * at a time drains what was committed before, then the stream starts. To `poll`: the stream
   * stops, the slot is dropped (an unread slot keeps WAL forever), the polling loop starts;
   * rows the stream had not published are still unpublished in the table. Not running: only
   * the mode changes (start() applies it).
   */
  async setMode(mode: RelayMode): Promise<RelayMode> {
    const next = this.switching.then(() => this.applyMode(mode));
    this.switching = next.catch(() => undefined);
    return next;
  }

  private async applyMode(mode: RelayMode): Promise<RelayMode> {
    if (mode === this.currentMode) return mode;
    this.log.warn({ from: this.currentMode, to: mode }, 'outbox relay mode switched');
    if (!this.running) {
      this.currentMode = mode;
      this.recordMode();
      return mode;
    }
    if (mode === 'wal') {
      await ensureWalSlot(this.options.pool, await this.names());
      await this.stopLoops();
      this.currentMode = mode;
      this.recordMode();
      this.abort = new AbortController();
      this.startWal();
    } else {
      await this.stopLoops();
      this.currentMode = mode;
      this.recordMode();
      await dropWalSlot(this.options.pool, await this.names());
      this.abort = new AbortController();
      this.startPolling();
    }
    return mode;
  }

  /** The mode, whether the stream is open, and the slot (`pg_replication_slots`), if there is one. */
  async status(): Promise<RelayStatus> {
    const slot = await walSlotState(this.options.pool, await this.names());
    return {
      mode: this.currentMode,
      tailing: this.tailing,
      slot: slot
        ? {
            name: slot.slot,
            active: slot.active,
            confirmedFlushLsn: slot.confirmedFlushLsn,
            currentLsn: slot.currentLsn,
            retainedBytes: slot.retainedBytes,
          }
        : null,
    };
  }

  private recordMode(): void {
    for (const mode of RELAY_MODES) this.metrics.relayMode.set({ mode }, mode === this.currentMode ? 1 : 0);
  }

  private async names(): Promise<WalNames> {
    this.walNames ??= await walNamesOf(this.options.pool);
    return this.walNames;
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.listener !== undefined;
  }

  /** Starts listening and publishing (or tailing the WAL) in the background; returns at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    if (this.currentMode === 'wal') this.startWal();
    else {
      this.startPolling();
      // A slot left by a wal-mode run that ended (a kill, a restart in poll mode) would keep WAL forever.
      this.switching = this.switching
        .then(async () => {
          if (await dropWalSlot(this.options.pool, await this.names())) {
            this.log.warn({ slot: this.walNames?.slot }, 'dropped the WAL slot a wal-mode relay left');
          }
        })
        .catch((err) => this.log.warn({ err }, 'could not check for a leftover WAL slot'));
    }
    this.log.info(
      { mode: this.currentMode, pollIntervalMs: this.pollIntervalMs, batchSize: this.batchSize },
      'outbox relay started',
    );
  }

  /** Stops: the in-flight cycle finishes (or rolls back), then the LISTEN or replication connection closes. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.switching;
    await this.stopLoops();
    this.running = false;
    this.log.info('outbox relay stopped');
  }

  private startPolling(): void {
    this.listenDone = this.listenLoop();
    this.loopDone = this.cycleLoop();
  }

  /** The WAL relay: slot, then a drain of what was committed before it, then the stream. */
  private startWal(): void {
    this.loopDone = (async () => {
      let failures = 0;
      while (!this.abort.signal.aborted) {
        try {
          const names = await this.names();
          await ensureWalSlot(this.options.pool, names);
          // Rows committed before the slot existed (or left by the polling relay) are not in its stream.
          const drain = async () => {
            while (!this.abort.signal.aborted) {
              const cycle = await this.runOnce();
              if (cycle.standby) throw new Error('another relay holds the outbox lock');
              if (cycle.claimed < this.batchSize) break;
            }
          };
          await drain();
          if (this.abort.signal.aborted) return;
          this.wal = new WalTail({
            connection: this.connectionSettings(),
            names,
            logger: this.log,
            publish: async (ids) => {
              await this.publishIds(ids);
            },
            beforeResume: drain,
            backoff: this.backoff,
          });
          this.wal.start();
          return;
        } catch (err) {
          failures++;
          this.metrics.failures.inc();
          const delay = backoffDelayMs(failures, this.backoff);
          this.log.warn({ err, failures, retryInMs: delay }, 'outbox WAL relay could not start; retrying');
          await sleep(delay, this.abort.signal);
        }
      }
    })();
    this.listenDone = Promise.resolve();
  }

  private async stopLoops(): Promise<void> {
    this.abort.abort();
    await this.listener?.end().catch(() => undefined);
    await Promise.all([this.loopDone, this.listenDone]);
    await this.wal?.stop();
    this.wal = undefined;
  }

  /**
   * Publishes the rows of one committed transaction the WAL named, in id order, and marks them —
   * the same claim, send and mark as a polling cycle, under the same advisory lock. Throws if a
   * row is left unpublished (the WAL relay then replays from its slot).
   */
  async publishIds(ids: readonly string[]): Promise<RelayCycleResult> {
    try {
      if (this.options.chaos && (await this.applyChaos(this.options.chaos)) === 'stopped') {
        throw new Error('the relay is stopping');
      }
      return await this.claimAndPublish((client) => client.query<OutboxRow>(CLAIM_IDS_SQL, [ids]), true);
    } catch (err) {
      this.metrics.failures.inc();
      throw err;
    }
  }

  /** Runs the next cycle now instead of at the next poll. */
  wake(): void {
    if (this.wakeWaiter) this.wakeWaiter();
    else this.wakePending = true;
  }

  /** Unpublished rows. */
  async backlog(): Promise<number> {
    const { rows } = await this.options.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL',
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * One cycle: claim up to batchSize rows in id order (FOR UPDATE SKIP LOCKED), publish them in
   * that order stopping at the first failure, mark the published ones, commit. Throws
   * OutboxPublishError (after committing what was published) when a publish failed.
   */
  async runOnce(): Promise<RelayCycleResult> {
    if (this.options.chaos && (await this.applyChaos(this.options.chaos)) === 'stopped') {
      return { claimed: 0, published: 0, standby: false };
    }
    return this.claimAndPublish((client) => client.query<OutboxRow>(CLAIM_SQL, [this.batchSize]), false);
  }

  /** Claims rows with `claim` under the advisory lock, publishes them in order, marks them, commits. */
  private async claimAndPublish(
    claim: (client: pg.PoolClient) => Promise<{ rows: OutboxRow[] }>,
    lockRequired: boolean,
  ): Promise<RelayCycleResult> {
    let failure: unknown;
    const result = await pgTransactionRunner(this.options.pool)(async (client): Promise<RelayCycleResult> => {
      if ((this.options.singleActive ?? true) && !(await this.tryLock(client))) {
        if (lockRequired) throw new Error('another relay holds the outbox lock');
        return { claimed: 0, published: 0, standby: true };
      }
      const { rows } = await claim(client);
      const { publishedIds, failedIds, error } = await this.publishInOrder(rows);
      failure = error;
      if (publishedIds.length > 0) {
        const marked = await client.query<{ topic: string; lag_seconds: number }>(
          `UPDATE outbox SET published_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL
            WHERE id = ANY($1::bigint[])
        RETURNING topic, EXTRACT(EPOCH FROM published_at - created_at)::float8 AS lag_seconds`,
          [publishedIds],
        );
        for (const row of marked.rows) {
          this.metrics.published.inc({ topic: row.topic });
          this.metrics.publishLag.observe({ topic: row.topic }, row.lag_seconds);
        }
      }
      if (failedIds.length > 0) {
        await client.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [
          failedIds,
          errorText(error),
        ]);
      }
      return { claimed: rows.length, published: publishedIds.length, standby: false };
    });
    if (failure !== undefined) {
      throw new OutboxPublishError(
        `published ${result.published} of ${result.claimed} claimed rows: ${errorText(failure)}`,
        { cause: failure },
      );
    }
    return result;
  }

  /** Applies `relay` faults; a `hang` must not hold up stop(). */
  private async applyChaos(chaos: Pick<FaultInjector, 'apply'>): Promise<'applied' | 'stopped'> {
    const { signal } = this.abort;
    let onAbort: () => void = () => undefined;
    const stopped = new Promise<'stopped'>((resolve) => {
      onAbort = () => resolve('stopped');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([chaos.apply('relay', 'outbox').then(() => 'applied' as const), stopped]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async tryLock(client: pg.PoolClient): Promise<boolean> {
    const { rows } = await client.query<{ locked: boolean }>(LOCK_SQL);
    return rows[0]?.locked === true;
  }

  /**
   * Sends the rows in id order, in runs that share a topic and a trace context (one request per
   * run, sent inside that trace so the publish span joins the request that wrote the rows).
   * Stops at the first failed run: nothing after it may overtake it.
   */
  private async publishInOrder(
    rows: readonly OutboxRow[],
  ): Promise<{ publishedIds: string[]; failedIds: string[]; error: unknown }> {
    const publishedIds: string[] = [];
    for (const run of runsOf(rows)) {
      const [first] = run as [OutboxRow];
      const ids = run.map((row) => row.id);
      try {
        await this.publishRun(first.topic, run, extractTraceContext(first.headers));
        publishedIds.push(...ids);
      } catch (error) {
        return { publishedIds, failedIds: ids, error };
      }
    }
    return { publishedIds, failedIds: [], error: undefined };
  }

  private publishRun(topic: string, run: readonly OutboxRow[], parent: Context): Promise<void> {
    return tracer.startActiveSpan(
      `publish ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
          'messaging.batch.message_count': run.length,
        },
      },
      parent,
      async (span: Span) => {
        try {
          // The publish span (or, with no SDK, the original context) becomes the consumer's parent.
          const trace = traceHeaders();
          const messages: Message[] = run.map((row) => ({
            key: row.aggregate_id,
            value: JSON.stringify(row.payload),
            headers: { ...row.headers, ...trace },
            timestamp: String(Date.parse(row.headers.ce_time ?? '') || row.created_at.getTime()),
          }));
          await this.options.producer.send([{ topic, messages }]);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  }

  private async cycleLoop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      this.wakePending = false;
      let result: RelayCycleResult;
      try {
        result = await this.runOnce();
      } catch (err) {
        failures++;
        this.metrics.failures.inc();
        const delay = backoffDelayMs(failures, this.backoff);
        this.log.warn({ err, failures, retryInMs: delay }, 'outbox relay cycle failed; rows stay and will be retried');
        await this.idle(delay, false);
        continue;
      }
      if (failures > 0) this.log.info({ failures }, 'outbox relay recovered');
      failures = 0;
      // A full batch means more rows are probably waiting: go again at once.
      if (!result.standby && result.claimed === this.batchSize) continue;
      await this.idle(this.pollIntervalMs, true);
    }
  }

  /** Waits `ms`; a wakeable wait also ends on NOTIFY (or a wake that came during the cycle). Stop ends both. */
  private async idle(ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && this.wakePending) {
      this.wakePending = false;
      return;
    }
    if (!wakeable) return sleep(ms, this.abort.signal);
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', finish);
        if (this.wakeWaiter === finish) this.wakeWaiter = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.abort.signal.addEventListener('abort', finish, { once: true });
      this.wakeWaiter = finish;
    });
  }

  /** The pool's connection settings, for the relay's own connections. */
  private connectionSettings(): pg.ClientConfig {
    const { Client: _client, ...settings } = this.options.pool.options as pg.PoolConfig;
    // pg.Pool keeps the password non-enumerable (out of logs), so the spread misses it.
    const { password } = this.options.pool.options as pg.PoolConfig;
    return { ...settings, password } as pg.ClientConfig;
  }

  private createListenClient(): pg.Client {
    if (this.options.listenClient) return this.options.listenClient();
    return new pg.Client({ ...this.connectionSettings(), application_name: 'shoplab-outbox-relay' });
  }

  /** Keeps one LISTEN connection open, reconnecting with backoff when it drops. */
  private async listenLoop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const client = this.createListenClient();
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.on('error', (err) => this.log.warn({ err }, 'outbox LISTEN connection error'));
      client.on('notification', () => this.wake());
      try {
        await client.connect();
        await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
        if (this.abort.signal.aborted) {
          await client.end();
          break;
        }
        this.listener = client;
        if (failures > 0) this.log.info('outbox LISTEN connection restored');
        failures = 0;
        // Rows committed while nobody was listening sent their NOTIFY into the void.
        this.wake();
        await ended;
      } catch (err) {
        this.log.warn({ err }, 'outbox LISTEN connection failed; polling until it is back');
        await client.end().catch(() => undefined);
      } finally {
        this.listener = undefined;
      }
      if (this.abort.signal.aborted) break;
      failures++;
      await sleep(backoffDelayMs(failures, this.backoff), this.abort.signal);
    }
  }
}

/** Consecutive rows with the same topic and trace context. */
function runsOf(rows: readonly OutboxRow[]): OutboxRow[][] {
  const runs: OutboxRow[][] = [];
  let current: OutboxRow[] = [];
  const keyOf = (row: OutboxRow) => `${row.topic}\n${row.headers.traceparent ?? ''}\n${row.headers.tracestate ?? ''}`;
  for (const row of rows) {
    const head = current[0];
    if (head && keyOf(head) !== keyOf(row)) {
      runs.push(current);
      current = [];
    }
    current.push(row);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}
