// The two-phase checkout's admin routes (docs/patterns/two-phase-commit.md): its decision log's
// unfinished transactions, the chaos hook that holds checkouts between prepare and commit
// (exercise 18), and the question a participant asks about a transaction it held too long.
import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { TwoPhaseCoordinator, TwoPhaseLog } from '../../application/two-phase-coordinator';
import type { TwoPhaseRecord } from '../../domain/two-phase';

const PAUSE_POINTS = ['none', 'prepared', 'decided'] as const;

const chaosSchema = z.object({
  pauseAt: z
    .enum(PAUSE_POINTS)
    .describe('`prepared`: both participants prepared, nothing decided; `decided`: COMMIT logged, not yet sent'),
  pauseMs: z.number().int().min(0).max(600_000).describe('how long each two-phase checkout is held there'),
});

const recordSchema = z.object({
  orderId: z.string(),
  participants: z.array(z.string()),
  decision: z.enum(['COMMIT', 'ABORT']).nullable(),
  reason: z.string().nullable(),
  startedAt: z.string(),
  decidedAt: z.string().nullable(),
});

function wire(r: TwoPhaseRecord) {
  return {
    orderId: r.orderId,
    participants: r.participants,
    decision: r.decision ?? null,
    reason: r.reason ?? null,
    startedAt: r.startedAt.toISOString(),
    decidedAt: r.decidedAt?.toISOString() ?? null,
  };
}

export function registerTwoPhaseRoutes(
  app: HttpApp,
  deps: { coordinator: TwoPhaseCoordinator; log: TwoPhaseLog; adminToken: string },
): void {
  const { coordinator } = deps;
  const onRequest = requireAdminToken(deps.adminToken);
  const chaosView = () => ({ pauseAt: coordinator.chaos.pause.at, pauseMs: coordinator.chaos.pause.ms });
  app.get(
    '/v1/admin/two-phase',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: 'The two-phase checkout: its chaos hook and the transactions of its decision log not finished yet',
        security: [{ adminToken: [] }],
        response: { 200: z.object({ chaos: chaosSchema, unfinished: z.array(recordSchema) }) },
      },
    },
    async () => ({ chaos: chaosView(), unfinished: (await deps.log.unfinished()).map(wire) }),
  );
  app.put(
    '/v1/admin/two-phase/chaos',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: 'Hold every two-phase checkout between prepare and commit (a chaos hook for exercise 18)',
        description:
          'While a checkout is held its participants keep their prepared transactions, and the rows they locked, ' +
          'in pg_prepared_xacts. Kill the order service meanwhile to leave them in doubt until it restarts and ' +
          'recovers. Not persisted: a restart turns the hook off.',
        security: [{ adminToken: [] }],
        body: chaosSchema,
        response: { 200: chaosSchema },
      },
    },
    async (request) => {
      coordinator.chaos.pause = { at: request.body.pauseAt, ms: request.body.pauseMs };
      return chaosView();
    },
  );
  app.get(
    '/v1/admin/two-phase/:orderId/decision',
    {
      onRequest,
      schema: {
        tags: ['admin'],
        summary: 'The decision of an order’s two-phase transaction, as a participant in doubt asks for it',
        description:
          'COMMIT or ABORT as logged; ABORT for an order the log does not know. An undecided transaction is ' +
          'UNKNOWN while its coordinator may still decide (TWO_PHASE_DECISION_TIMEOUT_MS), and after that this ' +
          'question decides it ABORT (presumed abort): the coordinator can then never commit it. The participants ' +
          'ask the same over gRPC (order.v1.OrderService/GetTwoPhaseDecision).',
        security: [{ adminToken: [] }],
        params: z.object({ orderId: z.uuid() }),
        response: { 200: z.object({ orderId: z.string(), decision: z.enum(['COMMIT', 'ABORT', 'UNKNOWN']) }) },
      },
    },
    async (request) => ({
      orderId: request.params.orderId,
      decision: await coordinator.inquire(request.params.orderId.toLowerCase()),
    }),
  );
}
