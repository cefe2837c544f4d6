import rateLimit from '@fastify/rate-limit';
import { type AuthenticatedUser, type HttpApp, ShopError } from '@shoplab/chassis';
import type { FastifyRequest } from 'fastify';

/**
 * Per-client rate limit on the public API: keyed by the verified user id when the request
 * carries a valid token (so users behind one NAT do not share a budget), by the IP otherwise.
 * Exceeding it is 429 SHOP_RATE_LIMITED with Retry-After.
 */
export async function registerRateLimit(
  app: HttpApp,
  options: { perMinute: number; verify: (token: string) => AuthenticatedUser },
): Promise<void> {
  await app.register(rateLimit, {
    max: options.perMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => clientKey(request, options.verify),
    errorResponseBuilder: (_request, context) =>
      new ShopError('SHOP_RATE_LIMITED', `At most ${context.max} requests per minute; retry in ${context.after}`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
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
