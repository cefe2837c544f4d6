import { requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { RouteGroup } from './context';
import { adminBearer } from './schemas';

const bulkheadStatusSchema = z.object({
  enabled: z.boolean(),
  compartments: z.array(
    z.object({
      name: z.enum(['reads', 'checkout', 'shared']),
      maxConcurrent: z.number().int(),
      maxQueue: z.number().int(),
      active: z.number().int(),
      queued: z.number().int(),
    }),
  ),
});
const eventsModeSchema = z.object({ mode: z.enum(['streaming', 'polling']) });

/**
 * The before/after switches of the gateway's bulkheads (docs/patterns/bulkhead.md) and of how
 * the order events follow an order (docs/patterns/streaming.md), behind the admin token. Not
 * persisted: a restart returns to the configuration.
 */
export const switchRoutes: RouteGroup = (app, { downstreams, orders, config }) => {
  app.addHook('preHandler', requireAdminToken(config.ADMIN_TOKEN));
  const common = { tags: ['admin'], security: adminBearer };

  app.get(
    '/admin/bulkheads',
    {
      schema: {
        ...common,
        summary: 'The bulkheads’ compartments and their use',
        response: { 200: bulkheadStatusSchema },
      },
    },
    async () => downstreams.bulkheads.status(),
  );

  app.put(
    '/admin/bulkheads',
    {
      schema: {
        ...common,
        summary: 'Turn the bulkheads on (a compartment per call path) or off (one shared pool)',
        body: z.object({ enabled: z.boolean() }),
        response: { 200: bulkheadStatusSchema },
      },
    },
    async (request) => downstreams.bulkheads.setEnabled(request.body.enabled),
  );

  app.get(
    '/admin/order-events',
    { schema: { ...common, summary: 'How the order events follow an order', response: { 200: eventsModeSchema } } },
    async () => ({ mode: orders.eventsMode }),
  );

  app.put(
    '/admin/order-events',
    {
      schema: {
        ...common,
        summary: 'Follow orders with a WatchOrder stream (`streaming`) or by reading them every 500 ms (`polling`)',
        body: eventsModeSchema,
        response: { 200: eventsModeSchema },
      },
    },
    async (request) => {
      orders.eventsMode = request.body.mode;
      return { mode: orders.eventsMode };
    },
  );
};
