// The order history (the read side of CQRS, services/history) through the gateway: the caller's
// own orders, and the admin search over every user. Each answer carries the read side's lag and
// its freshness (docs/patterns/cqrs.md#read-your-writes).
import { requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import { callerOf, type RouteGroup } from './context';
import { adminBearer, moneySchema, nonBlankText, problemResponses, userBearer } from './schemas';

const historyStatusSchema = z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']);

const historyDocumentSchema = z.object({
  orderId: z.string(),
  userId: z.string().nullable().describe('null while only payment events of the order have arrived'),
  status: historyStatusSchema.nullable(),
  items: z.array(
    z.object({
      productId: z.string(),
      name: z.string().nullable(),
      quantity: z.number().int(),
      unitPrice: moneySchema.nullable(),
      lineTotal: moneySchema.nullable(),
    }),
  ),
  total: moneySchema.nullable(),
  payment: z
    .object({
      paymentId: z.string(),
      status: z.string(),
      amount: moneySchema,
      captured: moneySchema,
      refunded: moneySchema,
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
  version: z.number().int().describe('events the read side applied to this document'),
  lastEventAt: z.string(),
});

const historyAnswerSchema = z.object({
  orders: z.array(historyDocumentSchema),
  nextCursor: z.string().nullable(),
  lag: z
    .object({
      events: z.number().int().describe('events not yet applied, over every source topic'),
      seconds: z.number().nullable().describe('how far behind, the largest over the topics; 0 when caught up'),
      topics: z.array(z.object({ topic: z.string(), events: z.number().int(), seconds: z.number().nullable() })),
    })
    .nullable()
    .describe('null when the lag could not be read (`degraded` names `lag`)'),
  freshness: z
    .enum(['current', 'being updated', 'unknown'])
    .describe(
      '`being updated`: the read side has not applied everything yet — for a shopper, their newest order (`behind`) is missing or has an older status; for the admin search, events are waiting. `unknown`: the check could not be made',
    ),
  behind: z
    .object({
      orderId: z.string(),
      status: z.string().describe('the order’s status at the order service'),
      historyStatus: z.string().nullable().describe('its status in the history; null when not in it yet'),
      historyVersion: z.number().int().nullable(),
    })
    .nullable()
    .describe('the caller’s newest order when the history does not show it as it is yet'),
  degraded: z
    .array(z.enum(['orders', 'lag']))
    .optional()
    .describe('Parts left out because a downstream failed; absent when the answer is complete'),
});

/** The read side's documents pass through as it made them; the response schema shapes them. */
type HistoryAnswerBody = z.infer<typeof historyAnswerSchema>;

const amount = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const filters = {
  q: nonBlankText(200).optional().describe('words of the product names (web search syntax)'),
  status: historyStatusSchema.optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('created at or after (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('created before (ISO 8601)'),
  minAmount: amount.optional().describe('total at least, minor units'),
  maxAmount: amount.optional().describe('total at most, minor units'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(500).optional().describe('`nextCursor` of the previous page'),
};

const mineQuerySchema = z.object(filters);
const searchQuerySchema = z.object({ userId: z.string().min(1).max(200).optional(), ...filters });

const description =
  'Served by the read side (the order history), which follows the order and payment events and may lag a moment behind the order pages. `lag` says by how much; `freshness` and `behind` say whether the caller’s newest order is in it yet. 400 when `from` is after `to` or `minAmount` above `maxAmount`; 503/504 when the history is unavailable.';

/** The caller's order history (behind `requireUser`). */
export const historyRoutes: RouteGroup = (app, { history }) => {
  app.get(
    '/orders/history',
    {
      schema: {
        tags: ['orders'],
        security: userBearer,
        summary: 'The caller’s order history: search by product words, status, date and amount, newest first',
        description,
        querystring: mineQuerySchema,
        response: { 200: historyAnswerSchema, ...problemResponses(400, 503, 504) },
      },
    },
    async (request) => (await history.mine(callerOf(request), request.query)) as HistoryAnswerBody,
  );
};

/** Every user's order history (behind the admin token). */
export const adminHistoryRoutes: RouteGroup = (app, { history, config }) => {
  app.get(
    '/admin/orders/search',
    {
      preHandler: requireAdminToken(config.ADMIN_TOKEN),
      schema: {
        tags: ['admin'],
        security: adminBearer,
        summary: 'Search every user’s orders in the order history',
        description,
        querystring: searchQuerySchema,
        response: { 200: historyAnswerSchema, ...problemResponses(400, 503, 504) },
      },
    },
    async (request) => (await history.all(request.query)) as HistoryAnswerBody,
  );
};
