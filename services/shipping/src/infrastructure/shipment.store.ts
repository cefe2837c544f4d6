// The shipments table through Prisma (the client or a consumer's transaction).
import { ShopError } from '@shoplab/chassis/errors';
import type { ShipmentRecord, ShipmentStore } from '../application/ports';
import type { Backend, ShipmentStatus } from '../domain/shipment';
import type { Prisma } from '../generated/prisma/client';

type Row = Prisma.ShipmentGetPayload<object>;

function record(row: Row): ShipmentRecord {
  return {
    id: row.id,
    orderId: row.orderId,
    backend: row.backend as Backend,
    trackingNumber: row.trackingNumber,
    status: row.status as ShipmentStatus,
    destinationCountry: row.destinationCountry,
    weightGrams: row.weightGrams,
    price: { amount: row.priceAmount, currency: row.currency },
    updatedAt: row.updatedAt.toISOString(),
    createdAt: row.createdAt,
    cancelledAt: row.cancelledAt,
  };
}

export class PrismaShipmentStore implements ShipmentStore {
  constructor(private readonly db: Prisma.TransactionClient) {}

  async findById(id: string): Promise<ShipmentRecord | undefined> {
    const row = await this.db.shipment.findUnique({ where: { id } });
    return row ? record(row) : undefined;
  }

  async findByOrder(orderId: string): Promise<ShipmentRecord | undefined> {
    const row = await this.db.shipment.findUnique({ where: { orderId } });
    return row ? record(row) : undefined;
  }

  async insert(s: Omit<ShipmentRecord, 'updatedAt' | 'createdAt' | 'cancelledAt'>): Promise<ShipmentRecord> {
    // ON CONFLICT DO NOTHING on the order: a concurrent creation for the same order keeps the first.
    await this.db.shipment.createMany({
      data: [
        {
          id: s.id,
          orderId: s.orderId,
          backend: s.backend,
          trackingNumber: s.trackingNumber,
          status: s.status,
          destinationCountry: s.destinationCountry,
          weightGrams: s.weightGrams,
          priceAmount: s.price.amount,
          currency: s.price.currency,
        },
      ],
      skipDuplicates: true,
    });
    const stored = await this.findByOrder(s.orderId);
    if (!stored) throw new ShopError('SHOP_CONFLICT', 'The shipment could not be stored');
    return stored;
  }

  async setStatus(id: string, status: ShipmentStatus): Promise<ShipmentRecord> {
    const now = new Date();
    const row = await this.db.shipment.update({
      where: { id },
      data: { status, updatedAt: now, ...(status === 'CANCELLED' ? { cancelledAt: now } : {}) },
    });
    return record(row);
  }
}
