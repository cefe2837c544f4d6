import { z } from 'zod';
import type { RouteGroup } from './context';
import { personalText, problemResponses } from './schemas';

// The user service's rules, so that what this schema accepts the user service accepts too.
const registerBody = z.object({
  email: z
    .email('must be an email address')
    .max(254)
    .refine(
      (e) => e.slice(0, e.lastIndexOf('@')).length <= 64,
      'the part before @ is at most 64 characters (RFC 5321)',
    ),
  password: z.string().min(8).max(128),
  // Not blank, no control characters (the user service's rule for names).
  name: personalText(100),
});
const loginBody = z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(128) });

/**
 * Registration and login, proxied to the user service's REST API: its status and problem
 * documents are passed through. Bodies are never logged (they hold passwords).
 */
export const authRoutes: RouteGroup = (app, { downstreams }) => {
  app.post(
    '/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account; answers with the user and a token',
        body: registerBody,
        response: {
          201: z
            .object({
              user: z.object({ id: z.string(), email: z.string(), name: z.string(), createdAt: z.string() }).loose(),
              token: z.string(),
            })
            .loose(),
          ...problemResponses(409, 504),
        },
      },
    },
    async (request, reply) => {
      const res = await downstreams.rest.request('user', {
        method: 'POST',
        path: '/v1/auth/register',
        body: request.body,
      });
      return reply.code(res.status as 201).send(res.body as never);
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange email and password for a Bearer token (JWT)',
        body: loginBody,
        response: { 200: z.object({ token: z.string() }).loose(), ...problemResponses(401, 504) },
      },
    },
    async (request, reply) => {
      const res = await downstreams.rest.request('user', {
        method: 'POST',
        path: '/v1/auth/login',
        body: request.body,
        // The user service counts failed logins per (email, this address).
        headers: { 'x-shop-client-address': request.ip },
      });
      return reply.code(res.status as 200).send(res.body as never);
    },
  );
};
