import type { Logger } from '@shoplab/chassis';
import { ShopError, userTokenMetadata } from '@shoplab/chassis';
import {
  type DegradedPart,
  type OrderSummaryView,
  orderSummaryView,
  type UserView,
  userView,
  withDegraded,
} from '../domain/views';
import { essentialFailure, settle } from './degrade';
import type { Caller, Downstreams } from './ports';

export interface Profile {
  user: UserView;
  recentOrders: OrderSummaryView[] | null;
  cart: { itemCount: number; version: number } | null;
  degraded?: DegradedPart[];
}

export const RECENT_ORDERS = 5;

/**
 * `/me`: the profile, the last orders and the cart summary, asked for in parallel. The
 * profile is the essence (its failure fails the answer); orders or cart failing are left
 * out and marked degraded.
 */
export async function loadProfile(
  downstreams: Pick<Downstreams, 'user' | 'order' | 'cart' | 'bulkheads'>,
  caller: Caller,
  logger: Logger,
): Promise<Profile> {
  // Each call carries the user's token: the services check that it is this user's (service-auth.ts).
  const forUser = { metadata: userTokenMetadata(caller.authorization) };
  const [user, orders, cart] = await Promise.all([
    settle(downstreams.user.call('getUser', { id: caller.userId }, forUser)),
    settle(downstreams.order.call('listOrders', { userId: caller.userId, limit: RECENT_ORDERS, cursor: '' }, forUser)),
    // The cart summary is a composition read: in the read bulkhead (a full one leaves it out, degraded).
    settle(
      downstreams.bulkheads.run('reads', () => downstreams.cart.call('getCart', { userId: caller.userId }, forUser)),
    ),
  ]);
  if (!user.ok) throw essentialFailure(user.error, 'user');
  if (!user.value.user) throw new ShopError('SHOP_NOT_FOUND', `No user ${caller.userId}`);
  const degraded: DegradedPart[] = [];
  if (!orders.ok) {
    degraded.push('orders');
    logger.warn({ code: (orders.error as ShopError).code }, 'order failed; profile shown without orders');
  }
  // A user who never had a cart may be NOT_FOUND at the cart service: that is an empty cart.
  const noCart = !cart.ok && cart.error instanceof ShopError && cart.error.code === 'SHOP_NOT_FOUND';
  if (!cart.ok && !noCart) {
    degraded.push('cart');
    logger.warn({ code: (cart.error as ShopError).code }, 'cart failed; profile shown without cart');
  }
  const lines = cart.ok ? (cart.value.cart?.lines ?? []) : [];
  return withDegraded(
    {
      user: userView(user.value.user),
      recentOrders: orders.ok ? orders.value.orders.map(orderSummaryView) : null,
      cart: cart.ok
        ? { itemCount: lines.reduce((n, l) => n + l.quantity, 0), version: cart.value.cart?.version ?? 0 }
        : noCart
          ? { itemCount: 0, version: 0 }
          : null,
    },
    degraded,
  );
}
