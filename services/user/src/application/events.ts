// The events the user service publishes on `user.events` (subject = user id, so one user's
// events keep their order), built through their contracts (@shoplab/contracts, which marks
// their personal data). Never put the password or its hash in here.
import { createContractEvent, type DomainEvent } from '@shoplab/chassis';
import { type EventData, UserAddressAddedV1, UserRegisteredV1 } from '@shoplab/contracts';
import type { Address } from '../domain/address';
import type { UserProfile } from '../domain/user';

export const USER_REGISTERED = UserRegisteredV1.type;
export const USER_ADDRESS_ADDED = UserAddressAddedV1.type;

export type UserRegisteredData = EventData<typeof UserRegisteredV1>;
export type AddressAddedData = EventData<typeof UserAddressAddedV1>;

export function userRegistered(user: Pick<UserProfile, 'id' | 'email' | 'name'>): DomainEvent<UserRegisteredData> {
  return createContractEvent(UserRegisteredV1, {
    service: 'user',
    subject: user.id,
    data: { id: user.id, email: user.email, name: user.name },
  });
}

export function addressAdded(userId: string, address: Address): DomainEvent<AddressAddedData> {
  return createContractEvent(UserAddressAddedV1, {
    service: 'user',
    subject: userId,
    data: {
      userId,
      address: {
        id: address.id,
        line1: address.line1,
        line2: address.line2 ?? null,
        city: address.city,
        postalCode: address.postalCode,
        country: address.country,
        isDefault: address.isDefault,
      },
    },
  });
}
