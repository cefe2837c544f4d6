import { type Logger, ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import { type CartView, composeCart, type StoredCart } from '../domain/cart-view';
import type { Caller, Downstreams } from './ports';
import type { ProductQueries } from './products';

const moneySchema = z.object({ amount: z.coerce.number().int(), currency: z.string() });

/** What we rely on in the cart service's answer; anything else in it is ignored. */
const storedCartSchema = z.object({
  userId: z.string(),
  lines: z.array(z.object({ productId: z.string(), quantity: z.number().int(), unitPrice: moneySchema })),
  version: z.coerce.number().int(),
  updatedAt: z.string().nullish(),
});

export interface CartAnswer {
  status: number;
  cart: CartView;
}

/**
 * The caller's cart: changes are proxied to the cart service's REST API (with the caller's
 * token), and every answer is the composed cart — current names, prices and stock from the
 * catalog, or the stored prices marked `degraded: ['catalog']` when the catalog fails.
 */
export class CartViews {
  constructor(
    private readonly rest: Downstreams['rest'],
    private readonly products: ProductQueries,
    private readonly logger: Logger,
  ) {}

  get(caller: Caller): Promise<CartAnswer> {
    return this.send(caller, 'GET', '/v1/cart');
  }

  add(caller: Caller, item: { productId: string; quantity: number }): Promise<CartAnswer> {
    return this.send(caller, 'POST', '/v1/cart/items', item);
  }

  update(caller: Caller, productId: string, quantity: number): Promise<CartAnswer> {
    return this.send(caller, 'PATCH', `/v1/cart/items/${encodeURIComponent(productId)}`, { quantity });
  }

  remove(caller: Caller, productId: string): Promise<CartAnswer> {
    return this.send(caller, 'DELETE', `/v1/cart/items/${encodeURIComponent(productId)}`);
  }

  /** Joins a stored cart with the catalog; the catalog failing degrades the cart instead of failing it. */
  async compose(stored: StoredCart): Promise<CartView> {
    try {
      return composeCart(stored, await this.products.byIds(stored.lines.map((l) => l.productId)));
    } catch (err) {
      this.logger.warn({ code: (err as ShopError).code }, 'catalog failed; cart shown with stored prices');
      return composeCart(stored, undefined);
    }
  }

  private async send(
    caller: Caller,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<CartAnswer> {
    const res = await this.rest.request('cart', {
      method,
      path,
      headers: { authorization: caller.authorization },
      ...(body !== undefined ? { body } : {}),
    });
    // A change answered without a body (204) is followed by a read, so the answer is always the cart.
    if (res.body === undefined && method !== 'GET') return this.send(caller, 'GET', '/v1/cart');
    const parsed = storedCartSchema.safeParse(res.body);
    if (!parsed.success) {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'cart answered with an unexpected body', { target: 'cart' });
    }
    return { status: res.status, cart: await this.compose(parsed.data) };
  }
}
