// cart.v1.CartService: the order service reads the buyer's cart at checkout.
import { requireCallUser, type ServiceImplementation } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import type { cartV1 } from '@shoplab/contracts';
import type { CartService } from '../../application/cart-service';
import type { Cart } from '../../domain/cart';

export function toProto(cart: Cart): cartV1.Cart {
  return {
    userId: cart.userId,
    lines: cart.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPrice: l.unitPrice })),
    version: cart.version,
    updatedAt: cart.updatedAt?.toISOString() ?? '',
  };
}

export function cartHandlers(carts: CartService): ServiceImplementation<typeof cartV1.CartServiceService> {
  return {
    getCart: async (req, ctx) => {
      const userId = req.userId.trim();
      // The gateway asks for its user's cart only (the user's token comes with the call).
      requireCallUser(ctx.identity, userId);
      if (!userId || userId.length > 200) {
        throw new ShopError('SHOP_VALIDATION_FAILED', 'userId is required (at most 200 characters)', {
          field: 'userId',
        });
      }
      // A user without a cart has an empty one (version 0), not NOT_FOUND.
      return { cart: toProto(await carts.get(userId)) };
    },
  };
}
