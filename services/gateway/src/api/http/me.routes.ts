import { loadProfile } from '../../application/profile';
import { callerOf, type RouteGroup } from './context';
import { problemResponses, profileSchema, userBearer } from './schemas';

/** The caller's profile page: user, recent orders, cart summary. */
export const meRoutes: RouteGroup = (app, { downstreams }) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['me'],
        security: userBearer,
        summary: 'The caller’s profile, last five orders and cart summary',
        description:
          'Asked for in parallel. Orders or cart failing leaves them null with `degraded`; the profile failing is 503.',
        response: { 200: profileSchema, ...problemResponses(404, 504) },
      },
    },
    async (request) => loadProfile(downstreams, callerOf(request), request.log),
  );
};
