// Behind the admin token: the audit's view of stock (docs/reference.md#audit, invariant 4) and
// adding products with their stock.
import { type HttpApp, requireAdminToken, ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import type { ManageProducts } from '../../application/manage-products';
import type { StockAuditReader } from '../../application/ports';
import { RESERVATION_STATUSES, stockBalances } from '../../domain/stock';
import { productSchema } from './product.routes';

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

/** PostgreSQL's integer columns hold at most this. */
const MAX_INT = 2_147_483_647;

const newProduct = z
  .object({
    sku: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, `.`, `_` and `-`, at most 64')
      .optional()
      .describe('unique; default: derived from the generated id'),
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().max(2000).optional(),
    // As long as GET /v1/products?category= accepts.
    category: z.string().trim().min(1).max(50),
    price: z.object({
      amount: z.number().int().min(0).max(MAX_INT).describe('minor units'),
      currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD'),
    }),
    imageUrl: z.url().max(500).optional(),
    stock: z
      .number()
      .int()
      .min(0)
      .max(MAX_INT)
      .describe('units for sale: the stock row starts with initial = available'),
  })
  .strict();

export function registerAdminRoutes(
  app: HttpApp,
  deps: { audit: StockAuditReader; products: ManageProducts; adminToken: string },
): void {
  const options = { preHandler: requireAdminToken(deps.adminToken) };
  const common = { tags: ['admin'], security: [{ adminToken: [] }] };
  app.post(
    '/v1/admin/products',
    {
      ...options,
      schema: {
        ...common,
        summary: 'Adds a product with its stock (and writes shop.catalog.product_created.v1)',
        body: newProduct,
        response: { 201: productSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await deps.products.add(request.body)),
  );
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
    '/v1/admin/reservations',
    {
      ...options,
      schema: {
        ...common,
        summary: 'Every reservation’s status by its id (the order id): what the audit compares with the orders',
        response: { 200: z.object({ statuses: z.record(z.string(), z.enum(RESERVATION_STATUSES)) }) },
      },
    },
    async () => ({ statuses: await deps.audit.reservationStatuses() }),
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
