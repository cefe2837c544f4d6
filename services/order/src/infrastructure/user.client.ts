// user.v1.UserService, as saga step 1 uses it: reads, so they could be retried, but the saga
// retries itself (each attempt on its timeline), hence no retries here.
import { createGrpcClient, type GrpcClient, type ServiceKit, ShopError } from '@shoplab/chassis';
import { userV1 } from '@shoplab/contracts';
import type { CallOptions, UserDirectory } from '../application/ports';
import type { PostalAddress, ShippingAddress } from '../domain/order';

export type UserGrpcClient = GrpcClient<typeof userV1.UserServiceService>;

export function createUserClient(kit: ServiceKit, deadlineMs: number): UserGrpcClient {
  return createGrpcClient(
    userV1.UserServiceClient,
    { caller: kit.config.SERVICE_NAME, target: 'user', registry: kit.registry, deadlineMs },
    { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger, chaos: kit.chaos },
  );
}

export class GrpcUserDirectory implements UserDirectory {
  constructor(private readonly client: UserGrpcClient) {}

  async getUser(userId: string, options: CallOptions) {
    const { user } = await this.client.call('getUser', { id: userId }, { deadlineMs: options.deadlineMs });
    const fallback = user?.addresses.find((a) => a.isDefault);
    return { id: user?.id ?? userId, ...(fallback ? { defaultAddress: toPostal(fallback) } : {}) };
  }

  async validateAddress(userId: string, address: ShippingAddress, options: CallOptions): Promise<PostalAddress> {
    const request: userV1.ValidateAddressRequest =
      'addressId' in address
        ? { userId, addressId: address.addressId, address: undefined }
        : {
            userId,
            addressId: '',
            address: {
              id: '',
              line1: address.line1,
              line2: address.line2 ?? '',
              city: address.city,
              postalCode: address.postalCode,
              country: address.country,
              isDefault: false,
            },
          };
    const { address: valid } = await this.client.call('validateAddress', request, { deadlineMs: options.deadlineMs });
    if (valid) return toPostal(valid);
    // An empty answer means "valid as given"; a saved address must come back resolved.
    if ('addressId' in address) throw new ShopError('SHOP_INTERNAL', 'ValidateAddress returned no address');
    return address;
  }
}

function toPostal(a: userV1.Address): PostalAddress {
  return {
    line1: a.line1,
    ...(a.line2 ? { line2: a.line2 } : {}),
    city: a.city,
    postalCode: a.postalCode,
    country: a.country,
  };
}
