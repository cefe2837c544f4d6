import { type AuthenticatedUser, type HttpApp, ShopError } from '@shoplab/chassis';
import { checkoutCardSchema } from '@shoplab/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CheckoutService } from '../../application/checkout';
import type { CheckoutAdmission } from '../../application/checkout-admission';
import { IDEMPOTENCY_KEY_PATTERN } from '../../domain/checkout-request';
import { shippingAddressSchema } from './order.schemas';

/** The caller's remaining deadline, in ms, as the gateway sends it with a checkout. */
export const REQUEST_TIMEOUT_HEADER = 'x-request-timeout-ms';
/**
 * The same deadline as a moment (ms since the epoch): unlike the timeout, it also counts the time
 * the request waited to be read while this process was busy. The earlier of the two counts.
 */
export const REQUEST_DEADLINE_HEADER = 'x-request-deadline';

const checkoutHeaders = z.looseObject({
  'idempotency-key': z
    .string({ error: 'the Idempotency-Key header is required' })
    .regex(IDEMPOTENCY_KEY_PATTERN, '8 to 128 characters of A-Z a-z 0-9 _ - : .')
    .describe('a key of the client’s choosing; a retry with the same key returns the same order'),
  [REQUEST_TIMEOUT_HEADER]: z.coerce
    .number()
    .int()
    .min(0)
    .max(600_000)
    .optional()
    .describe('the caller’s time left for the answer, in ms: a checkout that cannot start in time is refused at once'),
  [REQUEST_DEADLINE_HEADER]: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('the caller’s deadline for the answer, in ms since the epoch'),
});

const checkoutBody = z.object({
  card: checkoutCardSchema,
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
  deps: {
    checkout: CheckoutService;
    authenticate: (request: FastifyRequest) => Promise<void>;
    /** Admission control (docs/adr/0016-checkout-load-shedding.md); every checkout runs at once without it. */
    admission?: CheckoutAdmission;
  },
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
          'body returns the same order; with a different body, 422 SHOP_IDEMPOTENCY_KEY_REUSED. When more ' +
          'checkouts arrive than can start within the caller’s deadline (X-Request-Timeout-Ms), the rest are ' +
          'refused at once: 503 SHOP_BULKHEAD_FULL with Retry-After; retry then with the same Idempotency-Key.',
        security: [{ bearerAuth: [] }],
        headers: checkoutHeaders,
        body: checkoutBody,
        response: { 202: acceptedSchema },
      },
    },
    async (request, reply) => {
      const user = request.user as AuthenticatedUser;
      const work = () => deps.checkout.checkout(user.id, request.headers['idempotency-key'], request.body);
      const callerMs = callerBudgetMs(
        request.headers[REQUEST_TIMEOUT_HEADER],
        request.headers[REQUEST_DEADLINE_HEADER],
        reply,
      );
      const admission = deps.admission;
      const result = admission
        ? await withRetryAfter(reply, () =>
            admission.run(
              callerMs,
              work,
              // A caller that hung up while waiting (its deadline passed) gets no order made behind its back.
              () => request.raw.socket?.destroyed !== true,
            ),
          )
        : await work();
      const self = orderUrl(result.orderId);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply
        .code(202)
        .header('location', self)
        .send({ orderId: result.orderId, status: result.status, links: { self, events: `${self}/events` } });
    },
  );
}

/** Runs `fn`; a refusal that says when to come back (`retryAfterSeconds`) answers with Retry-After too. */
async function withRetryAfter<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const seconds = err instanceof ShopError ? err.details?.retryAfterSeconds : undefined;
    if (typeof seconds === 'number' && !reply.hasHeader('retry-after')) reply.header('retry-after', String(seconds));
    throw err;
  }
}

/** The caller's time left now: the earlier of its timeout (less the time since the request arrived) and its deadline. */
function callerBudgetMs(
  timeoutMs: number | undefined,
  deadline: number | undefined,
  reply: FastifyReply,
): number | undefined {
  const byTimeout = timeoutMs === undefined ? Number.POSITIVE_INFINITY : timeoutMs - reply.elapsedTime;
  const byDeadline = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
  const budget = Math.min(byTimeout, byDeadline);
  return Number.isFinite(budget) ? budget : undefined;
}
