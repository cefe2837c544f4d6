import rateLimit from '@fastify/rate-limit';
import { type AuthenticatedUser, type HttpApp, ShopError } from '@shoplab/chassis';
import type { FastifyRequest } from 'fastify';

export interface RateLimitOptions {
  /** Requests per minute per client: the verified user id, else the address. */
  perMinute: number;
  /** Requests per minute per address, signed in or not (so accounts do not multiply a budget). */
  perAddressPerMinute: number;
  verify: (token: string) => AuthenticatedUser;
  /**
   * Addresses the per-address budgets do not apply to (their users' own budgets still do): a
   * deployment's configured allowance, e.g. the native stack's 127.0.0.1 where every shopper of
   * the tests and exercises comes from one address. Empty by default.
   */
  exemptAddresses: readonly string[];
}

/**
 * The public API's budgets, each 429 SHOP_RATE_LIMITED with Retry-After when spent:
 * - per client: the verified user id when the request carries a valid token (users behind one
 *   NAT do not share a budget), the address otherwise;
 * - per address, always, beside it: one person registering five accounts, or one noisy anonymous
 *   client, gets one address's budget, not five or everyone's.
 * The address is `request.ip`: the peer, or the client a trusted proxy names in X-Forwarded-For
 * (TRUST_PROXY, set per deployment).
 */
export async function registerRateLimit(app: HttpApp, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => clientKey(request, options.verify),
    errorResponseBuilder: (_request, context) =>
      new ShopError('SHOP_RATE_LIMITED', `At most ${context.max} requests per minute; retry in ${context.after}`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
  await registerAddressLimit(app, options.perAddressPerMinute, options.exemptAddresses, 'requests');
}

/**
 * A per-address budget on the routes registered after it in `app`'s context (the gateway puts
 * a tighter one on /auth/*: password guessing and account farming). Exempt addresses skip it.
 */
export async function registerAddressLimit(
  app: HttpApp,
  perMinute: number,
  exemptAddresses: readonly string[],
  what: string,
): Promise<void> {
  const exempt = new Set(exemptAddresses);
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => `address:${request.ip}`,
    allowList: (request: FastifyRequest) => exempt.has(request.ip),
    errorResponseBuilder: (_request, context) =>
      new ShopError(
        'SHOP_RATE_LIMITED',
        `At most ${context.max} ${what} per minute from one address; retry in ${context.after}`,
        { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
      ),
  });
}

function clientKey(request: FastifyRequest, verify: (token: string) => AuthenticatedUser): string {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) {
    try {
      return `user:${verify(header.slice('Bearer '.length).trim()).id}`;
    } catch {
      // An invalid token is refused later by requireUser; count it against the address.
    }
  }
  return `ip:${request.ip}`;
}
