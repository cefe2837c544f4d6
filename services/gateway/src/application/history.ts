// The order history through the gateway: the read side (services/history) answers the search,
// and the gateway says how fresh that answer is — the read side's lag, and whether the caller's
// newest order (asked from the order service, the write side) is already in it with its current
// status (docs/patterns/cqrs.md#read-your-writes).
import { type Logger, ShopError, userTokenMetadata } from '@shoplab/chassis';
import { orderView } from '../domain/views';
import { essentialFailure, isRefusal, settle } from './degrade';
import type { Caller, Downstreams } from './ports';

/** The search filters the read side takes (the caller's own history leaves `userId` out). */
export interface HistoryFilters {
  userId?: string | undefined;
  q?: string | undefined;
  status?: 'PENDING' | 'CONFIRMED' | 'CANCELLED' | undefined;
  from?: string | undefined;
  to?: string | undefined;
  minAmount?: number | undefined;
  maxAmount?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** One order's document as the read side keeps it (its `version`: events applied). */
export interface HistoryDocument {
  orderId: string;
  userId: string | null;
  status: 'PENDING' | 'CONFIRMED' | 'CANCELLED' | null;
  version: number;
  [field: string]: unknown;
}

export interface HistoryLag {
  /** Events waiting, over every source topic. */
  events: number;
  /** Seconds behind, the largest over the topics; 0 when caught up, null when unknown. */
  seconds: number | null;
  topics: { topic: string; events: number; seconds: number | null }[];
}

/** The write side's newest order of the caller that the read side does not show as it is yet. */
export interface BehindOrder {
  orderId: string;
  status: string;
  historyStatus: string | null;
  historyVersion: number | null;
}

export interface HistoryAnswer {
  orders: HistoryDocument[];
  nextCursor: string | null;
  lag: HistoryLag | null;
  freshness: 'current' | 'being updated' | 'unknown';
  behind: BehindOrder | null;
  degraded?: ('orders' | 'lag')[];
}

interface LagAnswer {
  topics: { topic: string; events: number; seconds: number | null }[];
}

/** The history reads: the search is essential (no read side, no answer), the lag and the order check are not. */
export class HistoryViews {
  constructor(
    private readonly downstreams: Pick<Downstreams, 'order' | 'rest'>,
    private readonly adminToken: string,
    private readonly logger: Logger,
  ) {}

  /** The caller's own orders from the read side, with the lag and whether their newest order is in it yet. */
  async mine(caller: Caller, filters: Omit<HistoryFilters, 'userId'>): Promise<HistoryAnswer> {
    const newest = settle(
      this.downstreams.order.call(
        'listOrders',
        { userId: caller.userId, limit: 1, cursor: '' },
        { metadata: userTokenMetadata(caller.authorization) },
      ),
    );
    const [page, lag] = await Promise.all([this.search({ ...filters, userId: caller.userId }), this.lag()]);
    const degraded: ('orders' | 'lag')[] = lag ? [] : ['lag'];
    const latest = await newest;
    if (!latest.ok) {
      this.logger.warn({ code: codeOf(latest.error) }, 'order failed; history answered without its freshness');
      return withDegraded({ ...page, lag, freshness: 'unknown', behind: null }, [...degraded, 'orders']);
    }
    const order = latest.value.orders[0];
    if (!order) return withDegraded({ ...page, lag, freshness: 'current', behind: null }, degraded);
    const written = orderView(order);
    const seen = page.orders.find((d) => d.orderId === written.id) ?? (await this.document(written.id));
    if (seen === undefined) {
      // The read side did not answer for that one order: its freshness is not known.
      return withDegraded({ ...page, lag, freshness: 'unknown', behind: null }, degraded);
    }
    const behind = isBehind(written.status, seen)
      ? {
          orderId: written.id,
          status: written.status,
          historyStatus: seen?.status ?? null,
          historyVersion: seen?.version ?? null,
        }
      : null;
    return withDegraded({ ...page, lag, freshness: behind ? 'being updated' : 'current', behind }, degraded);
  }

  /** Every user's orders (the admin search), with the read side's lag. */
  async all(filters: HistoryFilters): Promise<HistoryAnswer> {
    const [page, lag] = await Promise.all([this.search(filters), this.lag()]);
    const freshness = lag === null ? 'unknown' : lag.events > 0 ? 'being updated' : 'current';
    return withDegraded({ ...page, lag, freshness, behind: null }, lag ? [] : ['lag']);
  }

  private async search(filters: HistoryFilters): Promise<{ orders: HistoryDocument[]; nextCursor: string | null }> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value !== undefined) query.set(key, String(value));
    try {
      const res = await this.downstreams.rest.request<{ orders: HistoryDocument[]; nextCursor: string | null }>(
        'history',
        { method: 'GET', path: `/v1/history/orders?${query}` },
      );
      return { orders: res.body.orders, nextCursor: res.body.nextCursor };
    } catch (err) {
      throw essentialFailure(err, 'history');
    }
  }

  /** The read side's lag; null when it cannot be read (the answer says so in `degraded`). */
  private async lag(): Promise<HistoryLag | null> {
    try {
      const res = await this.downstreams.rest.request<LagAnswer>('history', {
        method: 'GET',
        // The public-port path: /admin/history/lag is served on history's admin listener only.
        path: '/v1/history/lag',
        headers: { authorization: `Bearer ${this.adminToken}` },
      });
      const topics = res.body.topics.map(({ topic, events, seconds }) => ({ topic, events, seconds }));
      const seconds = topics.some((t) => t.seconds === null) ? null : Math.max(0, ...topics.map((t) => t.seconds ?? 0));
      return { events: topics.reduce((sum, t) => sum + t.events, 0), seconds, topics };
    } catch (err) {
      this.logger.warn({ code: codeOf(err) }, 'history lag could not be read');
      return null;
    }
  }

  /** One order's document: null when the read side has not seen the order, undefined when it did not answer. */
  private async document(orderId: string): Promise<HistoryDocument | null | undefined> {
    try {
      const res = await this.downstreams.rest.request<HistoryDocument>('history', {
        method: 'GET',
        path: `/v1/history/orders/${encodeURIComponent(orderId)}`,
      });
      return res.body;
    } catch (err) {
      if (isRefusal(err) && err.code === 'SHOP_NOT_FOUND') return null;
      this.logger.warn({ orderId, code: codeOf(err) }, 'history document could not be read');
      return undefined;
    }
  }
}

/**
 * The read side is behind an order when it has no document for it, or when the order has ended
 * (CONFIRMED, CANCELLED) and the document does not say so yet. A document already ended while
 * the order read a moment earlier was PENDING is not behind: the events only come after the
 * order's own write.
 */
export function isBehind(status: string, doc: Pick<HistoryDocument, 'status'> | null): boolean {
  if (!doc || doc.status === null) return true;
  return status !== 'PENDING' && status !== 'UNKNOWN' && doc.status !== status;
}

function withDegraded(answer: HistoryAnswer, degraded: ('orders' | 'lag')[]): HistoryAnswer {
  return degraded.length > 0 ? { ...answer, degraded } : answer;
}

function codeOf(err: unknown): string {
  return err instanceof ShopError ? err.code : String(err);
}
