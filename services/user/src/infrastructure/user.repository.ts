import { type DomainEvent, ShopError, writeOutbox } from '@shoplab/chassis';
import type { NewUser, StoredCredentials, UserRepository, UserWithAddresses } from '../application/ports';
import type { Address, NormalizedAddress } from '../domain/address';
import { becomesDefault } from '../domain/address';
import type { NotificationDraft } from '../domain/notification';
import type { UserProfile } from '../domain/user';
import { type Address as AddressRow, Prisma, type PrismaClient } from '../generated/prisma/client';

const ADDRESS_ORDER = [{ createdAt: 'asc' }, { id: 'asc' }] as const satisfies Prisma.AddressOrderByWithRelationInput[];

function toAddress(row: AddressRow): Address {
  return {
    id: row.id,
    line1: row.line1,
    line2: row.line2 ?? undefined,
    city: row.city,
    postalCode: row.postalCode,
    country: row.country,
    isDefault: row.isDefault,
  };
}

function toProfile(row: { id: string; email: string; name: string; createdAt: Date }): UserProfile {
  return { id: row.id, email: row.email, name: row.name, createdAt: row.createdAt };
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

export class PrismaUserRepository implements UserRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async create(user: NewUser, event: DomainEvent, welcome: NotificationDraft): Promise<UserProfile> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const row = await tx.user.create({ data: user });
        await tx.notification.create({ data: welcome });
        await writeOutbox(tx, event);
        return toProfile(row);
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ShopError('SHOP_ALREADY_EXISTS', 'A user with this email already exists', undefined, { cause: err });
      }
      throw err;
    }
  }

  async findCredentials(email: string): Promise<StoredCredentials | undefined> {
    const row = await this.prisma.user.findUnique({
      where: { email },
      select: { id: true, email: true, name: true, passwordHash: true },
    });
    return row ?? undefined;
  }

  async replacePasswordHash(id: string, previous: string, next: string): Promise<void> {
    await this.prisma.user.updateMany({ where: { id, passwordHash: previous }, data: { passwordHash: next } });
  }

  async find(id: string): Promise<UserWithAddresses | undefined> {
    const row = await this.prisma.user.findUnique({
      where: { id },
      include: { addresses: { orderBy: ADDRESS_ORDER } },
    });
    return row ? { ...toProfile(row), addresses: row.addresses.map(toAddress) } : undefined;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.prisma.user.count({ where: { id } })) > 0;
  }

  async listAddresses(userId: string): Promise<Address[]> {
    const rows = await this.prisma.address.findMany({ where: { userId }, orderBy: ADDRESS_ORDER });
    return rows.map(toAddress);
  }

  async findAddress(userId: string, addressId: string): Promise<Address | undefined> {
    const row = await this.prisma.address.findFirst({ where: { id: addressId, userId } });
    return row ? toAddress(row) : undefined;
  }

  async addAddress(
    userId: string,
    address: NormalizedAddress & { id: string },
    requestedDefault: boolean | undefined,
    event: (stored: Address) => DomainEvent,
  ): Promise<Address | undefined> {
    return this.prisma.$transaction(async (tx) => {
      // The user row lock serializes address changes of one user: the count and the default
      // flag below cannot race with another request of the same user.
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
      if (locked.length === 0) return undefined;
      const existing = await tx.address.count({ where: { userId } });
      const isDefault = becomesDefault(requestedDefault, existing);
      if (isDefault) await tx.address.updateMany({ where: { userId, isDefault: true }, data: { isDefault: false } });
      const row = await tx.address.create({
        data: {
          id: address.id,
          userId,
          line1: address.line1,
          line2: address.line2 ?? null,
          city: address.city,
          postalCode: address.postalCode,
          country: address.country,
          isDefault,
        },
      });
      const stored = toAddress(row);
      await writeOutbox(tx, event(stored));
      return stored;
    });
  }

  async deleteAddress(userId: string, addressId: string): Promise<boolean> {
    const { count } = await this.prisma.address.deleteMany({ where: { id: addressId, userId } });
    return count > 0;
  }
}
