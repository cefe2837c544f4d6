import { z } from 'zod';
import type { RouteGroup } from './context';

const registerBody = z.object({
  email: z.string().min(3).max(320),
  password: z.string().min(1).max(200),
  name: z.string().min(1).max(200),
});
const loginBody = z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(200) });

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
        response: { 200: z.object({ token: z.string() }).loose() },
      },
    },
    async (request, reply) => {
      const res = await downstreams.rest.request('user', {
        method: 'POST',
        path: '/v1/auth/login',
        body: request.body,
      });
      return reply.code(res.status as 200).send(res.body as never);
    },
  );
};
