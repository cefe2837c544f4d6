// PaymentStore: the event store (payment_events, payment_snapshots) and the projections written
// with each event (payments, ledger_entries). A command reads its payment from the store without
// a lock and appends with the version it read (optimistic concurrency); the outbox rows are
// written after the append (see writeOutbox's ordering rule).
// The commands (Authorize, Capture, Void, Refund) and their lookups are plain SQL on the pg pool
// under the service's Prisma client (pgPoolOf, ADR 31): they are on every checkout's path. The
// admin side (summary, stream, balance, projections, rebuild) stays on Prisma.
import {
  type DomainEvent,
  pgPoolOf,
  pgTransactionRunner,
  prepareTransaction,
  type TransactionRunner,
  writeOutbox,
} from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import type pg from 'pg';
import {
  type Balance,
  type CommandOutcome,
  type CurrencyTotals,
  type OrderTotals,
  type PaymentStore,
  type PaymentTx,
  type ProjectionsDigest,
  type RebuildReport,
  type StoredKey,
  StreamConflict,
  type StreamEvent,
} from '../application/ports';
import type { PaymentRecord, PaymentStatus } from '../domain/payment';
import {
  evolve,
  LEDGER_KIND_OF,
  type PaymentAggregate,
  type PaymentEventData,
  type PaymentEventType,
  replay,
  type StoredPaymentEvent,
  snapshotOf,
  stateOfSnapshot,
} from '../domain/payment-events';
import type { PrismaClient } from '../generated/prisma/client';

/** A payments row as pg returns it (bigint columns as text). */
interface PaymentRow {
  id: string;
  order_id: string;
  status: PaymentStatus;
  currency: string;
  amount: string;
  captured_amount: string;
  refunded_amount: string;
  card_last4: string;
  decline_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const PAYMENT_COLUMNS = `id, order_id, status::text AS status, currency, amount, captured_amount, refunded_amount,
       card_last4, decline_reason, created_at, updated_at`;

function record(row: PaymentRow): PaymentRecord {
  return {
    id: row.id,
    orderId: row.order_id,
    status: row.status,
    currency: row.currency,
    amount: Number(row.amount),
    capturedAmount: Number(row.captured_amount),
    refundedAmount: Number(row.refunded_amount),
    cardLast4: row.card_last4,
    declineReason: row.decline_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function storedKey(row: { key: string; operation: string; fingerprint: string; response: unknown }): StoredKey {
  return {
    key: row.key,
    operation: row.operation,
    fingerprint: row.fingerprint,
    outcome: (row.response ?? null) as CommandOutcome | null,
  };
}

interface EventRow {
  /** bigint: Prisma gives a BigInt, pg a string. */
  position: bigint | string | null;
  version: number;
  type: string;
  data: unknown;
  recorded_at: Date | null;
}

interface AppendRow {
  recorded_at: Date;
  projected: number;
}

/** A stored event's row as the fold takes it (the type column joined back into the data). */
function storedEvent(streamId: string) {
  return (row: EventRow): StoredPaymentEvent => {
    const { ledgerEntryId, ...fields } = row.data as Record<string, unknown>;
    return {
      position: Number(row.position),
      streamId,
      version: row.version,
      data: { ...fields, type: row.type } as PaymentEventData,
      ledgerEntryId: Number(ledgerEntryId),
      recordedAt: row.recorded_at ?? new Date(0),
    };
  };
}

// The append: ONE statement for the event (its version checked by the unique (stream_id, version):
// ON CONFLICT DO NOTHING waits for a concurrent append of the same version and then returns no
// row), then the payments row and the ledger entry, each only when the step before returned a
// row. The event's ledgerEntryId is the entry's id, so a rebuild writes the same entry. The event
// is inserted first, so a concurrent append waits on its version before it takes the payments
// row's lock. $1 stream, $2 version, $3 type, $4 the event's fields, $5 ledger kind, $6 amount,
// $7 currency; the projection's own parameters follow.
const appendSql = (projection: string) => `
  WITH e AS (
    INSERT INTO payment_events (stream_id, version, type, data)
    VALUES ($1::uuid, $2, $3, $4::jsonb || jsonb_build_object('ledgerEntryId', nextval('ledger_entries_id_seq')))
    ON CONFLICT (stream_id, version) DO NOTHING
    RETURNING recorded_at, (data->>'ledgerEntryId')::bigint AS ledger_id
  ), p AS (${projection}
  ), l AS (
    INSERT INTO ledger_entries (id, payment_id, kind, amount, currency, created_at)
    SELECT e.ledger_id, p.id, $5::ledger_kind, $6::bigint, $7, e.recorded_at
      FROM e, p
    RETURNING id
  )
  SELECT e.recorded_at, (SELECT count(*) FROM l)::int AS projected FROM e`;

/** A new payment inserts its row (ON CONFLICT DO NOTHING: payments_live_order_key, a concurrent authorization for the order). */
const APPEND_FIRST_SQL = appendSql(`
    INSERT INTO payments (id, order_id, status, currency, amount, captured_amount, refunded_amount,
                          card_last4, decline_reason, created_at, updated_at)
    SELECT $1::uuid, $8, $9::payment_status, $7, $10::bigint, $11::bigint, $12::bigint, $13, $14,
           e.recorded_at, e.recorded_at
      FROM e
    ON CONFLICT DO NOTHING
    RETURNING id`);

/** A later event updates the payment's row. */
const APPEND_NEXT_SQL = appendSql(`
    UPDATE payments
       SET status = $8::payment_status, captured_amount = $9::bigint, refunded_amount = $10::bigint,
           updated_at = e.recorded_at
      FROM e
     WHERE payments.id = $1::uuid
    RETURNING payments.id`);

/** The snapshot (if any) and the events after it, in version order: one round trip. */
const LOAD_SQL = `
  SELECT NULL::bigint AS position, s.version, 'snapshot' AS type, s.state AS data, NULL::timestamptz AS recorded_at
    FROM payment_snapshots s WHERE s.stream_id = $1::uuid
  UNION ALL
  SELECT e.position, e.version, e.type, e.data, e.recorded_at
    FROM payment_events e
   WHERE e.stream_id = $1::uuid
     AND e.version > coalesce((SELECT version FROM payment_snapshots WHERE stream_id = $1::uuid), 0)
   ORDER BY version`;

class SqlPaymentTx implements PaymentTx {
  constructor(
    private readonly tx: pg.PoolClient,
    private readonly topic: string | undefined,
    private readonly snapshotEvery: number,
    /** false in a transaction that ends in PREPARE TRANSACTION (no NOTIFY allowed there). */
    private readonly notify = true,
  ) {}

  async claimKey(key: string, operation: string, fingerprint: string): Promise<'claimed' | StoredKey> {
    const inserted = await this.tx.query(
      `INSERT INTO idempotency_keys (key, operation, fingerprint) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
      [key, operation, fingerprint],
    );
    if (inserted.rowCount === 1) return 'claimed';
    // The conflicting insert waited for its twin's transaction: the row is committed now.
    const found = await findKeyOn(this.tx, key);
    if (!found) throw new Error(`idempotency key ${key} conflicted but is not there`);
    return found;
  }

  async saveOutcome(key: string, outcome: CommandOutcome): Promise<void> {
    await this.tx.query(`UPDATE idempotency_keys SET response = $2::jsonb WHERE key = $1`, [
      key,
      JSON.stringify(outcome),
    ]);
  }

  async loadPayment(id: string): Promise<PaymentAggregate | undefined> {
    const { rows } = await this.tx.query<EventRow>(LOAD_SQL, [id]);
    const first = rows[0];
    const snapshot: PaymentAggregate | undefined =
      first?.type === 'snapshot'
        ? { state: stateOfSnapshot(first.data as Record<string, unknown>), version: first.version }
        : undefined;
    const events = (snapshot ? rows.slice(1) : rows).map(storedEvent(id));
    return replay(id, snapshot, events);
  }

  async lockLivePayment(orderId: string): Promise<PaymentRecord | undefined> {
    const { rows } = await this.tx.query<PaymentRow>(
      `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1 AND status NOT IN ('VOIDED', 'DECLINED') FOR UPDATE`,
      [orderId],
    );
    return rows[0] ? record(rows[0]) : undefined;
  }

  async append(
    streamId: string,
    expectedVersion: number,
    current: PaymentRecord | undefined,
    event: PaymentEventData,
  ): Promise<PaymentAggregate> {
    const version = expectedVersion + 1;
    const { type, ...fields } = event;
    // The state after the event, but for its time, which the database gives (recorded_at).
    const next = evolve(current, streamId, event, new Date(0));
    const common = [
      streamId,
      version,
      type,
      JSON.stringify(fields),
      LEDGER_KIND_OF[type],
      event.amount,
      event.currency,
    ];
    const { rows } =
      version === 1
        ? await this.tx.query<AppendRow>(APPEND_FIRST_SQL, [
            ...common,
            next.orderId,
            next.status,
            next.amount,
            next.capturedAmount,
            next.refundedAmount,
            next.cardLast4,
            next.declineReason,
          ])
        : await this.tx.query<AppendRow>(APPEND_NEXT_SQL, [
            ...common,
            next.status,
            next.capturedAmount,
            next.refundedAmount,
          ]);
    const row = rows[0];
    if (!row) throw new StreamConflict(streamId, expectedVersion);
    if (row.projected !== 1) {
      if (version === 1) {
        // payments_live_order_key: a concurrent authorization for the same order committed first.
        throw new ShopError('SHOP_ALREADY_EXISTS', `Order ${next.orderId} already has a live payment`, {
          orderId: next.orderId,
        });
      }
      // The projections were dropped and not rebuilt yet: the event is rolled back with the
      // transaction, and the caller retries once the rebuild has run.
      throw new ShopError(
        'SHOP_DEPENDENCY_UNAVAILABLE',
        `Payment ${streamId} has no projection row: the projections are being rebuilt`,
        { paymentId: streamId, retryAfterSeconds: 1 },
      );
    }
    const state = { ...next, updatedAt: row.recorded_at, ...(version === 1 ? { createdAt: row.recorded_at } : {}) };
    if (this.snapshotEvery > 0 && version % this.snapshotEvery === 0) {
      await this.tx.query(
        `INSERT INTO payment_snapshots (stream_id, version, state)
         VALUES ($1::uuid, $2, $3::jsonb)
         ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state, taken_at = now()
          WHERE payment_snapshots.version < EXCLUDED.version`,
        [streamId, version, JSON.stringify(snapshotOf(state))],
      );
    }
    return { state, version };
  }

  async writeEvents(events: DomainEvent[]): Promise<void> {
    await writeOutbox(this.tx, events, { ...(this.topic ? { topic: this.topic } : {}), notify: this.notify });
  }
}

async function findKeyOn(db: pg.Pool | pg.PoolClient, key: string): Promise<StoredKey | undefined> {
  const { rows } = await db.query<{ key: string; operation: string; fingerprint: string; response: unknown }>(
    `SELECT key, operation, fingerprint, response FROM idempotency_keys WHERE key = $1`,
    [key],
  );
  return rows[0] ? storedKey(rows[0]) : undefined;
}

interface OrderSumsRow {
  order_id: string;
  currency: string;
  authorized: bigint;
  captured: bigint;
  voided: bigint;
  refunded: bigint;
  declined: bigint;
  capture_count: number;
  refund_count: number;
  payment_ids: string[];
}

/** Rows written per statement by the rebuild (jsonb_to_recordset). */
const REBUILD_BATCH = 2_000;

export interface PaymentStoreOptions {
  /** Topic for the events (default `payment.events`; tests use their own). */
  topic?: string;
  /** A snapshot every this many events of a stream (0: none). */
  snapshotEvery?: number;
  /**
   * End every transaction in PREPARE TRANSACTION with this global id instead of COMMIT (the
   * two-phase checkout's participant, two-phase.participant.ts). Prisma's COMMIT after it finds
   * no transaction and does nothing; the prepared one waits for COMMIT/ROLLBACK PREPARED.
   */
  prepareAs?: string;
}

export class PrismaPaymentStore implements PaymentStore {
  private readonly topic: string | undefined;
  private readonly snapshotEvery: number;
  private readonly prepareAs: string | undefined;
  /** Prisma's own pool (pgPoolOf): the commands' plain SQL shares its connections and bound. */
  private readonly pool: pg.Pool;
  private readonly runTransaction: TransactionRunner<pg.PoolClient>;

  constructor(
    private readonly prisma: PrismaClient,
    options: PaymentStoreOptions = {},
  ) {
    this.topic = options.topic;
    this.snapshotEvery = options.snapshotEvery ?? 0;
    this.prepareAs = options.prepareAs;
    this.pool = pgPoolOf(prisma);
    this.runTransaction = pgTransactionRunner(this.pool);
  }

  transaction<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T> {
    const gid = this.prepareAs;
    return this.runTransaction(async (tx) => {
      if (!gid) return await work(new SqlPaymentTx(tx, this.topic, this.snapshotEvery));
      const result = await work(new SqlPaymentTx(tx, this.topic, this.snapshotEvery, false));
      // The runner's COMMIT after it finds no transaction and does nothing (a warning); the
      // prepared one waits for COMMIT/ROLLBACK PREPARED.
      await prepareTransaction(tx, gid);
      return result;
    });
  }

  findKey(key: string): Promise<StoredKey | undefined> {
    return findKeyOn(this.pool, key);
  }

  async findPayment(id: string): Promise<PaymentRecord | undefined> {
    const { rows } = await this.pool.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1::uuid`, [
      id,
    ]);
    return rows[0] ? record(rows[0]) : undefined;
  }

  /** The order's live payment, else its latest attempt. */
  async findPaymentForOrder(orderId: string): Promise<PaymentRecord | undefined> {
    const { rows } = await this.pool.query<PaymentRow>(
      `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1
        ORDER BY (status NOT IN ('VOIDED', 'DECLINED')) DESC, created_at DESC LIMIT 1`,
      [orderId],
    );
    return rows[0] ? record(rows[0]) : undefined;
  }

  async summary(): Promise<{ totals: CurrencyTotals[]; orders: OrderTotals[] }> {
    const sums = await this.prisma.$queryRaw<OrderSumsRow[]>`
      SELECT p.order_id, p.currency::text AS currency,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'AUTHORIZE'), 0)::bigint AS authorized,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'CAPTURE'), 0)::bigint AS captured,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'VOID'), 0)::bigint AS voided,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'REFUND'), 0)::bigint AS refunded,
             coalesce(sum(l.amount) FILTER (WHERE l.kind = 'DECLINE'), 0)::bigint AS declined,
             (count(*) FILTER (WHERE l.kind = 'CAPTURE'))::int AS capture_count,
             (count(*) FILTER (WHERE l.kind = 'REFUND'))::int AS refund_count,
             array_agg(DISTINCT p.id::text) AS payment_ids
        FROM payments p JOIN ledger_entries l ON l.payment_id = p.id
       GROUP BY p.order_id, p.currency
       ORDER BY p.order_id, p.currency`;
    const statuses = await this.prisma.$queryRaw<{ order_id: string; status: PaymentStatus }[]>`
      SELECT DISTINCT ON (order_id) order_id, status::text AS status
        FROM payments
       ORDER BY order_id, (status NOT IN ('VOIDED', 'DECLINED')) DESC, created_at DESC`;
    const statusOf = new Map(statuses.map((s) => [s.order_id, s.status]));
    const totals = new Map<string, CurrencyTotals>();
    const orders = sums.map((row): OrderTotals => {
      const order: OrderTotals = {
        orderId: row.order_id,
        currency: row.currency,
        status: statusOf.get(row.order_id) ?? 'DECLINED',
        authorized: Number(row.authorized),
        captured: Number(row.captured),
        voided: Number(row.voided),
        refunded: Number(row.refunded),
        declined: Number(row.declined),
        captureCount: row.capture_count,
        refundCount: row.refund_count,
        paymentIds: row.payment_ids,
      };
      const t = totals.get(order.currency) ?? {
        currency: order.currency,
        authorized: 0,
        captured: 0,
        voided: 0,
        refunded: 0,
        declined: 0,
      };
      t.authorized += order.authorized;
      t.captured += order.captured;
      t.voided += order.voided;
      t.refunded += order.refunded;
      t.declined += order.declined;
      totals.set(order.currency, t);
      return order;
    });
    return { totals: [...totals.values()], orders };
  }

  async stream(id: string, at?: Date): Promise<StreamEvent[]> {
    const rows = await this.prisma.$queryRaw<EventRow[]>`
      SELECT position, version, type, data, recorded_at FROM payment_events
       WHERE stream_id = ${id}::uuid AND (${at ?? null}::timestamptz IS NULL OR recorded_at <= ${at ?? null}::timestamptz)
       ORDER BY version`;
    return rows.map((r) => ({
      position: Number(r.position),
      version: r.version,
      type: r.type as PaymentEventType,
      data: r.data as Record<string, unknown>,
      recordedAt: r.recorded_at ?? new Date(0),
    }));
  }

  async balanceAt(at: Date): Promise<Balance> {
    // From the store alone: money moved by the events recorded up to `at`, and the payments whose
    // last event by then was their authorization (authorized, not yet captured or voided).
    const rows = await this.prisma.$queryRaw<
      { currency: string; captured: bigint; refunded: bigint; payments: number; authorized_open: bigint }[]
    >`
      WITH upto AS (
        SELECT stream_id, version, type, data->>'currency' AS currency, (data->>'amount')::bigint AS amount
          FROM payment_events WHERE recorded_at <= ${at}::timestamptz
      ), moves AS (
        SELECT currency,
               coalesce(sum(amount) FILTER (WHERE type = 'PaymentCaptured'), 0)::bigint AS captured,
               coalesce(sum(amount) FILTER (WHERE type = 'PaymentRefunded'), 0)::bigint AS refunded,
               (count(*) FILTER (WHERE version = 1))::int AS payments
          FROM upto GROUP BY currency
      ), last AS (
        SELECT DISTINCT ON (stream_id) stream_id, type, currency, amount FROM upto ORDER BY stream_id, version DESC
      ), open AS (
        SELECT currency, sum(amount)::bigint AS authorized_open FROM last WHERE type = 'PaymentAuthorized' GROUP BY currency
      )
      SELECT m.currency, m.captured, m.refunded, m.payments, coalesce(o.authorized_open, 0)::bigint AS authorized_open
        FROM moves m LEFT JOIN open o USING (currency)
       ORDER BY m.currency`;
    const [head] = await this.prisma.$queryRaw<{ position: bigint; events: number }[]>`
      SELECT coalesce(max(position), 0)::bigint AS position, count(*)::int AS events
        FROM payment_events WHERE recorded_at <= ${at}::timestamptz`;
    return {
      at,
      position: Number(head?.position ?? 0),
      events: head?.events ?? 0,
      totals: rows.map((r) => ({
        currency: r.currency,
        authorizedOpen: Number(r.authorized_open),
        captured: Number(r.captured),
        refunded: Number(r.refunded),
        net: Number(r.captured) - Number(r.refunded),
        payments: r.payments,
      })),
    };
  }

  async projections(): Promise<ProjectionsDigest> {
    const [row] = await this.prisma.$queryRaw<{ payments: number; ledger_entries: number; digest: string }[]>`
      SELECT (SELECT count(*) FROM payments)::int AS payments,
             (SELECT count(*) FROM ledger_entries)::int AS ledger_entries,
             md5(coalesce((SELECT string_agg(to_jsonb(p)::text, ',' ORDER BY p.id) FROM payments p), '') || '|' ||
                 coalesce((SELECT string_agg(to_jsonb(l)::text, ',' ORDER BY l.id) FROM ledger_entries l), '')) AS digest`;
    if (!row) throw new Error('the projections digest returned no row');
    return { payments: row.payments, ledgerEntries: row.ledger_entries, digest: row.digest };
  }

  async dropProjections(): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`LOCK TABLE payment_events IN EXCLUSIVE MODE`;
      await tx.$queryRaw`SELECT set_config('payment.rebuild', 'on', true)`;
      await tx.$executeRaw`TRUNCATE payments, ledger_entries`;
    });
  }

  rebuild(): Promise<RebuildReport> {
    const started = performance.now();
    return this.prisma.$transaction(
      async (tx) => {
        // Appends wait for the rebuild (EXCLUSIVE lets commands read the store, not write it);
        // the ledger's trigger lets this transaction, and only it, truncate the ledger.
        await tx.$executeRaw`LOCK TABLE payment_events IN EXCLUSIVE MODE`;
        await tx.$queryRaw`SELECT set_config('payment.rebuild', 'on', true)`;
        await tx.$executeRaw`TRUNCATE payments, ledger_entries`;
        const states = new Map<string, { aggregate: PaymentAggregate; createdAt: string; updatedAt: string }>();
        const pendingLedger: Record<string, unknown>[] = [];
        let events = 0;
        let ledgerEntries = 0;
        let after = 0n;
        for (;;) {
          // recorded_at also as text: a JS Date keeps milliseconds, the column microseconds.
          const rows = await tx.$queryRaw<(EventRow & { stream_id: string; recorded_text: string })[]>`
            SELECT position, stream_id::text AS stream_id, version, type, data, recorded_at, recorded_at::text AS recorded_text
              FROM payment_events WHERE position > ${after} ORDER BY position LIMIT ${REBUILD_BATCH}`;
          if (rows.length === 0) break;
          const ledger = rows.map((row) => {
            const e = storedEvent(row.stream_id)(row);
            const before = states.get(row.stream_id);
            const aggregate = replay(row.stream_id, before?.aggregate, [e]) as PaymentAggregate;
            states.set(row.stream_id, {
              aggregate,
              createdAt: before?.createdAt ?? row.recorded_text,
              updatedAt: row.recorded_text,
            });
            return {
              id: e.ledgerEntryId,
              payment_id: row.stream_id,
              kind: LEDGER_KIND_OF[e.data.type],
              amount: e.data.amount,
              currency: e.data.currency,
              created_at: row.recorded_text,
            };
          });
          // The ledger's foreign key is checked at each statement: the entries are written after their payments.
          pendingLedger.push(...ledger);
          events += rows.length;
          after = BigInt(rows[rows.length - 1]?.position ?? after);
        }
        const payments = [...states.entries()].map(([, s]) => ({
          id: s.aggregate.state.id,
          order_id: s.aggregate.state.orderId,
          status: s.aggregate.state.status,
          currency: s.aggregate.state.currency,
          amount: s.aggregate.state.amount,
          captured_amount: s.aggregate.state.capturedAmount,
          refunded_amount: s.aggregate.state.refundedAmount,
          card_last4: s.aggregate.state.cardLast4,
          decline_reason: s.aggregate.state.declineReason,
          created_at: s.createdAt,
          updated_at: s.updatedAt,
        }));
        for (let i = 0; i < payments.length; i += REBUILD_BATCH) {
          await tx.$executeRaw`
            INSERT INTO payments (id, order_id, status, currency, amount, captured_amount, refunded_amount,
                                  card_last4, decline_reason, created_at, updated_at)
            SELECT id, order_id, status, currency, amount, captured_amount, refunded_amount,
                   card_last4, decline_reason, created_at, updated_at
              FROM jsonb_to_recordset(${JSON.stringify(payments.slice(i, i + REBUILD_BATCH))}::jsonb) AS x(
                id uuid, order_id text, status payment_status, currency char(3), amount bigint,
                captured_amount bigint, refunded_amount bigint, card_last4 char(4), decline_reason text,
                created_at timestamptz, updated_at timestamptz)`;
        }
        for (let i = 0; i < pendingLedger.length; i += REBUILD_BATCH) {
          ledgerEntries += await tx.$executeRaw`
            INSERT INTO ledger_entries (id, payment_id, kind, amount, currency, created_at)
            SELECT id, payment_id, kind, amount, currency, created_at
              FROM jsonb_to_recordset(${JSON.stringify(pendingLedger.slice(i, i + REBUILD_BATCH))}::jsonb) AS x(
                id bigint, payment_id uuid, kind ledger_kind, amount bigint, currency char(3), created_at timestamptz)
             ORDER BY id`;
        }
        return {
          streams: states.size,
          events,
          payments: payments.length,
          ledgerEntries,
          durationMs: Math.round(performance.now() - started),
        };
      },
      { maxWait: 10_000, timeout: 300_000 },
    );
  }
}
