// PostgreSQL's two-phase commit for a participant of the two-phase checkout
// (docs/patterns/two-phase-commit.md, ADR 37): a transaction ends in PREPARE TRANSACTION instead
// of COMMIT, which makes it durable and detaches it from its connection — it keeps its row locks
// in the server, under its global id, until COMMIT PREPARED or ROLLBACK PREPARED arrives from
// any connection. The work before it runs in an ordinary transaction (a Prisma interactive
// transaction or a pg client after BEGIN), so it is the service's own code, unchanged.
// A prepared transaction may not have sent a NOTIFY: its outbox rows are written without one
// (writeOutbox's `notify: false`), and the relay's polling finds them after COMMIT PREPARED.
import { z } from 'zod';
import { ShopError } from './errors';
import { type HttpApp, requireAdminToken } from './http';
import { type SqlTransaction, sqlExecutor } from './sql';
import type { TwoPhaseInquiry } from './two-phase-inquiry';

/** Where a participant finishes its prepared transactions: a pg pool or client, or a Prisma client (outside $transaction). */
export type PreparedTransactionsDb = SqlTransaction;

/** The participants of the two-phase checkout, each a prepared transaction on its own database. */
export const TWO_PHASE_PARTICIPANTS = ['catalog', 'payment'] as const;
export type TwoPhaseParticipant = (typeof TWO_PHASE_PARTICIPANTS)[number];

const GID = /^shop2pc:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(catalog|payment)$/;

/** The global id of an order's prepared transaction at one participant: `shop2pc:<orderId>:<participant>`. */
export function preparedTransactionId(orderId: string, participant: TwoPhaseParticipant): string {
  return `shop2pc:${orderId.toLowerCase()}:${participant}`;
}

/** The order and participant of a global id; a malformed one is a validation error (INVALID_ARGUMENT). */
export function parsePreparedTransactionId(
  gid: string,
  participant?: TwoPhaseParticipant,
): { orderId: string; participant: TwoPhaseParticipant } {
  const match = GID.exec(gid);
  if (!match || (participant && match[2] !== participant)) {
    throw new ShopError(
      'SHOP_VALIDATION_FAILED',
      `transactionId must be shop2pc:<order uuid>:${participant ?? '<catalog|payment>'} (lower case)`,
      { field: 'transactionId' },
    );
  }
  return { orderId: match[1] as string, participant: match[2] as TwoPhaseParticipant };
}

/** Ends the caller's transaction with PREPARE TRANSACTION (the id is checked: it becomes a literal). */
export async function prepareTransaction(tx: SqlTransaction, gid: string): Promise<void> {
  parsePreparedTransactionId(gid);
  await sqlExecutor(tx).execute(`PREPARE TRANSACTION '${gid}'`);
}

/** The SQLSTATE in a pg error or in what Prisma's driver adapter wrapped it in. */
function sqlStateOf(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  const e = err as Record<string, unknown>;
  for (const key of ['code', 'originalCode']) {
    const value = e[key];
    // Prisma's own codes (P2010: "raw query failed") only wrap the SQLSTATE.
    if (typeof value === 'string' && /^[0-9A-Z]{5}$/.test(value) && !/^P[0-9]{4}$/.test(value)) return value;
  }
  const meta = e.meta as Record<string, unknown> | undefined;
  return (
    sqlStateOf(e.cause, depth + 1) ??
    sqlStateOf(meta?.driverAdapterError, depth + 1) ??
    sqlStateOf(e.driverAdapterError, depth + 1)
  );
}

/**
 * A participant's prepare that could not run, as a ShopError the coordinator can act on, or
 * undefined: 55P03 (lock_timeout: the rows are held — by another order's prepared transaction)
 * and 42710 (the id is prepared already) are SHOP_CONFLICT (ABORTED: roll back, maybe retry).
 */
export function preparedTransactionError(err: unknown, gid: string): ShopError | undefined {
  const state = sqlStateOf(err);
  if (state === '55P03') {
    return new ShopError('SHOP_CONFLICT', `${gid}: the rows it needs are locked (held by a prepared transaction?)`, {
      transactionId: gid,
    });
  }
  if (state === '42710') {
    return new ShopError('SHOP_CONFLICT', `${gid} is prepared already: finish it first`, { transactionId: gid });
  }
  return undefined;
}

export type FinishOutcome = 'committed' | 'rolled_back' | 'absent';

/**
 * COMMIT PREPARED or ROLLBACK PREPARED. `absent`: no prepared transaction has that id (it was
 * finished before, or never prepared) — a decision delivered twice is answered, not failed.
 */
export async function finishPrepared(db: SqlTransaction, gid: string, commit: boolean): Promise<FinishOutcome> {
  parsePreparedTransactionId(gid);
  try {
    // Outside any transaction block (a pool's connection, or Prisma's client outside $transaction).
    await sqlExecutor(db).execute(`${commit ? 'COMMIT' : 'ROLLBACK'} PREPARED '${gid}'`);
    return commit ? 'committed' : 'rolled_back';
  } catch (err) {
    // 42704 undefined_object: "prepared transaction with identifier … does not exist"
    if (sqlStateOf(err) === '42704') return 'absent';
    throw err;
  }
}

export interface PreparedTransaction {
  gid: string;
  orderId: string;
  participant: TwoPhaseParticipant;
  preparedAt: Date;
}

/** This database's prepared transactions of the two-phase checkout, oldest first (pg_prepared_xacts). */
export async function listPrepared(db: SqlTransaction, olderThanMs = 0): Promise<PreparedTransaction[]> {
  const rows = await sqlExecutor(db).rows<{ gid: string; prepared: Date }>(
    `SELECT gid, prepared FROM pg_prepared_xacts
      WHERE database = current_database() AND gid LIKE 'shop2pc:%'
        AND prepared <= now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY prepared`,
    [olderThanMs],
  );
  return rows.map((r) => ({ gid: r.gid, ...parsePreparedTransactionId(r.gid), preparedAt: r.prepared }));
}

/**
 * `GET /v1/admin/two-phase/prepared` on a participant: its transactions in doubt (pg_prepared_xacts),
 * each holding its rows locked until the coordinator (order) finishes it.
 */
export function registerPreparedTransactionRoutes(
  app: HttpApp,
  deps: {
    db: PreparedTransactionsDb;
    adminToken: string;
    /** The participant's inquiry (two-phase-inquiry.ts): `POST /v1/admin/two-phase/inquire` asks about every one now. */
    inquiry?: Pick<TwoPhaseInquiry, 'sweep'>;
  },
): void {
  const { inquiry } = deps;
  if (inquiry) {
    app.post(
      '/v1/admin/two-phase/inquire',
      {
        onRequest: requireAdminToken(deps.adminToken),
        schema: {
          tags: ['admin'],
          summary: 'Ask the coordinator now about every transaction prepared here, and finish each as it decided',
          description:
            'What the participant does on its own for transactions older than TWO_PHASE_INQUIRY_AFTER_MS, now and for ' +
            'all of them. unreachable: the coordinator did not answer, the transaction stays prepared (its rows locked); ' +
            'unknown: not decided yet.',
          security: [{ adminToken: [] }],
          response: {
            200: z.object({
              committed: z.number().int(),
              rolledBack: z.number().int(),
              unknown: z.number().int(),
              unreachable: z.number().int(),
            }),
          },
        },
      },
      async () => {
        const { committed, rolledBack, unknown, unreachable } = await inquiry.sweep({ all: true });
        return { committed, rolledBack, unknown, unreachable };
      },
    );
  }
  app.get(
    '/v1/admin/two-phase/prepared',
    {
      onRequest: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        summary: 'The two-phase checkout’s transactions prepared here and not finished (pg_prepared_xacts)',
        description:
          'Each holds its rows locked until the coordinator (order) sends COMMIT PREPARED or ROLLBACK PREPARED.',
        security: [{ adminToken: [] }],
        response: {
          200: z.object({
            prepared: z.array(
              z.object({
                transactionId: z.string(),
                orderId: z.string(),
                preparedAt: z.string(),
                ageMs: z.number().int(),
              }),
            ),
          }),
        },
      },
    },
    async () => {
      const now = Date.now();
      const prepared = await listPrepared(deps.db);
      return {
        prepared: prepared.map((p) => ({
          transactionId: p.gid,
          orderId: p.orderId,
          preparedAt: p.preparedAt.toISOString(),
          ageMs: Math.max(0, now - p.preparedAt.getTime()),
        })),
      };
    },
  );
}
