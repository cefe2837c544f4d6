// The outbox relay's second way of finding rows to publish: tailing PostgreSQL's write-ahead
// log through logical replication (docs/patterns/write-ahead-log.md, ADR 0035) instead of
// polling the table. This file holds the replication side — the publication, the slot, the
// stream — and hands each committed transaction's outbox ids to the relay (outbox-relay.ts),
// which publishes and marks them exactly as a polling cycle does.
//
// Per service and schema: a publication `FOR TABLE outbox WITH (publish = 'insert')` and a
// logical replication slot (plugin pgoutput). The server sends only committed transactions,
// in commit order; the slot remembers the last position the relay confirmed and keeps the WAL
// from there. The relay confirms a transaction's end position only after Kafka acknowledged
// its rows and they were marked published, so a crash, a stop or a Kafka outage resumes from
// the slot and loses nothing (a row published but not yet confirmed is skipped: it is marked).
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { backoffDelayMs, sleep } from './backoff';
import type { Logger } from './logging';

/** The publication and the slot of one schema's outbox. */
export interface WalNames {
  database: string;
  schema: string;
  publication: string;
  slot: string;
}

/** A quoted SQL identifier. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Slot and publication names: lower-case letters, digits and `_`, at most 63 characters. */
export function walNames(database: string, schema: string): WalNames {
  const safe = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const fit = (name: string) =>
    name.length <= 63 ? name : `${name.slice(0, 50)}_${createHash('sha1').update(name).digest('hex').slice(0, 12)}`;
  return {
    database,
    schema,
    publication: fit(`shoplab_outbox_${safe(schema)}`),
    slot: fit(`shoplab_outbox_${safe(database)}_${safe(schema)}`),
  };
}

/** The names for the pool's database and schema (its search_path). */
export async function walNamesOf(pool: pg.Pool): Promise<WalNames> {
  const { rows } = await pool.query<{ db: string; schema: string }>(
    'SELECT current_database() AS db, current_schema() AS schema',
  );
  const row = rows[0];
  if (!row?.schema) throw new Error('the pool has no current schema');
  return walNames(row.db, row.schema);
}

/**
 * Creates the publication and the slot if they are missing. Creating a logical slot waits for
 * the transactions running at that moment to end: every row committed after it is decoded.
 */
export async function ensureWalSlot(pool: pg.Pool, names: WalNames): Promise<void> {
  const { rows: pubs } = await pool.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publication]);
  if (pubs.length === 0) {
    await pool
      .query(
        `CREATE PUBLICATION ${ident(names.publication)} FOR TABLE ${ident(names.schema)}.outbox WITH (publish = 'insert')`,
      )
      .catch((err: { code?: string }) => {
        if (err.code !== '42710') throw err; // created meanwhile by another instance
      });
  }
  const { rows: slots } = await pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
  if (slots.length === 0) {
    await pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot]).catch((err) => {
      if ((err as { code?: string }).code !== '42710') throw err;
    });
  }
}

/**
 * Drops the slot (and the publication): a slot nobody reads keeps every WAL segment from its
 * position on, and would fill the disk. A slot still streaming (its walsender ends a moment
 * after the relay closed the connection) is waited for up to `waitMs`, then left to the next
 * start in poll mode. Returns whether a slot was dropped.
 */
export async function dropWalSlot(pool: pg.Pool, names: WalNames, waitMs = 5000): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows } = await pool.query<{ active: boolean }>(
      'SELECT active FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()',
      [names.slot],
    );
    const slot = rows[0];
    if (slot && !slot.active) {
      const dropped = await pool.query('SELECT pg_drop_replication_slot($1)', [names.slot]).then(
        () => true,
        (err: { code?: string }) => {
          // 55006: taken by a relay meanwhile; 42704: dropped by another instance.
          if (err.code === '55006' || err.code === '42704') return false;
          throw err;
        },
      );
      if (dropped) {
        await pool.query(`DROP PUBLICATION IF EXISTS ${ident(names.publication)}`);
        return true;
      }
    }
    if (!slot) {
      await pool.query(`DROP PUBLICATION IF EXISTS ${ident(names.publication)}`);
      return false;
    }
    if (Date.now() >= deadline) return false;
    await sleep(200);
  }
}

/** The slot as `pg_replication_slots` shows it: where it is and how much WAL it holds. */
export interface WalSlotState {
  slot: string;
  active: boolean;
  confirmedFlushLsn: string | null;
  currentLsn: string;
  /** WAL bytes the server keeps for this slot (current position − restart_lsn). */
  retainedBytes: number;
}

export async function walSlotState(pool: pg.Pool, names: WalNames): Promise<WalSlotState | undefined> {
  const { rows } = await pool.query<{
    active: boolean;
    confirmed: string | null;
    current: string;
    retained: string | null;
  }>(
    `SELECT active, confirmed_flush_lsn::text AS confirmed, pg_current_wal_lsn()::text AS current,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained
       FROM pg_replication_slots WHERE slot_name = $1`,
    [names.slot],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    slot: names.slot,
    active: row.active,
    confirmedFlushLsn: row.confirmed,
    currentLsn: row.current,
    retainedBytes: Number(row.retained ?? 0),
  };
}

export interface WalTailOptions {
  /** Connection settings of the service's pool (the replication connection uses them). */
  connection: pg.ClientConfig;
  names: WalNames;
  logger: Logger;
  /** Publishes and marks a committed transaction's outbox rows; throws if any is left unpublished. */
  publish: (ids: string[]) => Promise<void>;
  /**
   * Run after a failed stream, before the next one: the relay catches up on its table the way it
   * does when it starts, so what the failed stream held back goes out even if the next stream
   * stalls (what the drain published, the stream's resend then finds published and skips).
   */
  beforeResume?: () => Promise<void>;
  backoff: { initialMs: number; maxMs: number };
}

/**
 * Streams the slot and hands each committed transaction's outbox ids to `publish`, one
 * transaction at a time (the library's flow control pauses the socket meanwhile). A failed
 * publish ends the stream; after a backoff it starts again from the slot's confirmed position,
 * so the server sends the unconfirmed transactions again.
 */
export class WalTail {
  private readonly log: Logger;
  private abort = new AbortController();
  private done: Promise<void> = Promise.resolve();
  private service: LogicalReplicationService | undefined;
  private streaming = false;
  /** The transaction being published: stop() lets it finish before it returns. */
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: WalTailOptions) {
    this.log = options.logger.child({ component: 'outbox-wal' });
  }

  /** True while the replication stream is open. */
  get active(): boolean {
    return this.streaming;
  }

  start(): void {
    this.abort = new AbortController();
    this.done = this.loop();
  }

  /** Ends the stream; the transaction being published finishes first. Confirmed positions stay in the slot. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.service?.stop().catch(() => undefined);
    await this.done;
    await this.inFlight;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const outcome = await this.streamOnce();
      if (this.abort.signal.aborted) break;
      failures = outcome === 'failed' ? failures + 1 : 1;
      const delay = backoffDelayMs(failures, this.options.backoff);
      this.log.warn({ failures, retryInMs: delay }, 'WAL stream ended; resuming from the slot');
      await sleep(delay, this.abort.signal);
      if (outcome === 'failed' && this.options.beforeResume && !this.abort.signal.aborted) {
        await this.options.beforeResume().catch((err: unknown) => {
          this.log.warn({ err }, 'catching up on the outbox before resuming the WAL stream failed');
        });
      }
    }
  }

  /** One replication connection, until it ends or a publish fails. */
  private async streamOnce(): Promise<'failed' | 'ended'> {
    const { names } = this.options;
    const service = new LogicalReplicationService(
      { ...this.options.connection, application_name: 'shoplab-outbox-wal' },
      // Nothing is confirmed automatically: only what was published (see `confirm`).
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    this.service = service;
    const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [names.publication] });
    let failed = false;
    let inTransaction = false;
    let ids: string[] = [];
    // The last position known safe to confirm: everything before it is published.
    let confirmed: string | undefined;
    // A failed publish ends this stream at once: the socket is destroyed rather than ended
    // politely, because the flow control keeps it paused while a publish runs, and a paused
    // socket whose server side already gave up (wal_sender_timeout) never reports its end — the
    // subscription would hang and the slot stay held by a walsender nobody reads.
    let onFailed: () => void = () => undefined;
    const failedSignal = new Promise<'failed'>((resolve) => {
      onFailed = () => resolve('failed');
    });
    const stopStream = () => {
      failed = true;
      onFailed();
      destroySocket(service);
      void service.stop().catch(() => undefined);
    };
    service.on('data', async (lsn: string, message: Pgoutput.Message) => {
      if (failed) return;
      switch (message.tag) {
        case 'begin':
          inTransaction = true;
          ids = [];
          return;
        case 'insert':
          if (message.relation.schema === names.schema && message.relation.name === 'outbox') {
            ids.push(String(message.new.id));
          }
          return;
        case 'commit': {
          inTransaction = false;
          const end = message.commitEndLsn ?? lsn;
          try {
            if (ids.length > 0) {
              const publishing = this.options.publish(ids);
              this.inFlight = publishing.catch(() => undefined);
              await publishing;
            }
          } catch (err) {
            this.log.warn({ err, rows: ids.length }, 'publishing a WAL transaction failed; its rows stay unpublished');
            stopStream();
            return;
          }
          confirmed = end;
          await service.acknowledge(end);
          return;
        }
        default:
          return;
      }
    });
    // A keepalive between transactions: everything sent so far is published, so its position
    // may be confirmed — otherwise writes to other tables would make the slot keep WAL forever.
    service.on('heartbeat', async (lsn: string, _timestamp: number, shouldRespond: boolean) => {
      if (failed) return;
      const idle = !inTransaction && !(service as unknown as { _processing: boolean })._processing;
      if (idle) confirmed = lsn;
      if (shouldRespond || idle) await service.acknowledge(confirmed ?? '0/0').catch(() => undefined);
    });
    service.on('error', (err: unknown) => {
      if (!this.abort.signal.aborted) this.log.warn({ err }, 'WAL stream error');
    });
    service.on('start', () => {
      this.streaming = true;
      this.log.info({ slot: names.slot, publication: names.publication }, 'outbox relay tailing the WAL');
    });
    const subscribing = service.subscribe(plugin, names.slot).then(() => 'ended' as const);
    subscribing.catch(() => undefined);
    try {
      const outcome = await Promise.race([subscribing, failedSignal]);
      return failed ? 'failed' : outcome;
    } catch (err) {
      if (!this.abort.signal.aborted && !failed) this.log.warn({ err }, 'WAL stream failed');
      return 'failed';
    } finally {
      this.streaming = false;
      destroySocket(service);
      await service.destroy().catch(() => undefined);
      if (this.service === service) this.service = undefined;
    }
  }
}

/** Destroys the replication connection's socket (the library ends it politely, which a paused socket may never finish). */
function destroySocket(service: LogicalReplicationService): void {
  const internals = service as unknown as { _connection?: { stream?: { destroy?: () => void } } | null };
  internals._connection?.stream?.destroy?.();
}
