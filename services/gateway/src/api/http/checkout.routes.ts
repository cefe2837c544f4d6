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
          'Starts the checkout saga and answers 202 at once with the order’s URL (Location). Retrying with the same Idempotency-Key returns the same order.',
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
      const answer = await orders.checkout(callerOf(request), request.headers['idempotency-key'], request.body);
      return reply
        .code(answer.status as 202)
        .header('location', answer.location)
        .send(answer.body as never);
    },
  );
};
