// The user service's events (topic user.events, subject = user id, so one user's events keep their
// order). Both are personal data through and through. Never the password or its hash.
import { z } from 'zod';
import { defineEvent, idSchema } from './contract';

/** shop.user.registered.v1: an account created. */
export const UserRegisteredV1 = defineEvent(
  'shop.user.registered.v1',
  z.object({
    id: idSchema,
    email: z.string().min(1).max(320),
    name: z.string().min(1).max(200),
  }),
  { personalData: ['id', 'email', 'name'] },
);

/** shop.user.address_added.v1: an address added to a user's address book. */
export const UserAddressAddedV1 = defineEvent(
  'shop.user.address_added.v1',
  z.object({
    userId: idSchema,
    address: z.object({
      id: idSchema,
      line1: z.string(),
      line2: z.string().nullable(),
      city: z.string(),
      postalCode: z.string(),
      country: z.string(),
      isDefault: z.boolean(),
    }),
  }),
  { personalData: ['userId', 'address'] },
);
