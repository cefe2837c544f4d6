import { requireCallUser, type ServiceImplementation } from '@shoplab/chassis';
import type { userV1 } from '@shoplab/contracts';
import type { UserWithAddresses } from '../../application/ports';
import type { Users } from '../../application/users';
import type { Address } from '../../domain/address';

function toProtoAddress(address: Address): userV1.Address {
  return {
    id: address.id,
    line1: address.line1,
    line2: address.line2 ?? '',
    city: address.city,
    postalCode: address.postalCode,
    country: address.country,
    isDefault: address.isDefault,
  };
}

function toProtoUser(user: UserWithAddresses): userV1.User {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    addresses: user.addresses.map(toProtoAddress),
    createdAt: user.createdAt.toISOString(),
  };
}

/** user.v1.UserService: thin adapters over the use cases (errors are ShopErrors, mapped by the chassis). */
export function userServiceHandlers(users: Users): ServiceImplementation<typeof userV1.UserServiceService> {
  return {
    getUser: async (request, ctx) => {
      // The gateway reads its user's profile only (the user's token comes with the call).
      requireCallUser(ctx.identity, request.id);
      return { user: toProtoUser(await users.getUser(request.id)) };
    },
    validateAddress: async (request, ctx) => {
      requireCallUser(ctx.identity, request.userId);
      const { address } = request;
      const valid = await users.validateAddress({
        userId: request.userId,
        addressId: request.addressId,
        address: address && {
          line1: address.line1,
          line2: address.line2,
          city: address.city,
          postalCode: address.postalCode,
          country: address.country,
        },
      });
      return { address: toProtoAddress(valid) };
    },
  };
}
