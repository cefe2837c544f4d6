import { ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import { callerOf, type RouteGroup } from './context';
import { userBearer } from './schemas';

const checkoutBody = z.object({
  card: z.object({
    number: z.string().min(8).max(32),
    expMonth: z.number().int().min(1).max(12),
    expYear: z.number().int().min(2000).max(2100),
    cvc: z.string().regex(/^\d{3,4}$/, '3 or 4 digits'),
  }),
  shippingAddress: z
    .looseObject({
      addressId: z.string().optional().describe('one of the user’s saved addresses'),
      line1: z.string().optional(),
      line2: z.string().optional(),
      city: z.string().optional(),
      postalCode: z.string().optional(),
      country: z.string().optional().describe('ISO 3166-1 alpha-2'),
    })
    .optional()
    .describe('a saved address id or a full address; the user’s default address when absent'),
});

/** Checkout, proxied to the order service with the caller's token and the Idempotency-Key. */
export const checkoutRoutes: RouteGroup = (app, { orders }) => {
  app.post(
    '/checkout',
    {
      schema: {
        tags: ['orders'],
        security: userBearer,
        summary: 'Check out the caller’s cart',
        description:
          'Starts the checkout saga and answers 202 at once with the order’s URL (Location). Retrying with the same Idempotency-Key returns the same order. ' +
          'When more checkouts arrive than the shop can start in time, the rest are refused at once: 503 SHOP_BULKHEAD_FULL ' +
          'with Retry-After (seconds); send the same request again then, with the same Idempotency-Key. A 504 means the ' +
          'outcome is unknown: the same retry answers with the order if it was made.',
        headers: z.looseObject({
          'idempotency-key': z
            .string()
            .regex(/^[A-Za-z0-9_\-:.]{8,128}$/, '8 to 128 characters of A-Z a-z 0-9 _ - : .')
            .describe('chosen by the client per checkout; a retry with the same key returns the same order'),
        }),
        body: checkoutBody,
        response: {
          202: z
            .object({
              orderId: z.string(),
              status: z.string(),
              links: z.object({ self: z.string(), events: z.string() }),
            })
            .loose(),
        },
      },
    },
    async (request, reply) => {
      const answer = await orders
        .checkout(callerOf(request), request.headers['idempotency-key'], request.body)
        .catch((err: unknown) => {
          // The order service shed the checkout (ADR 16): tell the client when to come back.
          const seconds = err instanceof ShopError ? err.details?.retryAfterSeconds : undefined;
          if (typeof seconds === 'number' && !reply.hasHeader('retry-after'))
            reply.header('retry-after', String(seconds));
          throw err;
        });
      return reply
        .code(answer.status as 202)
        .header('location', answer.location)
        .send(answer.body as never);
    },
  );
};
