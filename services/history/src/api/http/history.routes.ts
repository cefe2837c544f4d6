// The read side's public reads: the order search and one order's document (with its version, so
// a client can tell the read model has not caught up with what it last saw).
import { type HttpApp, ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import { checkBounds, DEFAULT_LIMIT, decodePosition, encodePosition, MAX_LIMIT } from '../../application/search';
import type { PrismaHistoryReads } from '../../infrastructure/history.store';

const money = z.object({ amount: z.number().int(), currency: z.string() });

export const orderDocumentSchema = z.object({
  orderId: z.string(),
  userId: z.string().nullable().describe('null while only payment events of the order have arrived'),
  status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']).nullable(),
  items: z.array(
    z.object({
      productId: z.string(),
      name: z.string().nullable(),
      quantity: z.number().int(),
      unitPrice: money.nullable(),
      lineTotal: money.nullable(),
    }),
  ),
  total: money.nullable(),
  payment: z
    .object({
      paymentId: z.string(),
      status: z.string(),
      amount: money,
      captured: money,
      refunded: money,
      declineReason: z.string().nullable(),
      updatedAt: z.string(),
    })
    .nullable(),
  outcome: z.object({ result: z.enum(['confirmed', 'cancelled']), reason: z.string().nullable() }).nullable(),
  timings: z.object({
    createdAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
  }),
  version: z.number().int().describe('events applied to this document (the last version the read side has)'),
  lastEventAt: z.string(),
});

const id = z.string().min(1).max(200);

export const searchQuerySchema = z.object({
  userId: id.optional(),
  q: z.string().trim().min(1).max(200).optional().describe('words of the product names (web search syntax)'),
  status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('created at or after'),
  to: z.iso.datetime({ offset: true }).optional().describe('created before'),
  minAmount: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('total, minor units'),
  maxAmount: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('total, minor units'),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
  cursor: z.string().min(1).max(500).optional().describe('nextCursor of the previous page'),
});

export function registerHistoryRoutes(app: HttpApp, deps: { reads: PrismaHistoryReads }): void {
  app.get(
    '/v1/history/orders',
    {
      schema: {
        tags: ['history'],
        summary: 'Search the order history, newest first (orders whose order.created the read side has applied)',
        querystring: searchQuerySchema,
        response: { 200: z.object({ orders: z.array(orderDocumentSchema), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => {
      const q = request.query as z.infer<typeof searchQuerySchema>;
      const query = {
        userId: q.userId,
        q: q.q,
        status: q.status,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        minAmount: q.minAmount,
        maxAmount: q.maxAmount,
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.cursor ? decodePosition(q.cursor) : undefined,
      };
      checkBounds(query);
      const page = await deps.reads.search(query);
      return { orders: page.orders, nextCursor: page.next ? encodePosition(page.next) : null };
    },
  );

  app.get(
    '/v1/history/orders/:id',
    {
      schema: {
        tags: ['history'],
        summary: "One order's history document and its version",
        params: z.object({ id }),
        response: { 200: orderDocumentSchema },
      },
    },
    async (request) => {
      const { id: orderId } = request.params as { id: string };
      const doc = await deps.reads.get(orderId);
      if (!doc) throw new ShopError('SHOP_NOT_FOUND', `No order ${orderId} in the history (yet)`, { orderId });
      return doc;
    },
  );
}
