// The audit's view of stock (ARCHITECTURE.md §8, invariant 4), behind the admin token.
import { type HttpApp, requireAdminToken, ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import type { StockAuditReader } from '../../application/ports';
import { RESERVATION_STATUSES, stockBalances } from '../../domain/stock';

const stockLevel = z.object({
  id: z.string(),
  initial: z.number().int(),
  available: z.number().int(),
  reserved: z.number().int(),
  sold: z.number().int(),
  /** Units bought in confirmed orders (from order.events); equals `sold` once the consumer has caught up. */
  confirmedUnitsSold: z.number().int(),
});
const statusCounts = z.object(Object.fromEntries(RESERVATION_STATUSES.map((s) => [s, z.number().int()])));
const line = z.object({ productId: z.string(), quantity: z.number().int() });

export function registerAdminRoutes(app: HttpApp, deps: { audit: StockAuditReader; adminToken: string }): void {
  const options = { preHandler: requireAdminToken(deps.adminToken) };
  const common = { tags: ['admin'], security: [{ adminToken: [] }] };
  app.get(
    '/v1/admin/stock',
    {
      ...options,
      schema: {
        ...common,
        summary: 'Stock counters and units sold in confirmed orders per product, and reservations by status',
        response: {
          200: z.object({
            products: z.array(stockLevel),
            reservationsByStatus: statusCounts,
            /** Ids of products whose counters break initial = available + reserved + sold. */
            violations: z.array(z.string()),
          }),
        },
      },
    },
    async () => {
      const report = await deps.audit.report();
      return {
        products: report.products.map(({ productId, ...counts }) => ({ id: productId, ...counts })),
        reservationsByStatus: report.reservationsByStatus,
        violations: report.products.filter((p) => !stockBalances(p)).map((p) => p.productId),
      };
    },
  );
  app.get(
    '/v1/admin/reservations/:id',
    {
      ...options,
      schema: {
        ...common,
        summary: 'One reservation (the id is the order id)',
        params: z.object({ id: z.string().min(1).max(200) }),
        response: {
          200: z.object({
            id: z.string(),
            status: z.enum(RESERVATION_STATUSES),
            lines: z.array(line),
            createdAt: z.string(),
            updatedAt: z.string(),
          }),
        },
      },
    },
    async (request) => {
      const reservation = await deps.audit.reservation(request.params.id);
      if (!reservation) {
        throw new ShopError('SHOP_NOT_FOUND', `No reservation ${request.params.id}`, {
          reservationId: request.params.id,
        });
      }
      return {
        ...reservation,
        createdAt: reservation.createdAt.toISOString(),
        updatedAt: reservation.updatedAt.toISOString(),
      };
    },
  );
}
