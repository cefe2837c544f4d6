import { ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import { callerOf, type RouteGroup } from './context';
import { nonBlankText, personalText, problemResponses, userBearer } from './schemas';

// The order service's rules, so that what this schema accepts the order service accepts too
// (apart from what no schema can say: a card number must pass the Luhn check and not be expired).
// The address rules are the user service's, which checks it (the country must also be an
// assigned ISO 3166-1 code, which this schema does not list).
const postalAddress = z.object({
  line1: personalText(200),
  line2: z
    .string()
    .max(200)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern is there to refuse control characters
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters')
    .optional(),
  city: personalText(100),
  postalCode: z
    .string()
    .max(20)
    .regex(/^[A-Za-z0-9][A-Za-z0-9 -]*$/, 'letters, digits, spaces and dashes'),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code, e.g. US')
    .describe('ISO 3166-1 alpha-2'),
});
const savedAddress = z.object({ addressId: nonBlankText(100).describe('one of the user’s saved addresses') });

const checkoutBody = z.object({
  card: z.object({
    number: z
      .string()
      .regex(/^[\d\s-]{12,23}$/, '12 to 19 digits (spaces and dashes allowed)')
      .describe('must pass the Luhn check; test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined'),
    expMonth: z.number().int().min(1).max(12),
    expYear: z.number().int().min(2000).max(2100).describe('with expMonth, not in the past'),
    cvc: z.string().regex(/^\d{3,4}$/, '3 or 4 digits'),
  }),
  shippingAddress: z
    .union([postalAddress, savedAddress])
    .optional()
    .describe('a postal address, one of the user’s saved addresses, or absent for the default one'),
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
          ...problemResponses(409, 422, 503, 504),
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
