import { z } from 'zod';
import { callerOf, type RouteGroup } from './context';
import { cartSchema, userBearer } from './schemas';

const productIdParams = z.object({ productId: z.string().min(1).max(100) });
const quantity = z.number().int().min(1).max(999);
const description =
  'The composed cart: stored lines with current names, prices and stock. When the catalog fails, lines keep their stored prices, `name`/`currentPrice`/`available` are null and `degraded: ["catalog"]`.';

/** The caller's cart, proxied to the cart service and answered composed. */
export const cartRoutes: RouteGroup = (app, { carts }) => {
  const common = { tags: ['cart'], security: userBearer, description };

  app.get(
    '/cart',
    { schema: { ...common, summary: 'The caller’s cart', response: { 200: cartSchema } } },
    async (request, reply) => {
      const { status, cart } = await carts.get(callerOf(request));
      return reply.code(status as 200).send(cart);
    },
  );

  app.post(
    '/cart/items',
    {
      schema: {
        ...common,
        summary: 'Add a product (or more of it) to the cart',
        body: z.object({ productId: z.string().min(1).max(100), quantity }),
        response: { 201: cartSchema, 200: cartSchema },
      },
    },
    async (request, reply) => {
      const { status, cart } = await carts.add(callerOf(request), request.body);
      return reply.code(status as 200).send(cart);
    },
  );

  app.patch(
    '/cart/items/:productId',
    {
      schema: {
        ...common,
        summary: 'Change the quantity of a line',
        params: productIdParams,
        body: z.object({ quantity }),
        response: { 200: cartSchema },
      },
    },
    async (request, reply) => {
      const { status, cart } = await carts.update(callerOf(request), request.params.productId, request.body.quantity);
      return reply.code(status as 200).send(cart);
    },
  );

  app.delete(
    '/cart/items/:productId',
    {
      schema: { ...common, summary: 'Remove a line', params: productIdParams, response: { 200: cartSchema } },
    },
    async (request, reply) => {
      const { status, cart } = await carts.remove(callerOf(request), request.params.productId);
      return reply.code(status as 200).send(cart);
    },
  );
};
