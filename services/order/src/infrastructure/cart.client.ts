// cart.v1.CartService, as checkout uses it: GetCart is a read, so it is retried.
import { createGrpcClient, type GrpcClient, type ServiceKit, ShopError } from '@shoplab/chassis';
import { cartV1 } from '@shoplab/contracts';
import type { CartReader } from '../application/ports';
import { dependencyUnavailable } from './dependency-error';

export type CartGrpcClient = GrpcClient<typeof cartV1.CartServiceService>;

export function createCartClient(kit: ServiceKit, deadlineMs: number): CartGrpcClient {
  return createGrpcClient(
    cartV1.CartServiceClient,
    {
      caller: kit.config.SERVICE_NAME,
      target: 'cart',
      registry: kit.registry,
      deadlineMs,
      retry: { idempotentMethods: ['getCart'], retries: 2, baseDelayMs: 50, maxDelayMs: 400 },
    },
    { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger, chaos: kit.chaos },
  );
}

export class GrpcCartReader implements CartReader {
  constructor(
    private readonly client: CartGrpcClient,
    private readonly logger: ServiceKit['logger'],
  ) {}

  async getCart(userId: string) {
    try {
      const { cart } = await this.client.call('getCart', { userId });
      return {
        lines: (cart?.lines ?? []).map((line) => ({ productId: line.productId, quantity: line.quantity })),
        version: cart?.version ?? 0,
      };
    } catch (err) {
      // A user who never added anything may have no cart at all.
      if (err instanceof ShopError && err.code === 'SHOP_NOT_FOUND') return { lines: [], version: 0 };
      throw dependencyUnavailable('cart', err, this.logger);
    }
  }
}
