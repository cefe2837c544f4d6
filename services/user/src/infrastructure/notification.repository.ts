// The notification log on Prisma: reads for the API, and the writer the order-events consumer
// uses inside its transaction.
import { randomUUID } from 'node:crypto';
import type { NotificationReader, NotificationWriter } from '../application/ports';
import type { Notification, NotificationDraft, NotificationKind, Recipient } from '../domain/notification';
import { isUuid } from '../domain/validation';
import type { Notification as NotificationRow, Prisma, PrismaClient } from '../generated/prisma/client';

const NEWEST_FIRST = [
  { createdAt: 'desc' },
  { id: 'desc' },
] as const satisfies Prisma.NotificationOrderByWithRelationInput[];

function toNotification(row: NotificationRow): Notification {
  return { ...row, kind: row.kind as NotificationKind };
}

export class PrismaNotificationReader implements NotificationReader {
  constructor(private readonly prisma: PrismaClient) {}

  async forUser(userId: string, limit: number): Promise<Notification[]> {
    const rows = await this.prisma.notification.findMany({ where: { userId }, orderBy: NEWEST_FIRST, take: limit });
    return rows.map(toNotification);
  }

  async all(limit: number): Promise<Notification[]> {
    const rows = await this.prisma.notification.findMany({ orderBy: NEWEST_FIRST, take: limit });
    return rows.map(toNotification);
  }
}

export class PrismaNotificationWriter implements NotificationWriter {
  constructor(private readonly tx: Prisma.TransactionClient) {}

  async recipient(userId: string): Promise<Recipient | undefined> {
    // Ids are uuids here; anything else names nobody (and must not reach a ::uuid cast).
    if (!isUuid(userId)) return undefined;
    const row = await this.tx.user.findUnique({ where: { id: userId }, select: { id: true, email: true, name: true } });
    return row ?? undefined;
  }

  async add(n: NotificationDraft): Promise<boolean> {
    // The partial unique indexes (order_id, kind) and (user_id) for welcome decide; no target,
    // so either conflict means "already logged".
    const inserted = await this.tx.$executeRaw`
      INSERT INTO notifications (id, user_id, email, kind, subject, body, order_id)
      VALUES (${randomUUID()}::uuid, ${n.userId}::uuid, ${n.email}, ${n.kind}, ${n.subject}, ${n.body}, ${n.orderId})
      ON CONFLICT DO NOTHING`;
    return inserted === 1;
  }
}
