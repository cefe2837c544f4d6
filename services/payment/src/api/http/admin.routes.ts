// Admin REST: the ledger totals the audit (docs/reference.md#audit) checks orders against.
import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { PaymentService } from '../../application/payments';
import { PAYMENT_STATUSES } from '../../domain/payment';

const sums = {
  authorized: z.number().int(),
  captured: z.number().int(),
  voided: z.number().int(),
  refunded: z.number().int(),
  declined: z.number().int(),
};

const summarySchema = z.object({
  totals: z.array(z.object({ currency: z.string(), ...sums })),
  orders: z.array(
    z.object({
      orderId: z.string(),
      currency: z.string(),
      status: z.enum(PAYMENT_STATUSES),
      ...sums,
      captureCount: z.number().int(),
      refundCount: z.number().int(),
      paymentIds: z.array(z.string()),
    }),
  ),
});

export function registerAdminRoutes(app: HttpApp, deps: { payments: PaymentService; adminToken: string }): void {
  app.get(
    '/v1/admin/payments/summary',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: 'Ledger totals by currency and by order (authorized, captured, voided, refunded, declined)',
        querystring: z.object({}).strict(),
        response: { 200: summarySchema },
      },
    },
    async () => deps.payments.summary(),
  );
}
