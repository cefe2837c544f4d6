// HTTP caching of the catalogue (docs/patterns/caching.md, docs/adr/0025-http-caching-of-the-catalogue.md):
// a strong ETag computed from each answer's bytes by @fastify/etag, a conditional GET with a
// matching If-None-Match answered 304 with no body, Cache-Control per route, and counters of
// what the validators saved.
import etag from '@fastify/etag';
import { getOrCreate, type HttpApp } from '@shoplab/chassis';
import type { FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';

/**
 * The product list and a product page: stock changes with every checkout, so a copy is fresh
 * for a few seconds only; for 30 s more a cache may answer with it while it asks again in the
 * background (the reader waits for no one and sees the new stock on the next read). A checkout
 * never trusts these numbers: the catalog reserves against its live stock.
 */
export const CATALOGUE_CACHE_CONTROL = 'public, max-age=5, stale-while-revalidate=30';
/** Answers no cache may keep: errors, and pages served from the gateway's memory (they say how old in `Age`). */
export const NO_STORE = 'no-store';

export interface HttpCacheMetrics {
  conditional: Counter<'route'>;
  notModified: Counter<'route'>;
  bytesSaved: Counter<'route'>;
}

/** The counters, created once per registry (tests build several apps on one). */
export function httpCacheMetrics(registry: Registry): HttpCacheMetrics {
  const registers = [registry];
  return {
    conditional: getOrCreate(
      registry,
      'shop_http_conditional_requests_total',
      () =>
        new Counter({
          name: 'shop_http_conditional_requests_total',
          help: 'GET requests with an If-None-Match validator, by route',
          labelNames: ['route'],
          registers,
        }),
    ),
    notModified: getOrCreate(
      registry,
      'shop_http_not_modified_total',
      () =>
        new Counter({
          name: 'shop_http_not_modified_total',
          help: 'Conditional GETs answered 304 Not Modified (the validator matched), by route',
          labelNames: ['route'],
          registers,
        }),
    ),
    bytesSaved: getOrCreate(
      registry,
      'shop_http_cache_bytes_saved_total',
      () =>
        new Counter({
          name: 'shop_http_cache_bytes_saved_total',
          help: 'Body bytes not sent because a 304 answered instead of the 200, by route',
          labelNames: ['route'],
          registers,
        }),
    ),
  };
}

/**
 * ETags, 304s and their counters for the routes of `app` (an encapsulated context: other
 * routes are left alone). A route sets its own Cache-Control on a 200; every other answer is
 * `no-store`.
 */
export async function registerHttpCaching(app: HttpApp, registry: Registry): Promise<void> {
  const metrics = httpCacheMetrics(registry);
  const bodyBytes = new WeakMap<FastifyRequest, number>();
  // Added before @fastify/etag's own onSend hook, so it sees the body the 304 replaces.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 200) reply.header('cache-control', NO_STORE);
    else if (typeof payload === 'string' || Buffer.isBuffer(payload))
      bodyBytes.set(request, Buffer.byteLength(payload));
    return payload;
  });
  await app.register(etag, { algorithm: 'sha1' });
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers['if-none-match'] === undefined) return;
    const route = request.routeOptions.url ?? 'unknown';
    metrics.conditional.inc({ route });
    if (reply.statusCode !== 304) return;
    metrics.notModified.inc({ route });
    metrics.bytesSaved.inc({ route }, bodyBytes.get(request) ?? 0);
  });
}

/**
 * How stale an answer the client accepts, from its `Cache-Control: max-stale[=seconds]` request
 * directive, in ms: Infinity for a bare `max-stale`, undefined when the header has none (or an
 * unreadable one: a cache ignores a directive it cannot read).
 */
export function maxStaleMs(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  for (const directive of cacheControl.split(',')) {
    const m = /^\s*max-stale\s*(?:=\s*"?(\d{1,9})"?)?\s*$/i.exec(directive);
    if (m) return m[1] === undefined ? Number.POSITIVE_INFINITY : Number(m[1]) * 1000;
  }
  return undefined;
}
