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
const limitsSchema = z.object({
  maxConcurrent: z.number().int().min(1).max(10_000),
  maxQueue: z.number().int().min(0).max(10_000),
});
const eventsModeSchema = z.object({ mode: z.enum(['streaming', 'polling']) });
const productCacheSchema = z.object({
  fallback: z
    .boolean()
    .describe('true: a product page falls back on the gateway’s cache when the catalog fails; false: it answers 503'),
});

/**
 * The gateway's before/after switches, behind the admin token: its bulkheads
 * (docs/patterns/bulkhead.md), how the order events follow an order (docs/patterns/streaming.md),
 * and the product page's choice under partition (docs/patterns/cap-pacelc.md): available from the
 * gateway's cache (the default) or consistent and refused. Not persisted: a restart returns to the
 * configuration.
 */
export const switchRoutes: RouteGroup = (app, { downstreams, orders, products, config }) => {
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
        summary: 'Turn the bulkheads on (a compartment per call path) or off (one shared pool), and set their limits',
        description:
          'Without `limits` the compartments keep theirs (READS_/CHECKOUT_BULKHEAD_MAX_CONCURRENT and _MAX_QUEUE at start). Not persisted.',
        body: z.object({
          enabled: z.boolean(),
          limits: z.object({ reads: limitsSchema, checkout: limitsSchema }).optional(),
        }),
        response: { 200: bulkheadStatusSchema },
      },
    },
    async (request) => {
      if (request.body.limits) downstreams.bulkheads.resize(request.body.limits);
      return downstreams.bulkheads.setEnabled(request.body.enabled);
    },
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

  app.get(
    '/admin/product-cache',
    {
      schema: {
        ...common,
        summary: 'Whether product pages fall back on the gateway’s cache',
        response: { 200: productCacheSchema },
      },
    },
    async () => ({ fallback: products.fallback }),
  );

  app.put(
    '/admin/product-cache',
    {
      schema: {
        ...common,
        summary:
          'Let product pages fall back on the gateway’s cache when the catalog fails (true), or answer 503 (false)',
        description: 'Not persisted: a restart falls back again.',
        body: productCacheSchema,
        response: { 200: productCacheSchema },
      },
    },
    async (request) => {
      products.fallback = request.body.fallback;
      return { fallback: products.fallback };
    },
  );
};
