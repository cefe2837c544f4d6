// The audit's view of a service's messaging (ARCHITECTURE.md §8, invariant 6): its outbox
// (every row published?) and its consumers (how many event ids each group applied), behind
// the admin token. `shopctl audit` reads these from every service that has them.
import { z } from 'zod';
import { type HttpApp, requireAdminToken } from './http';

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

/** `GET /admin/outbox` and `GET /admin/consumers`, behind the admin token. */
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
}
