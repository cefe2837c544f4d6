// The events the user service publishes on `user.events` (subject = user id, so one user's
// events keep their order). Never put the password or its hash in here.
import { createEvent, type DomainEvent, eventType } from '@shoplab/chassis';
import type { Address } from '../domain/address';
import type { UserProfile } from '../domain/user';

export const USER_REGISTERED = eventType('user', 'registered');
export const USER_ADDRESS_ADDED = eventType('user', 'address_added');

export interface UserRegisteredData {
  id: string;
  email: string;
  name: string;
}

export interface AddressAddedData {
  userId: string;
  address: {
    id: string;
    line1: string;
    line2: string | null;
    city: string;
    postalCode: string;
    country: string;
    isDefault: boolean;
  };
}

export function userRegistered(user: Pick<UserProfile, 'id' | 'email' | 'name'>): DomainEvent<UserRegisteredData> {
  return createEvent({
    service: 'user',
    type: USER_REGISTERED,
    subject: user.id,
    data: { id: user.id, email: user.email, name: user.name },
  });
}

export function addressAdded(userId: string, address: Address): DomainEvent<AddressAddedData> {
  return createEvent({
    service: 'user',
    type: USER_ADDRESS_ADDED,
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
