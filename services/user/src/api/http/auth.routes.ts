import { type HttpApp, ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import type { Users } from '../../application/users';
import { loginBody, registerBody, userJson, userSchema } from './schemas';

/**
 * The client's address as the gateway saw it (its `request.ip`); without it, the peer's. The
 * login throttle counts per (email, address). Only the gateway reaches this port in kind
 * (NetworkPolicies); elsewhere a caller could name any address, as it could from many.
 */
const CLIENT_ADDRESS_HEADER = 'x-shop-client-address';
/** The caller's remaining time for this request, in ms (sent by the gateway's REST client). */
const REQUEST_TIMEOUT_HEADER = 'x-request-timeout-ms';

/** `POST /v1/auth/register` and `POST /v1/auth/login`. */
export function registerAuthRoutes(app: HttpApp, users: Users): void {
  app.post(
    '/v1/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account; answers with the user and a token',
        body: registerBody,
        response: { 201: z.object({ user: userSchema, token: z.string() }) },
      },
    },
    async (request, reply) => {
      const { user, token } = await users.register(request.body);
      return reply.code(201).send({ user: userJson(user), token });
    },
  );

  app.post(
    '/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange email and password for a token (repeated failures are slowed down, then refused)',
        body: loginBody,
        headers: z.looseObject({
          [REQUEST_TIMEOUT_HEADER]: z.coerce
            .number()
            .int()
            .positive()
            .optional()
            .describe('how long the caller waits for the answer; a slowed-down attempt answers within it'),
          [CLIENT_ADDRESS_HEADER]: z
            .string()
            .max(64)
            .optional()
            .describe('the client address the gateway saw; failed logins count per email and address'),
        }),
        response: { 200: z.object({ token: z.string() }) },
      },
    },
    async (request, reply) => {
      try {
        return await users.login(request.body, {
          budgetMs: request.headers[REQUEST_TIMEOUT_HEADER],
          clientAddress: request.headers[CLIENT_ADDRESS_HEADER] ?? request.ip,
        });
      } catch (err) {
        if (err instanceof ShopError && err.code === 'SHOP_RATE_LIMITED') {
          reply.header('retry-after', String(err.details?.retryAfterSeconds ?? 1));
        }
        throw err;
      }
    },
  );
}
