import { z } from 'zod';
import type { RouteGroup } from './context';
import { CATALOGUE_CACHE_CONTROL, maxStaleMs, NO_STORE } from './http-cache';
import { problemResponses, productDetailSchema, productPageSchema } from './schemas';

/** The validator a client kept from an earlier answer: a matching one is answered 304 with no body. */
const ifNoneMatch = z
  .string()
  .max(200)
  .optional()
  .describe('the `ETag` of an earlier answer: 304 with no body when the answer is still the same');
const notModified = z
  .null()
  .describe('Not Modified: the answer has the ETag sent in If-None-Match (no body; ETag and Cache-Control as for 200)');

/**
 * Browsing the catalog; no sign-in needed. Both routes are cacheable (docs/patterns/caching.md):
 * a strong ETag, Cache-Control, and 304 for a conditional GET whose If-None-Match matches; the
 * scope that registers them adds the ETag and the 304 (http-cache.ts).
 */
export const productRoutes: RouteGroup = (app, { products }) => {
  app.get(
    '/products',
    {
      schema: {
        tags: ['products'],
        summary: 'A page of products, filtered by category and/or text',
        description: `Cacheable: \`ETag\` (strong, from the answer's content) and \`Cache-Control: ${CATALOGUE_CACHE_CONTROL}\`; send the ETag back in If-None-Match and an unchanged page is a 304 with no body.`,
        headers: z.looseObject({ 'if-none-match': ifNoneMatch }),
        querystring: z.object({
          // As long as the catalog accepts: a longer value is this route's 400, not the catalog's.
          category: z.string().max(50).optional(),
          q: z.string().max(100).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().max(500).optional(),
        }),
        response: { 200: productPageSchema, 304: notModified, ...problemResponses(504) },
      },
    },
    async (request, reply) => {
      const page = await products.list(request.query);
      reply.header('cache-control', CATALOGUE_CACHE_CONTROL);
      return page;
    },
  );

  app.get(
    '/products/:id',
    {
      schema: {
        tags: ['products'],
        summary: 'A product with its live stock',
        description:
          'When the catalog does not answer, a product seen in the last minute is served from the gateway’s cache with `available: null` and `degraded: ["stock"]`; otherwise 503. ' +
          'A client that prefers a fast answer to a current one sends `Cache-Control: max-stale` (or `max-stale=<seconds>`): a product the gateway remembers (from at most that long ago) is then served as remembered, stock included, without asking the catalog. ' +
          `An answer from the gateway's cache carries \`Age\` (seconds since the catalog gave it) and \`Cache-Control: ${NO_STORE}\`; a live one \`Cache-Control: ${CATALOGUE_CACHE_CONTROL}\`. ` +
          'Every 200 has a strong `ETag`; send it back in If-None-Match and an unchanged answer is a 304 with no body.',
        headers: z.looseObject({
          'if-none-match': ifNoneMatch,
          'cache-control': z
            .string()
            .max(200)
            .optional()
            .describe('`max-stale` or `max-stale=<seconds>`: an answer from the gateway’s cache is acceptable'),
        }),
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: productDetailSchema, 304: notModified, ...problemResponses(404, 504) },
      },
    },
    async (request, reply) => {
      const answer = await products.get(request.params.id, {
        maxStaleMs: maxStaleMs(request.headers['cache-control']),
      });
      if (answer.ageMs === null) {
        reply.header('cache-control', CATALOGUE_CACHE_CONTROL);
      } else {
        reply.header('cache-control', NO_STORE).header('age', String(Math.floor(answer.ageMs / 1000)));
      }
      return answer.product;
    },
  );
};
