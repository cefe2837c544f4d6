// The audit's view of the cart (docs/reference.md#audit, invariant 7: a cart is cleared only by a
// confirmed order), behind the admin token: which orders took their purchase out of a cart.
import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client';

const clearanceSchema = z.object({
  orderId: z.string(),
  userId: z.string(),
  /** The shop.order.confirmed.v1 event that did it. */
  eventId: z.string(),
  /** Units actually removed (less than bought when the buyer had changed the cart since). */
  removedUnits: z.number().int(),
  clearedAt: z.string(),
});

export function registerAdminRoutes(app: HttpApp, deps: { prisma: PrismaClient; adminToken: string }): void {
  app.get(
    '/v1/admin/clearances',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: 'Every order whose confirmation took its purchase out of a cart, oldest first (for the audit)',
        response: { 200: z.object({ clearances: z.array(clearanceSchema) }) },
      },
    },
    async () => {
      const rows = await deps.prisma.orderClearance.findMany({ orderBy: [{ clearedAt: 'asc' }, { orderId: 'asc' }] });
      return {
        clearances: rows.map((row) => ({
          orderId: row.orderId,
          userId: row.userId,
          eventId: row.eventId,
          removedUnits: (row.removed as { quantity?: number }[]).reduce((sum, r) => sum + (r.quantity ?? 0), 0),
          clearedAt: row.clearedAt.toISOString(),
        })),
      };
    },
  );
}
