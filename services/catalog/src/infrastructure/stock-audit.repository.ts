// Stock counters and reservation counts for the audit (docs/reference.md#audit, invariant 4).
import { pgPoolOf } from '@shoplab/chassis';
import type { StockAuditReader, StockReport } from '../application/ports';
import { RESERVATION_STATUSES, type ReservationStatus } from '../domain/stock';
import type { CatalogPrisma } from './database';

export class PrismaStockAuditReader implements StockAuditReader {
  constructor(private readonly prisma: CatalogPrisma) {}

  async report(): Promise<StockReport> {
    // One snapshot for both reads, so the counters and the reservation counts agree.
    const [stock, groups, sales] = await this.prisma.$transaction(
      async (tx) =>
        [
          await tx.stock.findMany({ orderBy: { productId: 'asc' } }),
          await tx.$queryRawUnsafe<{ status: string; n: number }[]>(
            'SELECT status, count(*)::int AS n FROM reservations GROUP BY status',
          ),
          await tx.productSales.findMany({ select: { productId: true, unitsSold: true } }),
        ] as const,
      { isolationLevel: 'RepeatableRead' },
    );
    const unitsSold = new Map(sales.map((s) => [s.productId, s.unitsSold]));
    const reservationsByStatus = Object.fromEntries(RESERVATION_STATUSES.map((s) => [s, 0])) as Record<
      ReservationStatus,
      number
    >;
    for (const g of groups) reservationsByStatus[g.status as ReservationStatus] = g.n;
    return {
      products: stock.map((s) => ({
        productId: s.productId,
        initial: s.initial,
        available: s.available,
        reserved: s.reserved,
        sold: s.sold,
        confirmedUnitsSold: unitsSold.get(s.productId) ?? 0,
      })),
      reservationsByStatus,
    };
  }

  async reservation(id: string) {
    const row = await this.prisma.reservation.findUnique({
      where: { id },
      include: { lines: { orderBy: { productId: 'asc' } } },
    });
    if (!row) return undefined;
    return {
      id: row.id,
      status: row.status as ReservationStatus,
      lines: row.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  async reservationStatuses() {
    // Every reservation the shop ever made, at each audit (the bench audits after its checkouts):
    // straight from pg, without Prisma's conversion of each row.
    const { rows } = await pgPoolOf(this.prisma).query<{ id: string; status: ReservationStatus }>(
      'SELECT id, status::text AS status FROM reservations',
    );
    return Object.fromEntries(rows.map((r) => [r.id, r.status]));
  }
}
