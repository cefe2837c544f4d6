import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { Users } from '../../application/users';
import { notificationJson, notificationSchema, notificationsQuery } from './schemas';

/** Admin reads behind `Authorization: Bearer <ADMIN_TOKEN>`. */
export function registerAdminRoutes(app: HttpApp, users: Users, adminToken: string): void {
  app.get(
    '/v1/admin/notifications',
    {
      preHandler: requireAdminToken(adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: "Everyone's notification log, newest first",
        querystring: notificationsQuery,
        response: { 200: z.object({ items: z.array(notificationSchema) }) },
      },
    },
    async (request) => ({ items: (await users.allNotifications(request.query.limit)).map(notificationJson) }),
  );
}
