import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { OrderQueries } from '../../application/order-queries';
import { CHECKOUT_MODES, type CheckoutModeSwitch } from '../../domain/checkout-mode';
import { ORDER_STATUSES } from '../../domain/order';
import type { EndEventRepublisher } from '../../infrastructure/end-events.repository';
import { moneySchema } from './order.schemas';

export function registerAdminRoutes(
  app: HttpApp,
  deps: {
    queries: OrderQueries;
    republisher: EndEventRepublisher;
    adminToken: string;
    checkoutMode: CheckoutModeSwitch;
  },
): void {
  const checkoutModeSchema = z.object({
    mode: z.enum(CHECKOUT_MODES).describe('the mode the next checkouts get'),
    available: z.array(z.enum(CHECKOUT_MODES)).describe('the modes this order service runs to the end'),
  });
  app.get(
    '/v1/admin/checkout-mode',
    {
      onRequest: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        summary: 'The checkout mode new orders get, and the modes available',
        security: [{ adminToken: [] }],
        response: { 200: checkoutModeSchema },
      },
    },
    async () => ({ mode: deps.checkoutMode.mode, available: deps.checkoutMode.modes }),
  );
  app.put(
    '/v1/admin/checkout-mode',
    {
      onRequest: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        summary: 'Switch the checkout mode of the next checkouts (each order keeps the mode it was created in)',
        description:
          'A before/after switch (ADR 13): `orchestrated` is the checkout saga. A mode this service does not run ' +
          'is refused with 409, so no order is recorded in a mode nothing drives. Not persisted: a restart returns ' +
          'to CHECKOUT_MODE.',
        security: [{ adminToken: [] }],
        body: z.object({ mode: z.enum(CHECKOUT_MODES) }),
        response: { 200: checkoutModeSchema },
      },
    },
    async (request) => {
      deps.checkoutMode.set(request.body.mode);
      return { mode: deps.checkoutMode.mode, available: deps.checkoutMode.modes };
    },
  );
  app.post(
    '/v1/admin/orders/republish',
    {
      onRequest: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        summary: 'Re-emit the end event of every ended order whose event is not in the outbox',
        description:
          'The repair after publishing directly (the dual write of exercise 5): writes shop.order.confirmed.v1 or ' +
          'shop.order.cancelled.v1 to the outbox for each CONFIRMED or CANCELLED order that has none. Safe to repeat: ' +
          'the consumers apply each order once. 409 while the publish mode is `direct`.',
        security: [{ adminToken: [] }],
        response: {
          200: z.object({ republished: z.number().int(), orderIds: z.array(z.string()) }),
        },
      },
    },
    async () => deps.republisher.republishMissing(),
  );
  app.get(
    '/v1/admin/orders/summary',
    {
      onRequest: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        summary: 'Orders by status and the sum of confirmed totals (for the audit)',
        security: [{ adminToken: [] }],
        response: {
          200: z.object({
            byStatus: z.object({ PENDING: z.number(), CONFIRMED: z.number(), CANCELLED: z.number() }),
            confirmedTotals: z.array(moneySchema).describe('one entry per currency'),
            paymentInstructionsHeld: z
              .number()
              .describe(
                'sealed cards still held (orders not yet authorized and not ended); 0 when every saga has ended',
              ),
          }),
        },
      },
    },
    async () => deps.queries.summary(),
  );
  app.get(
    '/v1/admin/orders/audit',
    {
      onRequest: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        summary: 'Every order (created at or after `since`), oldest first, for the audit',
        security: [{ adminToken: [] }],
        querystring: z.object({
          since: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 timestamp'),
        }),
        response: {
          200: z.object({
            orders: z.array(
              z.object({
                id: z.string(),
                status: z.enum(ORDER_STATUSES),
                total: moneySchema,
                paymentId: z.string().nullable(),
                createdAt: z.string(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const since = request.query.since ? new Date(request.query.since) : undefined;
      const orders = await deps.queries.auditList(since);
      return { orders: orders.map((o) => ({ ...o, createdAt: o.createdAt.toISOString() })) };
    },
  );
}
