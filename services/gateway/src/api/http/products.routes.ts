import { z } from 'zod';
import type { RouteGroup } from './context';
import { problemResponses, productDetailSchema, productPageSchema } from './schemas';

/** Browsing the catalog; no sign-in needed. */
export const productRoutes: RouteGroup = (app, { products }) => {
  app.get(
    '/products',
    {
      schema: {
        tags: ['products'],
        summary: 'A page of products, filtered by category and/or text',
        querystring: z.object({
          // As long as the catalog accepts: a longer value is this route's 400, not the catalog's.
          category: z.string().max(50).optional(),
          q: z.string().max(100).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().max(500).optional(),
        }),
        response: { 200: productPageSchema, ...problemResponses(504) },
      },
    },
    async (request) => products.list(request.query),
  );

  app.get(
    '/products/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'A product with its live stock',
        description:
          'When the catalog does not answer, a product seen in the last minute is served from the cache with `available: null` and `degraded: ["stock"]`; otherwise 503.',
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: productDetailSchema, ...problemResponses(404, 504) },
      },
    },
    async (request) => products.get(request.params.id),
  );
};
