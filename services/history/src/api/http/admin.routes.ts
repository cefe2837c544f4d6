// The read model's operations, behind the admin token: its lag per source topic, and the
// rebuild (drop, replay the topics from the start under new consumer groups) with its progress.
import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import { type LagSources, readLag } from '../../infrastructure/lag';
import type { HistoryProjector } from '../../infrastructure/projector';

const rebuildSchema = z.object({
  state: z.enum(['idle', 'running', 'done', 'failed']),
  generation: z.number().int(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  elapsedSeconds: z.number(),
  eventsApplied: z.number().int().describe('events the new generation applied so far'),
  targetEvents: z
    .number()
    .int()
    .describe(
      'messages the topics held when the rebuild started (a redelivered copy counts here, not in eventsApplied)',
    ),
  documents: z.number().int(),
  error: z.string().nullable(),
});

const lagSchema = z.object({
  topics: z.array(
    z.object({
      topic: z.string(),
      groupId: z.string(),
      events: z.number().int(),
      seconds: z.number().nullable(),
      eventsApplied: z.number().int(),
      lastEventAt: z.string().nullable(),
    }),
  ),
});

export function registerAdminRoutes(
  app: HttpApp,
  deps: { projector: HistoryProjector; lag: LagSources; adminToken: string },
): void {
  const common = { preHandler: requireAdminToken(deps.adminToken) };
  const schema = { tags: ['admin'], security: [{ adminToken: [] }] };
  // The lag is an operator's figure (the admin listener) and part of every history answer the
  // gateway gives (its public-port path, still behind the admin token: the gateway holds it).
  for (const path of ['/admin/history/lag', '/v1/history/lag']) {
    app.get(
      path,
      {
        ...common,
        schema: {
          ...schema,
          summary: "The read model's lag per source topic (events and seconds)",
          response: { 200: lagSchema },
        },
      },
      async () => ({ topics: await readLag(deps.lag) }),
    );
  }
  app.post(
    '/admin/history/rebuild',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Drop the read model and replay the source topics from the start (202; poll GET for progress)',
        response: { 202: rebuildSchema },
      },
    },
    async (_request, reply) => reply.code(202).send(await deps.projector.startRebuild()),
  );
  app.get(
    '/admin/history/rebuild',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'The last rebuild: state, events applied, documents, elapsed',
        response: { 200: rebuildSchema },
      },
    },
    async () => deps.projector.rebuildStatus(),
  );
}
