import { ShopError } from '@shoplab/chassis';
import { cardProblem, checkoutCardSchema } from '@shoplab/contracts';
import { z } from 'zod';
import { callerOf, type RouteGroup } from './context';
import { nonBlankText, personalText, problemResponses, userBearer } from './schemas';

// The order service's rules, so that what this schema accepts the order service accepts too. The
// card's rule is the order service's own (@shoplab/contracts: checkoutCardSchema, and cardProblem
// for what no schema can say — the Luhn check, the expiry), so a card order would refuse is
// refused here first, with the same 400 SHOP_INVALID_CARD.
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
  card: checkoutCardSchema,
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
      const problem = cardProblem(request.body.card, new Date());
      if (problem) throw new ShopError('SHOP_INVALID_CARD', problem.message, { field: problem.field });
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
