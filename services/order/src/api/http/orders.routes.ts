import type { AuthenticatedUser, HttpApp } from '@shoplab/chassis';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { OrderQueries } from '../../application/order-queries';
import { MAX_PAGE_SIZE } from '../../domain/cursor';
import { orderSchema, timelineSortSchema } from './order.schemas';

export function registerOrderRoutes(
  app: HttpApp,
  deps: { queries: OrderQueries; authenticate: (request: FastifyRequest) => Promise<void> },
): void {
  app.get(
    '/v1/orders',
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ['orders'],
        summary: 'The caller’s orders, newest first',
        security: [{ bearerAuth: [] }],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
          cursor: z.string().min(1).max(200).optional().describe('nextCursor of the previous page'),
        }),
        response: { 200: z.object({ items: z.array(orderSchema), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => {
      const user = request.user as AuthenticatedUser;
      const page = await deps.queries.list(user.id, request.query);
      return { items: page.orders, nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    '/v1/orders/:id',
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ['orders'],
        summary: 'One of the caller’s orders, with its saga timeline',
        security: [{ bearerAuth: [] }],
        params: z.object({ id: z.string().max(100) }),
        querystring: z.object({ sort: timelineSortSchema }),
        response: { 200: orderSchema },
      },
    },
    async (request) => {
      const user = request.user as AuthenticatedUser;
      return deps.queries.get(user.id, request.params.id, request.query.sort);
    },
  );
}
