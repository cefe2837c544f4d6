import { faultRuleInputSchema, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import { DOWNSTREAMS } from '../../config';
import type { RouteGroup } from './context';
import { adminBearer } from './schemas';

const auditReportSchema = z.object({
  ok: z.boolean().describe('false when any invariant FAILs'),
  checkedAt: z.string(),
  results: z.array(
    z.object({
      invariant: z.number().int(),
      name: z.string(),
      verdict: z.enum(['PASS', 'FAIL', 'SKIP']),
      counts: z.record(z.string(), z.number()),
      details: z.array(z.string()),
    }),
  ),
});

const serviceParams = z.object({ service: z.enum([...DOWNSTREAMS, 'gateway']) });

/** Operations through the gateway, behind the admin token. */
export const adminRoutes: RouteGroup = (app, { admin, config }) => {
  app.addHook('preHandler', requireAdminToken(config.ADMIN_TOKEN));
  const common = { tags: ['admin'], security: adminBearer };

  app.get(
    '/admin/services',
    { schema: { ...common, summary: 'Every downstream’s instances (from the registry) and their /readyz' } },
    async () => ({ items: await admin.services() }),
  );

  app.get(
    '/admin/audit',
    {
      schema: {
        ...common,
        summary: 'The audit’s invariants (docs/reference.md#audit), checked through every service’s admin API',
        response: { 200: auditReportSchema },
      },
    },
    async () => admin.audit(),
  );

  app.get('/admin/breakers', { schema: { ...common, summary: 'The gateway’s circuit breakers' } }, async () =>
    admin.breakerList(),
  );

  app.put(
    '/admin/breakers',
    {
      schema: {
        ...common,
        summary: 'Turn every breaker of the gateway on, or off (pass-through)',
        body: z.object({ enabled: z.boolean() }),
      },
    },
    async (request) => admin.setBreakersEnabled(request.body.enabled),
  );

  app.put(
    '/admin/chaos/:service',
    {
      schema: {
        ...common,
        summary: 'Add a fault rule to every instance of a service (`gateway`: this gateway)',
        params: serviceParams,
        body: faultRuleInputSchema,
      },
    },
    async (request, reply) => {
      const results = await admin.addFault(request.params.service, request.body);
      return reply.code(201).send({ service: request.params.service, results });
    },
  );

  app.delete(
    '/admin/chaos/:service',
    {
      schema: {
        ...common,
        summary: 'Clear every fault rule of a service (`gateway`: this gateway)',
        params: serviceParams,
      },
    },
    async (request) => ({ service: request.params.service, results: await admin.clearFaults(request.params.service) }),
  );
};
