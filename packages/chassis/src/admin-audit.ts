// The audit's view of a service's messaging (docs/reference.md#audit, invariant 6): its outbox
// (every row published?) and its consumers (how many event ids each group applied), behind
// the admin token. `shopctl audit` reads these from every service that has them.
import { z } from 'zod';
import { type HttpApp, requireAdminToken } from './http';
import { OUTBOX_CHANNEL } from './outbox-table';
import { PUBLISH_MODES, publishSwitch } from './publish-switch';
import { RELAY_MODES, relayStatusSchema, relaySwitch } from './relay-switch';

/** Anything that runs one SQL statement and returns its rows: a `pg.Pool`, or `prismaAuditPool(prisma)`. */
export interface AuditPool {
  query(sql: string): Promise<{ rows: unknown[] }>;
}

/** Adapts a PrismaClient (`$queryRawUnsafe`) to the `AuditPool` the audit routes read with. */
export function prismaAuditPool(prisma: { $queryRawUnsafe(sql: string): Promise<unknown> }): AuditPool {
  return { query: async (sql) => ({ rows: (await prisma.$queryRawUnsafe(sql)) as unknown[] }) };
}

export const outboxAuditSchema = z.object({
  unpublished: z.number().int(),
  published: z.number().int(),
  /** Age of the oldest row not yet published; 0 when every row is published. */
  oldestUnpublishedAgeSeconds: z.number(),
  /** The latest relay error recorded on a row still unpublished, or null. */
  lastError: z.string().nullable(),
  /** How events leave the service: `outbox`, or `direct` (the dual write of the exercises' before switch). */
  mode: z.enum(PUBLISH_MODES),
  /** How the relay finds rows: `poll` (the table) or `wal` (the write-ahead log). */
  relay: z.enum(RELAY_MODES),
});
export type OutboxAudit = z.infer<typeof outboxAuditSchema>;

export const consumersAuditSchema = z.object({
  groups: z.array(z.object({ group: z.string(), processed: z.number().int() })),
  /** Event ids applied more than once by one group; the primary key makes this 0. */
  duplicateIds: z.number().int(),
});
export type ConsumersAudit = z.infer<typeof consumersAuditSchema>;

// Casts keep the numbers plain (Prisma returns bigint for count(*), numeric for extract()).
const OUTBOX_SQL = `
SELECT count(*) FILTER (WHERE published_at IS NULL)::int AS unpublished,
       count(*) FILTER (WHERE published_at IS NOT NULL)::int AS published,
       coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE published_at IS NULL)), 0)::float8 AS oldest,
       (SELECT last_error FROM outbox
         WHERE published_at IS NULL AND last_error IS NOT NULL
         ORDER BY id DESC LIMIT 1) AS last_error
  FROM outbox`;

const CONSUMERS_SQL = `
SELECT consumer_group AS "group", count(*)::int AS processed,
       (count(*) - count(DISTINCT event_id))::int AS duplicates
  FROM processed_events
 GROUP BY consumer_group
 ORDER BY consumer_group`;

/** Reads the outbox counters. */
export async function readOutboxAudit(pool: AuditPool): Promise<OutboxAudit> {
  const { rows } = await pool.query(OUTBOX_SQL);
  const row = rows[0] as { unpublished: number; published: number; oldest: number; last_error: string | null };
  return {
    unpublished: Number(row.unpublished),
    published: Number(row.published),
    oldestUnpublishedAgeSeconds: Math.max(0, Number(row.oldest)),
    lastError: row.last_error ?? null,
    mode: publishSwitch.mode,
    relay: relaySwitch.mode,
  };
}

/** Reads how many event ids each consumer group applied. */
export async function readConsumersAudit(pool: AuditPool): Promise<ConsumersAudit> {
  const { rows } = await pool.query(CONSUMERS_SQL);
  const groups = (rows as { group: string; processed: number; duplicates: number }[]).map((r) => ({
    group: r.group,
    processed: Number(r.processed),
    duplicates: Number(r.duplicates),
  }));
  return {
    groups: groups.map(({ group, processed }) => ({ group, processed })),
    duplicateIds: groups.reduce((sum, g) => sum + g.duplicates, 0),
  };
}

const publishModeSchema = z.object({ mode: z.enum(PUBLISH_MODES) });
const relayModeSchema = z.object({ mode: z.enum(RELAY_MODES) });

export const outboxReplaySchema = z.object({
  /** How many of the most recently published rows to publish again. */
  last: z.number().int().min(1).max(1000),
});

export const outboxReplayedSchema = z.object({
  replayed: z.number().int(),
  eventIds: z.array(z.string()),
});

/**
 * Marks the `last` most recently published rows unpublished, so the relay publishes them again:
 * the at-least-once redelivery a relay crash between Kafka's ack and its commit would cause
 * (exercise 6). Consumers must skip them (processed_events). One statement, `last` is validated.
 */
export async function replayOutbox(pool: AuditPool, last: number): Promise<z.infer<typeof outboxReplayedSchema>> {
  if (!Number.isInteger(last) || last < 1 || last > 1000) throw new RangeError('last must be an integer 1..1000');
  const { rows } = await pool.query(`
    WITH replayed AS (
      UPDATE outbox SET published_at = NULL
       WHERE id IN (SELECT id FROM outbox WHERE published_at IS NOT NULL ORDER BY id DESC LIMIT ${last})
   RETURNING event_id::text AS event_id)
    SELECT replayed.event_id, pg_notify('${OUTBOX_CHANNEL}', '') IS NULL AS notified FROM replayed`);
  const eventIds = (rows as { event_id: string }[]).map((r) => r.event_id);
  return { replayed: eventIds.length, eventIds };
}

/**
 * `GET /admin/outbox`, `GET /admin/consumers`, and the exercises' switches
 * `PUT /admin/outbox/mode`, `PUT /admin/outbox/relay` and `POST /admin/outbox/replay`, behind the admin token.
 */
export function registerOutboxAudit(app: HttpApp, options: { pool: AuditPool; adminToken: string }): void {
  const common = {
    preHandler: requireAdminToken(options.adminToken),
  };
  const schema = { tags: ['admin'], security: [{ adminToken: [] }] };
  app.get(
    '/admin/outbox',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Outbox rows published and not yet published (for the audit)',
        response: { 200: outboxAuditSchema },
      },
    },
    async () => readOutboxAudit(options.pool),
  );
  app.get(
    '/admin/consumers',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Event ids applied per consumer group (for the audit)',
        response: { 200: consumersAuditSchema },
      },
    },
    async () => readConsumersAudit(options.pool),
  );
  app.put(
    '/admin/outbox/mode',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Switch how events leave the service: outbox (default) or direct (the dual write, for exercises)',
        body: publishModeSchema,
        response: { 200: publishModeSchema },
      },
    },
    async (request) => ({ mode: publishSwitch.set(request.body.mode) }),
  );
  app.get(
    '/admin/outbox/relay',
    {
      ...common,
      schema: {
        ...schema,
        summary: "How the outbox relay finds rows, and its replication slot's position (wal mode)",
        response: { 200: relayStatusSchema },
      },
    },
    async () => relaySwitch.status(),
  );
  app.put(
    '/admin/outbox/relay',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Switch how the outbox relay finds rows: poll (the table, default) or wal (the write-ahead log)',
        body: relayModeSchema,
        response: { 200: relayModeSchema },
      },
    },
    async (request) => ({ mode: await relaySwitch.set(request.body.mode) }),
  );
  app.post(
    '/admin/outbox/replay',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Publish the last N published outbox rows again (a duplicate delivery, for exercises)',
        body: outboxReplaySchema,
        response: { 200: outboxReplayedSchema },
      },
    },
    async (request) => replayOutbox(options.pool, request.body.last),
  );
}
