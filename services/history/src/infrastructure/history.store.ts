// The read model in PostgreSQL (ADR 22): the projection's writes, inside the consumer's
// transaction, and the reads the API serves (search with full text, JSONB documents). Database
// failures reach the chassis' error paths unmapped (a 503 when the database is away).
import type { HistoryWrites, ReadModelStats } from '../application/ports';
import type { SearchPage, SearchQuery } from '../application/search';
import { type OrderDocument, type OrderFacts, searchText } from '../domain/order-document';
import { Prisma, type PrismaClient } from '../generated/prisma/client';

/** The projection's writes with one consumer transaction. */
export class PrismaHistoryWrites implements HistoryWrites {
  constructor(private readonly tx: Prisma.TransactionClient) {}

  async loadForUpdate(orderId: string): Promise<OrderFacts | null> {
    // Both topics' consumers may write one order at once: serialise them per order (a row lock
    // cannot cover the first insert, an advisory lock can).
    await this.tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${orderId}))`;
    const row = await this.tx.orderHistory.findUnique({ where: { orderId }, select: { facts: true } });
    return row ? (row.facts as unknown as OrderFacts) : null;
  }

  /** loadForUpdate for many orders in two statements (the locks taken in `orderIds`' order). */
  async loadManyForUpdate(orderIds: string[]): Promise<Map<string, OrderFacts>> {
    if (orderIds.length === 0) return new Map();
    await this.tx.$queryRaw`
      SELECT pg_advisory_xact_lock(hashtext(id))::text FROM unnest(${orderIds}::text[]) WITH ORDINALITY AS t(id, n) ORDER BY n`;
    const rows = await this.tx.orderHistory.findMany({
      where: { orderId: { in: orderIds } },
      select: { orderId: true, facts: true },
    });
    return new Map(rows.map((r) => [r.orderId, r.facts as unknown as OrderFacts]));
  }

  async save(facts: OrderFacts, doc: OrderDocument): Promise<void> {
    const columns = {
      userId: doc.userId,
      status: doc.status,
      totalAmount: doc.total ? BigInt(doc.total.amount) : null,
      currency: doc.total?.currency ?? null,
      paymentStatus: doc.payment?.status ?? null,
      productNames: searchText(doc),
      createdAt: doc.timings.createdAt ? new Date(doc.timings.createdAt) : null,
      endedAt: doc.timings.endedAt ? new Date(doc.timings.endedAt) : null,
      lastVersion: doc.version,
      lastEventAt: new Date(doc.lastEventAt),
      document: doc as unknown as Prisma.InputJsonValue,
      facts: facts as unknown as Prisma.InputJsonValue,
    };
    await this.tx.orderHistory.upsert({
      where: { orderId: doc.orderId },
      create: { orderId: doc.orderId, ...columns },
      update: columns,
    });
  }

  async recordProgress(topic: string, eventTime: Date, events = 1): Promise<void> {
    await this.tx.$executeRaw`
      INSERT INTO topic_progress (topic, events_applied, last_event_at) VALUES (${topic}, ${events}, ${eventTime})
      ON CONFLICT (topic) DO UPDATE SET events_applied = topic_progress.events_applied + EXCLUDED.events_applied,
        last_event_at = GREATEST(topic_progress.last_event_at, EXCLUDED.last_event_at)`;
  }
}

interface DocumentRow {
  document: OrderDocument;
  created_at: Date;
  order_id: string;
}

/** The API's reads, and the rebuild's reset. */
export class PrismaHistoryReads {
  constructor(private readonly prisma: PrismaClient) {}

  async get(orderId: string): Promise<OrderDocument | null> {
    const row = await this.prisma.orderHistory.findUnique({ where: { orderId }, select: { document: true } });
    return row ? (row.document as unknown as OrderDocument) : null;
  }

  /** Newest first by creation; only orders whose order.created has been applied. */
  async search(query: SearchQuery): Promise<SearchPage> {
    const where: Prisma.Sql[] = [Prisma.sql`created_at IS NOT NULL`];
    if (query.userId) where.push(Prisma.sql`user_id = ${query.userId}`);
    if (query.status) where.push(Prisma.sql`status = ${query.status}`);
    if (query.from) where.push(Prisma.sql`created_at >= ${query.from}`);
    if (query.to) where.push(Prisma.sql`created_at < ${query.to}`);
    if (query.minAmount !== undefined) where.push(Prisma.sql`total_amount >= ${query.minAmount}`);
    if (query.maxAmount !== undefined) where.push(Prisma.sql`total_amount <= ${query.maxAmount}`);
    if (query.q) where.push(Prisma.sql`search @@ websearch_to_tsquery('english', ${query.q})`);
    if (query.after) {
      where.push(Prisma.sql`(created_at, order_id) < (${query.after.createdAt}, ${query.after.orderId})`);
    }
    const rows = await this.prisma.$queryRaw<DocumentRow[]>`
      SELECT document, created_at, order_id FROM order_history
       WHERE ${Prisma.join(where, ' AND ')}
       ORDER BY created_at DESC, order_id DESC
       LIMIT ${query.limit + 1}`;
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      orders: page.map((r) => r.document),
      next: rows.length > query.limit && last ? { createdAt: last.created_at, orderId: last.order_id } : null,
    };
  }

  async stats(): Promise<ReadModelStats> {
    const [documents, progress] = await Promise.all([
      this.prisma.orderHistory.count(),
      this.prisma.topicProgress.findMany(),
    ]);
    return {
      documents,
      topics: Object.fromEntries(
        progress.map((p) => [p.topic, { eventsApplied: Number(p.eventsApplied), lastEventAt: p.lastEventAt }]),
      ),
    };
  }

  async generation(): Promise<number> {
    const state = await this.prisma.projectionState.findUnique({ where: { id: 1 } });
    return state?.generation ?? 0;
  }

  /** Drops the read model (documents, progress, the applied event ids) and starts a new generation. */
  async reset(): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`TRUNCATE order_history, topic_progress, processed_events`;
      const state = await tx.projectionState.upsert({
        where: { id: 1 },
        create: { id: 1, generation: 1, rebuiltAt: new Date() },
        update: { generation: { increment: 1 }, rebuiltAt: new Date() },
      });
      return state.generation;
    });
  }
}
