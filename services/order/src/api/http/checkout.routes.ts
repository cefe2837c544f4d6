import type { AuthenticatedUser, HttpApp } from '@shoplab/chassis';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CheckoutService } from '../../application/checkout';
import { IDEMPOTENCY_KEY_PATTERN } from '../../domain/checkout-request';
import { shippingAddressSchema } from './order.schemas';

const checkoutHeaders = z.looseObject({
  'idempotency-key': z
    .string({ error: 'the Idempotency-Key header is required' })
    .regex(IDEMPOTENCY_KEY_PATTERN, '8 to 128 characters of A-Z a-z 0-9 _ - : .')
    .describe('a key of the client’s choosing; a retry with the same key returns the same order'),
});

const checkoutBody = z.object({
  card: z.object({
    number: z
      .string()
      .regex(/^[\d\s-]{12,23}$/, '12 to 19 digits (spaces and dashes allowed)')
      .describe('test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined'),
    expMonth: z.number().int().min(1).max(12),
    expYear: z.number().int().min(2000).max(2100),
    cvc: z.string().regex(/^\d{3,4}$/, '3 or 4 digits'),
  }),
  shippingAddress: shippingAddressSchema
    .optional()
    .describe('a postal address, one of the caller’s saved addresses, or absent for the default one'),
});

const acceptedSchema = z.object({
  orderId: z.uuid(),
  status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']),
  links: z.object({ self: z.string(), events: z.string() }),
});

/** The public URL of an order (served by the gateway). */
export function orderUrl(orderId: string): string {
  return `/api/v1/orders/${orderId}`;
}

export function registerCheckoutRoutes(
  app: HttpApp,
  deps: { checkout: CheckoutService; authenticate: (request: FastifyRequest) => Promise<void> },
): void {
  app.post(
    '/v1/checkout',
    {
      // onRequest, so that a missing token is a 401 before the body is even validated.
      onRequest: deps.authenticate,
      schema: {
        tags: ['checkout'],
        summary: 'Check out the caller’s cart',
        description:
          'Prices the cart at the catalog’s current prices and creates a PENDING order whose checkout saga ' +
          'then confirms or cancels it. 202 with the order’s URL. The same Idempotency-Key with the same ' +
          'body returns the same order; with a different body, 422 SHOP_IDEMPOTENCY_KEY_REUSED.',
        security: [{ bearerAuth: [] }],
        headers: checkoutHeaders,
        body: checkoutBody,
        response: { 202: acceptedSchema },
      },
    },
    async (request, reply) => {
      const user = request.user as AuthenticatedUser;
      const result = await deps.checkout.checkout(user.id, request.headers['idempotency-key'], request.body);
      const self = orderUrl(result.orderId);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply
        .code(202)
        .header('location', self)
        .send({ orderId: result.orderId, status: result.status, links: { self, events: `${self}/events` } });
    },
  );
}
