import type { AuthenticatedUser } from '@shoplab/chassis';
import { type HttpApp, ShopError } from '@shoplab/chassis';
import type { FastifyRequest } from 'fastify';
import type { AdminOperations } from '../../application/admin';
import type { CartViews } from '../../application/carts';
import type { HistoryViews } from '../../application/history';
import type { OrderViews } from '../../application/orders';
import type { Caller, Downstreams } from '../../application/ports';
import type { ProductQueries } from '../../application/products';
import type { GatewayConfig } from '../../config';

/** What the route groups are built from. */
export interface RouteDeps {
  config: GatewayConfig;
  downstreams: Downstreams;
  products: ProductQueries;
  carts: CartViews;
  orders: OrderViews;
  history: HistoryViews;
  admin: AdminOperations;
  verify: (token: string) => AuthenticatedUser;
}

export type RouteGroup = (app: HttpApp, deps: RouteDeps) => void;

/** The verified caller of a route behind `requireUser`. */
export function callerOf(request: FastifyRequest): Caller {
  const authorization = request.headers.authorization;
  if (!request.user || !authorization) throw new ShopError('SHOP_UNAUTHENTICATED');
  return { userId: request.user.id, authorization };
}
