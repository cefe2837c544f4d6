// The cart's own REST resource, for the signed-in user (the JWT's subject). The gateway proxies it.
import { createTokenVerifier, type HttpApp, requireUser } from '@shoplab/chassis';
import { z } from 'zod';
import type { CartService } from '../../application/cart-service';
import { type Cart, MAX_LINE_QUANTITY } from '../../domain/cart';

const money = z.object({ amount: z.number().int(), currency: z.string() });
export const cartSchema = z.object({
  userId: z.string(),
  lines: z.array(z.object({ productId: z.string(), quantity: z.number().int(), unitPrice: money })),
  version: z.number().int(),
  updatedAt: z.string().nullable(),
});

const productId = z.string().trim().min(1).max(200);
const productParams = z.object({ productId });
const security = [{ bearerAuth: [] }];
const tags = ['cart'];

export function cartBody(cart: Cart): z.infer<typeof cartSchema> {
  return { ...cart, updatedAt: cart.updatedAt?.toISOString() ?? null };
}

export function registerCartRoutes(app: HttpApp, deps: { carts: CartService; jwtPublicKey: string }): void {
  // onRequest, so a caller without a valid token hears 401 before any validation of its input.
  const onRequest = requireUser(createTokenVerifier(deps.jwtPublicKey));
  const userOf = (request: { user?: { id: string } }) => request.user!.id;
  const { carts } = deps;

  app.get(
    '/v1/cart',
    { onRequest, schema: { tags, security, summary: "The caller's cart", response: { 200: cartSchema } } },
    async (request) => cartBody(await carts.get(userOf(request))),
  );

  app.post(
    '/v1/cart/items',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Add units of a product (to its line, if it has one)',
        body: z.object({ productId, quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY) }),
        response: { 201: cartSchema },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(cartBody(await carts.addItem(userOf(request), request.body.productId, request.body.quantity))),
  );

  app.patch(
    '/v1/cart/items/:productId',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: "Set a line's quantity (0 removes it)",
        params: productParams,
        body: z.object({ quantity: z.number().int().min(0).max(MAX_LINE_QUANTITY) }),
        response: { 200: cartSchema },
      },
    },
    async (request) =>
      cartBody(await carts.setQuantity(userOf(request), request.params.productId, request.body.quantity)),
  );

  app.delete(
    '/v1/cart/items/:productId',
    {
      onRequest,
      schema: { tags, security, summary: 'Remove a line', params: productParams, response: { 200: cartSchema } },
    },
    async (request) => cartBody(await carts.removeItem(userOf(request), request.params.productId)),
  );

  app.delete(
    '/v1/cart',
    { onRequest, schema: { tags, security, summary: 'Empty the cart', response: { 200: cartSchema } } },
    async (request) => cartBody(await carts.clear(userOf(request))),
  );
}
