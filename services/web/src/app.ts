import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import proxy from '@fastify/http-proxy';
import fastifyStatic from '@fastify/static';
import {
  createHttpApp,
  type HttpApp,
  requireAdminToken,
  type ServiceKit,
  ShopError,
  sendProblem,
} from '@shoplab/chassis';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { registerChartRoutes } from './charts';
import type { WebConfig } from './config';
import { registerControlRoutes } from './control';

/** The built bundle: services/web/dist/ui (this file runs from services/web/dist/src). */
export const DEFAULT_UI_DIR = resolve(__dirname, '../ui');

export interface AppDeps {
  kit: ServiceKit<WebConfig>;
}

/**
 * The web service's HTTP app (no listen): the storefront's static bundle, `/api/*` proxied to
 * the gateway (so the browser talks to one origin and needs no CORS), and every other GET that
 * asks for HTML answered with index.html (the app's own routes: /products/…, /orders/…).
 */
export async function buildApp({ kit }: AppDeps): Promise<{ http: HttpApp }> {
  const { config } = kit;
  const uiDir = config.UI_DIR ?? DEFAULT_UI_DIR;
  const index = resolve(uiDir, 'index.html');
  const assets = resolve(uiDir, 'assets');
  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: 'ShopLab web: the storefront bundle, and the public API proxied to the gateway under /api.',
    readiness: {
      // Without its bundle the service has nothing to serve; the gateway may be down (the app says so).
      bundle: async () => {
        if (!existsSync(index)) throw new Error(`${index} is missing: run npm run -w services/web build:ui`);
      },
    },
  });

  // The gateway's admin API is on its admin listener (404 on its public port); the token is
  // passed on, the gateway checks it.
  const gatewayAdminUrl = config.GATEWAY_ADMIN_URL ?? config.GATEWAY_URL;
  await http.register(proxy, {
    upstream: gatewayAdminUrl,
    prefix: '/api/v1/admin',
    rewritePrefix: '/api/v1/admin',
    preValidation: async () => {},
    undici: { bodyTimeout: 30_000, headersTimeout: 30_000 },
    replyOptions: {
      onError: (reply, { error }) => {
        reply.request.log.warn({ err: error }, "the gateway's admin listener did not answer");
        sendProblem(
          reply as never,
          new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'The gateway did not answer; try again shortly', {
            dependency: 'gateway',
          }),
        );
      },
    },
  });
  await http.register(proxy, {
    upstream: config.GATEWAY_URL,
    prefix: '/api',
    rewritePrefix: '/api',
    // Bodies are parsed here (JSON, within the body limit) and sent on re-serialized, instead of
    // the plugin's default of passing the raw request stream as the body: the chassis checks every
    // body for text no database can store, and walking a stream object never finishes. (Setting
    // preValidation is how @fastify/http-proxy is told not to install its pass-through parsers.)
    preValidation: async () => {},
    undici: { bodyTimeout: config.PROXY_BODY_TIMEOUT_MS, headersTimeout: 30_000 },
    replyOptions: {
      // The gateway did not answer at all (down, refused, timed out): a problem, like every other error here.
      onError: (reply, { error }) => {
        reply.request.log.warn({ err: error }, 'the gateway did not answer');
        sendProblem(
          reply as never,
          new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'The gateway did not answer; try again shortly', {
            dependency: 'gateway',
          }),
        );
      },
    },
  });

  // Jaeger's query API for the control room's trace waterfall: reads only, admin token required
  // (traces hold every shopper's requests); the token is not passed on.
  await http.register(proxy, {
    upstream: config.JAEGER_URL,
    prefix: '/jaeger/api',
    rewritePrefix: '/api',
    httpMethods: ['GET'],
    preHandler: requireAdminToken(config.ADMIN_TOKEN),
    undici: { bodyTimeout: 30_000, headersTimeout: 30_000 },
    replyOptions: {
      rewriteRequestHeaders: (_request, headers) => {
        const { authorization: _token, ...rest } = headers;
        return rest;
      },
      onError: (reply, { error }) => {
        reply.request.log.warn({ err: error }, 'Jaeger did not answer');
        sendProblem(
          reply as never,
          new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'Jaeger did not answer', { dependency: 'jaeger' }),
        );
      },
    },
  });

  registerChartRoutes(http, { prometheusUrl: config.PROMETHEUS_URL, adminToken: config.ADMIN_TOKEN });
  registerControlRoutes(http, {
    adminToken: config.ADMIN_TOKEN,
    gatewayUrl: config.GATEWAY_URL,
    gatewayAdminUrl,
    mapServices: [{ name: 'gateway', url: config.GATEWAY_URL }, ...config.MAP_SERVICES],
  });

  // The bundle's assets (hashed names: their content never changes), read from disk on each
  // request, so a rebuilt bundle is served without a restart; one that is not there is a 404 problem.
  await http.register(fastifyStatic, { root: uiDir, serve: false });
  http.get('/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const file = resolve(assets, (request.params as { '*': string })['*']);
    if (!file.startsWith(assets + sep) || !existsSync(file)) {
      return sendProblem(reply, new ShopError('SHOP_NOT_FOUND', `No asset ${request.url}`));
    }
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .sendFile(file.slice(assets.length + 1), assets, { cacheControl: false });
  });

  // index.html for the app's own routes (/, /products/…, /orders/…), always revalidated; a
  // request that does not ask for HTML gets the usual problem.
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const wantsHtml = request.url === '/' || (request.headers.accept ?? '').includes('text/html');
    if (!wantsHtml || !existsSync(index)) {
      return sendProblem(reply, new ShopError('SHOP_ROUTE_NOT_FOUND', `No route ${request.method} ${request.url}`));
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html', uiDir, { cacheControl: false });
  };
  http.get('/', { schema: { hide: true } }, page);
  http.get('/*', { schema: { hide: true } }, page);

  return { http };
}
