// REST on the service's own port: quotes (what the strangler exercise loads) and a shipment by
// order; the strangler's switches behind the admin token.
import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { Shipping } from '../../application/shipping';
import type { Strangler } from '../../application/strangler';
import { BACKENDS, SHIPMENT_STATUSES } from '../../domain/shipment';

const money = z.object({ amount: z.number().int(), currency: z.string() });
const quoteSchema = z.object({ price: money, transitDays: z.number().int(), backend: z.enum(BACKENDS) });
const shipmentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  status: z.enum(SHIPMENT_STATUSES),
  destinationCountry: z.string(),
  weightGrams: z.number().int(),
  price: money,
  trackingNumber: z.string(),
  backend: z.enum(BACKENDS),
  updatedAt: z.string(),
});
const shares = z.object({ quote: z.number().int().min(0).max(100), create: z.number().int().min(0).max(100) });
const stranglerSchema = z.object({
  nativeShare: shares,
  shadow: z.boolean(),
  nativeQuoteSkewCents: z.number().int(),
});

export function registerShippingRoutes(
  app: HttpApp,
  deps: { shipping: Shipping; strangler: Strangler; adminToken: string },
): void {
  const { shipping, strangler } = deps;
  app.post(
    '/v1/shipping/quotes',
    {
      schema: {
        tags: ['shipping'],
        summary: 'Quote a parcel: price and transit days (answered by the implementation the strangler routes to)',
        body: z
          .object({
            destinationCountry: z.string().min(1).max(8),
            weightGrams: z.number().int().min(1).max(30_000),
          })
          .strict(),
        response: { 200: quoteSchema },
      },
    },
    async (req) => shipping.quote(req.body as { destinationCountry: string; weightGrams: number }),
  );

  app.get(
    '/v1/shipments/:orderId',
    {
      schema: {
        tags: ['shipping'],
        summary: "An order's shipment, tracked where it is held",
        params: z.object({ orderId: z.uuid() }),
        response: { 200: shipmentSchema },
      },
    },
    async (req) => shipping.track({ orderId: (req.params as { orderId: string }).orderId }),
  );

  const admin = { preHandler: requireAdminToken(deps.adminToken) };
  const common = { tags: ['admin'], security: [{ adminToken: [] }] };
  app.get(
    '/v1/admin/shipping/strangler',
    {
      ...admin,
      schema: {
        ...common,
        summary: 'The strangler facade: native shares, shadow mode, the seeded difference',
        response: { 200: stranglerSchema },
      },
    },
    async () => strangler.status(),
  );
  app.put(
    '/v1/admin/shipping/strangler',
    {
      ...admin,
      schema: {
        ...common,
        summary:
          'Set the native share of quotes and creations (0–100 %), shadow mode, and the seeded native quote difference',
        description:
          'Not persisted: a restart returns to NATIVE_QUOTE_SHARE and NATIVE_CREATE_SHARE, shadow off, no seed.',
        body: z
          .object({
            nativeShare: shares.partial().strict().optional(),
            shadow: z.boolean().optional(),
            nativeQuoteSkewCents: z.number().int().min(-100_000).max(100_000).optional(),
          })
          .strict(),
        response: { 200: stranglerSchema },
      },
    },
    async (req) => strangler.update(req.body as Parameters<Strangler['update']>[0]),
  );
  app.post(
    '/v1/admin/shipping/strangler/rollback',
    {
      ...admin,
      schema: {
        ...common,
        summary: 'Instant rollback: every call to the legacy system, shadow off',
        response: { 200: stranglerSchema },
      },
    },
    async () => strangler.rollback(),
  );
}
