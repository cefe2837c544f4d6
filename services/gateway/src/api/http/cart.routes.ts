import { z } from 'zod';
import { callerOf, type RouteGroup } from './context';
import { cartSchema, nonBlankText, problemResponses, userBearer } from './schemas';

// As the cart service takes them: a product id is non-blank text, a line holds at most 99 units.
const productId = nonBlankText(100);
const productIdParams = z.object({ productId });
const quantity = z.number().int().min(1).max(99);
const description =
  'The composed cart: stored lines with current names, prices and stock. When the catalog fails, lines keep their stored prices, `name`/`currentPrice`/`available` are null and `degraded: ["catalog"]`.';

/** The caller's cart, proxied to the cart service and answered composed. */
export const cartRoutes: RouteGroup = (app, { carts }) => {
  const common = { tags: ['cart'], security: userBearer, description };

  app.get(
    '/cart',
    { schema: { ...common, summary: 'The caller’s cart', response: { 200: cartSchema, ...problemResponses(504) } } },
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
        body: z.object({ productId, quantity }),
        response: { 201: cartSchema, 200: cartSchema, ...problemResponses(404, 409, 504) },
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
        response: { 200: cartSchema, ...problemResponses(404, 409, 504) },
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
      schema: {
        ...common,
        summary: 'Remove a line',
        params: productIdParams,
        response: { 200: cartSchema, ...problemResponses(404, 504) },
      },
    },
    async (request, reply) => {
      const { status, cart } = await carts.remove(callerOf(request), request.params.productId);
      return reply.code(status as 200).send(cart);
    },
  );
};
