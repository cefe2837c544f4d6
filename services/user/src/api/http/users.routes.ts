import { type AuthenticatedUser, type HttpApp, requireUser } from '@shoplab/chassis';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Users } from '../../application/users';
import {
  addressBody,
  addressIdParams,
  addressJson,
  addressSchema,
  notificationJson,
  notificationSchema,
  notificationsQuery,
  profileJson,
  profileSchema,
} from './schemas';

function caller(request: FastifyRequest): AuthenticatedUser {
  // requireUser ran as the preHandler; without a user the request never gets here.
  return request.user as AuthenticatedUser;
}

/** The signed-in user's profile and addresses, under `/v1/users/me`. */
export function registerUserRoutes(app: HttpApp, users: Users, verify: (token: string) => AuthenticatedUser): void {
  const preHandler = requireUser(verify);
  const security = [{ bearerAuth: [] }];

  app.get(
    '/v1/users/me',
    {
      preHandler,
      schema: { tags: ['users'], security, summary: 'My profile, with my addresses', response: { 200: profileSchema } },
    },
    async (request) => profileJson(await users.me(caller(request).id)),
  );

  app.get(
    '/v1/users/me/addresses',
    {
      preHandler,
      schema: {
        tags: ['users'],
        security,
        summary: 'My addresses, oldest first',
        response: { 200: z.object({ items: z.array(addressSchema) }) },
      },
    },
    async (request) => ({ items: (await users.listAddresses(caller(request).id)).map(addressJson) }),
  );

  app.post(
    '/v1/users/me/addresses',
    {
      preHandler,
      schema: {
        tags: ['users'],
        security,
        summary: 'Add an address',
        body: addressBody,
        response: { 201: addressSchema },
      },
    },
    async (request, reply) => {
      const { line2, ...rest } = request.body;
      const address = await users.addAddress(caller(request).id, { ...rest, line2: line2 ?? undefined });
      return reply.code(201).send(addressJson(address));
    },
  );

  app.delete(
    '/v1/users/me/addresses/:id',
    {
      preHandler,
      schema: { tags: ['users'], security, summary: 'Delete one of my addresses', params: addressIdParams },
    },
    async (request, reply) => {
      await users.deleteAddress(caller(request).id, request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/users/me/notifications',
    {
      preHandler,
      schema: {
        tags: ['users'],
        security,
        summary: 'What the shop would have e-mailed me (welcome, order confirmed or cancelled), newest first',
        querystring: notificationsQuery,
        response: { 200: z.object({ items: z.array(notificationSchema) }) },
      },
    },
    async (request) => ({
      items: (await users.notifications(caller(request).id, request.query.limit)).map(notificationJson),
    }),
  );
}
