import { ShopError, sortByHlc } from '@shoplab/chassis';
import { z } from 'zod';
import type { OrderEvent } from '../../domain/order-events';
import { StreamSlots } from '../../domain/stream-slots';
import { callerOf, type RouteGroup } from './context';
import {
  composedOrderSchema,
  orderPageSchema,
  pageQuerySchema,
  problemResponses,
  timelineSortSchema,
  userBearer,
} from './schemas';

const idParams = z.object({ id: z.string().min(1).max(100) });

/** The caller's orders (another user's order is 404), composed, and their progress as Server-Sent Events. */
export const orderRoutes: RouteGroup = (app, { orders, config }) => {
  app.get(
    '/orders',
    {
      schema: {
        tags: ['orders'],
        security: userBearer,
        summary: 'The caller’s orders, newest first',
        querystring: pageQuerySchema,
        response: { 200: orderPageSchema, ...problemResponses(504) },
      },
    },
    async (request) => orders.list(callerOf(request), request.query),
  );

  app.get(
    '/orders/:id',
    {
      schema: {
        tags: ['orders'],
        security: userBearer,
        summary: 'An order with its lines’ products, saga timeline and payment',
        description:
          'Products and payment are asked for in parallel; if either fails the order is still answered without it and `degraded` names what is missing.',
        params: idParams,
        querystring: z.object({ sort: timelineSortSchema }),
        response: { 200: composedOrderSchema, ...problemResponses(404, 504) },
      },
    },
    async (request) => {
      const order = await orders.get(callerOf(request), request.params.id);
      return request.query.sort === 'hlc' ? { ...order, timeline: sortByHlc(order.timeline) } : order;
    },
  );

  const streams = new Set<AbortController>();
  const slots = new StreamSlots({
    perUser: config.ORDER_EVENTS_MAX_STREAMS_PER_USER,
    total: config.ORDER_EVENTS_MAX_STREAMS,
  });
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    for (const s of streams) s.abort();
  });

  app.get(
    '/orders/:id/events',
    {
      schema: {
        tags: ['orders'],
        security: userBearer,
        summary: 'Server-Sent Events of the order’s saga progress',
        description:
          '`text/event-stream`: `event: status` when the status changes, `event: step` for each saga timeline entry, a `: heartbeat` comment every 15 s. The stream ends after CONFIRMED or CANCELLED.',
        params: idParams,
        response: { ...problemResponses(404, 429, 504) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const release = slots.acquire(caller.userId);
      if (!release) {
        throw new ShopError(
          'SHOP_TOO_MANY_STREAMS',
          `At most ${config.ORDER_EVENTS_MAX_STREAMS_PER_USER} order event streams per user (${config.ORDER_EVENTS_MAX_STREAMS} in all) are open at once`,
          { retryAfterSeconds: Math.ceil(config.ORDER_EVENTS_HEARTBEAT_MS / 1000) },
        );
      }
      let first: Awaited<ReturnType<typeof orders.fetch>>;
      try {
        // Fetched before the stream opens, so an unknown order is an ordinary 404 problem.
        first = await orders.fetch(caller, request.params.id);
      } catch (err) {
        release();
        throw err;
      }
      const stop = new AbortController();
      streams.add(stop);
      reply.hijack();
      const res = reply.raw;
      res.on('close', () => stop.abort());
      // The connection's idle timeout is for requests; a stream is idle between events by design.
      // (An injected request's socket is a stand-in without setTimeout.)
      const socket = request.raw.socket as { setTimeout?: (ms: number) => unknown } | undefined;
      if (typeof socket?.setTimeout === 'function') socket.setTimeout(0);
      const lifetime = setTimeout(() => stop.abort(), config.ORDER_EVENTS_MAX_LIFETIME_MS);
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), config.ORDER_EVENTS_HEARTBEAT_MS);
      try {
        for await (const event of orders.follow(caller, first, {
          pollMs: config.ORDER_EVENTS_POLL_MS,
          maxBackoffMs: config.ORDER_EVENTS_MAX_BACKOFF_MS,
          signal: stop.signal,
        })) {
          res.write(formatEvent(event));
        }
      } catch (err) {
        request.log.error({ err, orderId: first.id }, 'order events stream failed');
      } finally {
        clearInterval(heartbeat);
        clearTimeout(lifetime);
        streams.delete(stop);
        release();
        res.end();
      }
    },
  );
};

/** One SSE message. */
export function formatEvent(event: OrderEvent): string {
  return `id: ${event.id}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
