import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { trace } from '@opentelemetry/api';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import fp from 'fastify-plugin';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ACCESS_LOG_MODES, type AccessLogSwitch } from './access-log';
import { type FaultInjector, faultRuleInputSchema } from './chaos';
import { databaseError } from './database-errors';
import { type ErrorCode, errorText, problemOf, ShopError } from './errors';
import type { HttpApp } from './http-app';
import { undecodableQueryError, unstorableInputError } from './input';
import type { ServiceMetrics } from './metrics';
import { completeOpenApi, type OpenApiDocument, problemPageRoutes, problemResponses, RouteTable } from './openapi';

/** A readiness check: resolves when the dependency answers, throws otherwise. */
export type ReadinessCheck = () => Promise<unknown>;

export interface HttpAppOptions {
  service: string;
  version: string;
  description?: string;
  logger: Logger;
  metrics: ServiceMetrics;
  chaos: FaultInjector;
  adminToken: string;
  bodyLimitBytes?: number;
  /** Who logs each request (ACCESS_LOG; /admin/access-log switches it); a line per request when absent. */
  accessLog?: AccessLogSwitch;
  /** Dependencies `/readyz` checks, by name (`db`, `kafka`, `catalog`…). */
  readiness?: Record<string, ReadinessCheck>;
  readinessTimeoutMs?: number;
  /** Reports true once shutdown began: `/readyz` answers 503 so load balancers and Consul stop sending traffic. */
  isShuttingDown?: () => boolean;
  /** Circuit breakers listed at `/admin/breakers`, switched on and off there when the registry can. */
  breakers?: AdminBreakers;
  /** Serve Swagger UI at `/docs` (the spec is always at `/openapi.json`). */
  swaggerUi?: boolean;
  /** Paths under this prefix are rate limited (429 with Retry-After is documented for them). */
  rateLimitedPrefix?: string;
  /**
   * Whose X-Forwarded-For names the client (`request.ip`): false (default: the peer is the
   * client) or the proxies' addresses/CIDRs. Set per deployment, never `true` on a reachable port.
   */
  trustProxy?: false | string[];
  /**
   * Time to receive a whole request, headers and body (default 30 s: a client trickling bytes
   * cannot hold a connection open), and the idle time after which a connection is closed
   * (default 120 s). A long-lived stream lifts the latter for its own socket
   * (`request.raw.socket.setTimeout(0)`); the former never concerns a response.
   */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Last changes to the OpenAPI document, for what route schemas cannot say (e.g. an event stream). */
  patchOpenApi?: (doc: OpenApiDocument) => void;
}

export type { HttpApp } from './http-app';

/**
 * An admin route: a path with an `admin` segment (`/admin/chaos`, `/v1/admin/stock`, the
 * gateway's `/api/v1/admin/audit`). With an admin listener (listenAdmin) these are served there
 * only; every other socket gets the 404 of an unknown route.
 */
export function isAdminPath(url: string): boolean {
  return /(^|\/)admin(\/|$)/.test(url.split('?', 1)[0] ?? '');
}

/** Whether the app has an admin listener, and the sockets that came in on it. */
interface AdminListenerState {
  active: boolean;
  sockets: WeakSet<Socket>;
}
const adminListeners = new WeakMap<object, AdminListenerState>();

const OPERATIONAL_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/** The content type of every error body (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Sends a problem+json reply for a ShopError (with Retry-After when it says how long to wait). */
export function sendProblem(reply: FastifyReply, err: ShopError): FastifyReply {
  const retryAfter = err.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && !reply.hasHeader('retry-after')) {
    reply.header('retry-after', String(Math.max(0, Math.ceil(retryAfter))));
  }
  return reply.code(err.httpStatus).type(PROBLEM_CONTENT_TYPE).send(problemOf(err, reply.request.url));
}

function fastifyErrorToShopError(err: FastifyError): ShopError | undefined {
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'SHOP_PAYLOAD_TOO_LARGE',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SHOP_UNSUPPORTED_MEDIA_TYPE',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'SHOP_BAD_REQUEST',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SHOP_BAD_REQUEST',
  };
  const code = err.code ? byFastifyCode[err.code] : undefined;
  if (code) return new ShopError(code, err.message);
  // JSON that does not parse, and other client errors fastify raises itself.
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    if (err.statusCode === 413) return new ShopError('SHOP_PAYLOAD_TOO_LARGE', err.message);
    if (err.statusCode === 415) return new ShopError('SHOP_UNSUPPORTED_MEDIA_TYPE', err.message);
    if (err.statusCode === 429) return new ShopError('SHOP_RATE_LIMITED', err.message);
    return new ShopError('SHOP_BAD_REQUEST', err.message);
  }
  return undefined;
}

/**
 * Problem+json for every error: ShopErrors as they are, validation with the failing fields, a
 * database failure as databaseError says (503 unavailable, 409 conflict, 400 refused value), the
 * rest as 500. Input no database can store (NUL, lone
 * surrogates) is refused before any route's schema or handler sees it; a method the path does
 * not have is 405 with Allow.
 */
const problemPlugin = fp(async (app: FastifyInstance, opts: { routes: RouteTable; service: string }) => {
  app.addHook('onRoute', (route) => opts.routes.add(route.url, route.method));
  app.addHook('onRequest', async (request) => {
    const undecodable = undecodableQueryError(request.url);
    if (undecodable) throw undecodable;
  });
  // After the route's schema: what it dropped (unknown keys) is never stored, so never checked.
  app.addHook('preHandler', async (request) => {
    const refused = unstorableInputError({ params: request.params, query: request.query, body: request.body });
    if (refused) throw refused;
  });
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const allowed = opts.routes.methodsOf(request.url);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(
        reply,
        new ShopError(
          'SHOP_METHOD_NOT_ALLOWED',
          `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`,
          {
            allowed,
          },
        ),
      );
    }
    return sendProblem(reply, new ShopError('SHOP_ROUTE_NOT_FOUND', `No route ${request.method} ${request.url}`));
  };
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // No route matched, and reading the request failed before the not-found handler ran
    // (e.g. a QUERY without Content-Type): the answer is still about the route.
    if (request.is404) return notFound(request, reply);
    if (error instanceof ShopError) return sendProblem(reply, error);
    // The database unavailable (503 with Retry-After), a write conflict (409) or a value it
    // refused (400): database-errors.ts, for every service alike.
    const fromDatabase = databaseError(error, opts.service);
    if (fromDatabase) {
      request.log.warn(
        { err: error, code: fromDatabase.code },
        'a database failure, answered as %s',
        fromDatabase.code,
      );
      return sendProblem(reply, fromDatabase);
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.map((v) => ({
        field: `${error.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`,
        message: v.message,
      }));
      const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      return sendProblem(reply, new ShopError('SHOP_VALIDATION_FAILED', detail, { errors }));
    }
    const mapped = fastifyErrorToShopError(error);
    if (mapped) return sendProblem(reply, mapped);
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, new ShopError('SHOP_INTERNAL', 'An unexpected error occurred'));
  });
  app.setNotFoundHandler(notFound);
});

/** RED metrics per route, request ids and trace ids on every response, chaos on business routes. */
const observabilityPlugin = fp(
  async (app: FastifyInstance, opts: { metrics: ServiceMetrics; chaos: FaultInjector }) => {
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
      const span = trace.getActiveSpan();
      if (span) reply.header('x-trace-id', span.spanContext().traceId);
    });
    app.addHook('preHandler', async (request) => {
      const route = request.routeOptions.url ?? request.url;
      if (
        OPERATIONAL_ROUTES.has(route) ||
        route.startsWith('/admin/') ||
        route.startsWith('/docs') ||
        route.startsWith('/problems')
      ) {
        return;
      }
      await opts.chaos.apply('http', `${request.method} ${route}`);
    });
    app.addHook('onResponse', async (request, reply) => {
      opts.metrics.httpRequestDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });
  },
);

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith('Bearer ')) return undefined;
  return header.slice('Bearer '.length).trim();
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A preHandler that lets only callers with the admin token through. */
export function requireAdminToken(adminToken: string) {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request);
    if (!token) throw new ShopError('SHOP_UNAUTHENTICATED', 'An admin token is required (Authorization: Bearer …)');
    if (!sameSecret(token, adminToken)) throw new ShopError('SHOP_FORBIDDEN', 'The admin token is not valid');
  };
}

/** What `/admin/breakers` needs of a BreakerRegistry (resilience.ts): the list, and the on/off switch. */
export interface AdminBreakers {
  list(): unknown[];
  setEnabled?(enabled: boolean): void;
  readonly isEnabled?: boolean;
}

/** `/admin/chaos` (fault injection) and `/admin/breakers`, behind the admin token. */
const adminPlugin = async (
  app: FastifyInstance,
  opts: { adminToken: string; chaos: FaultInjector; breakers?: AdminBreakers; accessLog?: AccessLogSwitch },
) => {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.addHook('preHandler', requireAdminToken(opts.adminToken));
  const security = [{ adminToken: [] }];
  typed.get('/admin/chaos', { schema: { tags: ['admin'], security, summary: 'Active fault rules' } }, async () => ({
    items: opts.chaos.list(),
  }));
  typed.put(
    '/admin/chaos',
    { schema: { tags: ['admin'], security, summary: 'Add a fault rule', body: faultRuleInputSchema } },
    async (request, reply) => reply.code(201).send(opts.chaos.add(request.body)),
  );
  typed.delete('/admin/chaos', { schema: { tags: ['admin'], security, summary: 'Clear every fault' } }, async () => ({
    cleared: opts.chaos.clear(),
  }));
  typed.delete(
    '/admin/chaos/:id',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Clear one fault',
        params: z.object({ id: z.uuid() }),
        response: { 200: z.object({ cleared: z.number().int() }), ...problemResponses(404) },
      },
    },
    async (request) => {
      const cleared = opts.chaos.clear(request.params.id);
      if (cleared === 0) throw new ShopError('SHOP_NOT_FOUND', `No fault rule ${request.params.id}`);
      return { cleared };
    },
  );
  const breakerList = () => ({
    ...(opts.breakers?.isEnabled !== undefined ? { enabled: opts.breakers.isEnabled } : {}),
    items: opts.breakers?.list() ?? [],
  });
  typed.get('/admin/breakers', { schema: { tags: ['admin'], security, summary: 'Circuit breakers' } }, async () =>
    breakerList(),
  );
  // The before/after switch of the exercises: off turns every breaker of this process into a pass-through.
  typed.put(
    '/admin/breakers',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Turn every circuit breaker of this process on or off',
        body: z.object({ enabled: z.boolean() }),
        response: {
          200: z.object({ enabled: z.boolean().optional(), items: z.array(z.unknown()) }),
          ...problemResponses(404),
        },
      },
    },
    async (request) => {
      if (!opts.breakers?.setEnabled) throw new ShopError('SHOP_NOT_FOUND', 'This process has no breaker switch');
      opts.breakers.setEnabled(request.body.enabled);
      return breakerList();
    },
  );
  // Who writes the access log: this process (http, all) or a sidecar in front of it (off).
  const accessLogSchema = z.object({ mode: z.enum(ACCESS_LOG_MODES) });
  const accessLogOf = () => {
    if (!opts.accessLog) throw new ShopError('SHOP_NOT_FOUND', 'This process has no access-log switch');
    return opts.accessLog;
  };
  typed.get(
    '/admin/access-log',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: "Who writes this process' access log",
        response: { 200: accessLogSchema, ...problemResponses(404) },
      },
    },
    async () => ({ mode: accessLogOf().mode }),
  );
  typed.put(
    '/admin/access-log',
    {
      schema: {
        tags: ['admin'],
        security,
        summary: 'Log each request in-process (http: HTTP only, all: gRPC too) or leave it to a sidecar (off)',
        body: accessLogSchema,
        response: { 200: accessLogSchema, ...problemResponses(404) },
      },
    },
    async (request) => {
      const log = accessLogOf();
      log.mode = request.body.mode;
      return { mode: log.mode };
    },
  );
};

async function runChecks(checks: Record<string, ReadinessCheck>, timeoutMs: number) {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, 'ok'] as const;
      } catch (err) {
        return [name, `error: ${errorText(err)}`] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * The fastify app every service starts from: OpenAPI from zod route schemas, problem+json
 * errors from the one error table, request ids, body limit, RED metrics, chaos,
 * `/healthz`, `/readyz`, `/metrics` and the admin routes. It does not listen: `main.ts` does,
 * tests use `app.inject()`.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const accessLog = options.accessLog;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    // No line per request while a sidecar in front writes the access log (ACCESS_LOG=off).
    ...(options.accessLog
      ? { logController: new LogController({ disableRequestLogging: () => !accessLog?.http }) }
      : {}),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    trustProxy: options.trustProxy ?? false,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    connectionTimeout: options.connectionTimeoutMs ?? 120_000,
    forceCloseConnections: 'idle',
    // Long path parameters reach the route's schema (400 naming the limit) instead of a bare 414.
    routerOptions: { maxParamLength: 2_048 },
    // A URL that does not decode (`/products/%FF`) is the client's mistake, answered like any other.
    frameworkErrors: (error, _request, reply) =>
      sendProblem(reply as unknown as FastifyReply, new ShopError('SHOP_BAD_REQUEST', error.message)),
  }).withTypeProvider<ZodTypeProvider>();
  const routes = new RouteTable();
  // Admin routes on the public port, once an admin listener serves them: the 404 of an unknown
  // route (problem+json, from the error handler), so the public port does not even say they
  // exist. The matched route is checked, not only the raw path (`/%61dmin/…` routes to
  // `/admin/…`). app.inject() has no real socket: tests reach every route.
  const adminListener: AdminListenerState = { active: false, sockets: new WeakSet() };
  adminListeners.set(app, adminListener);
  app.addHook('onRequest', async (request) => {
    if (!adminListener.active) return;
    const socket = request.raw.socket;
    if (!(socket instanceof Socket) || adminListener.sockets.has(socket)) return;
    if (isAdminPath(request.routeOptions.url ?? '') || isAdminPath(request.url)) {
      throw new ShopError('SHOP_ROUTE_NOT_FOUND', `No route ${request.method} ${request.url}`);
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `ShopLab ${options.service}`, version: options.version, description: options.description },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
    transform: jsonSchemaTransform,
    // Every operation's error answers as they really are: problem+json, Retry-After on 429.
    transformObject: (documents) => {
      const doc = completeOpenApi((documents as { openapiObject: OpenApiDocument }).openapiObject, {
        ...(options.rateLimitedPrefix ? { rateLimitedPrefix: options.rateLimitedPrefix } : {}),
      });
      options.patchOpenApi?.(doc);
      return doc as never;
    },
  });
  if (options.swaggerUi) await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(problemPlugin, { routes, service: options.service });
  await app.register(observabilityPlugin, { metrics: options.metrics, chaos: options.chaos });

  const hide = { hide: true } as const;
  app.get('/openapi.json', { schema: hide }, async () => app.swagger());
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'The process is alive' } }, async () => ({
    status: 'ok',
  }));
  const readiness = z.object({ status: z.string(), checks: z.record(z.string(), z.string()) });
  const readyzSchema = {
    tags: ['operations'],
    summary: 'Dependencies answer',
    response: { 200: readiness, 503: readiness.describe('not ready, or shutting down') },
  };
  app.get('/readyz', { schema: readyzSchema }, async (_request, reply) => {
    if (options.isShuttingDown?.()) return reply.code(503).send({ status: 'shutting_down', checks: {} });
    const checks = await runChecks(options.readiness ?? {}, options.readinessTimeoutMs ?? 2_000);
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) =>
    reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()),
  );
  problemPageRoutes(app as unknown as HttpApp);
  await app.register(adminPlugin, {
    adminToken: options.adminToken,
    chaos: options.chaos,
    ...(options.breakers ? { breakers: options.breakers } : {}),
    ...(accessLog ? { accessLog } : {}),
  });
  return app as unknown as HttpApp;
}

/** The admin listener of an app: its port, and how to close it (after the public port drained). */
export interface AdminListener {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the app on a second port, the admin listener (docs/architecture.md#trust-boundaries):
 * a plain node HTTP server whose handler is the app's own router, so both ports share routes,
 * hooks and error handling. From then on admin routes (isAdminPath) are answered on this port
 * only; the public one answers 404. Call it before the public port listens.
 */
export async function listenAdmin(
  app: HttpApp,
  options: { host: string; port: number; requestTimeoutMs?: number; connectionTimeoutMs?: number },
): Promise<AdminListener> {
  const state = adminListeners.get(app);
  if (!state) throw new Error('listenAdmin: the app was not made by createHttpApp');
  await app.ready();
  const server = createServer({ requestTimeout: options.requestTimeoutMs ?? 30_000 }, (req, res) =>
    app.routing(req, res),
  );
  server.setTimeout(options.connectionTimeoutMs ?? 120_000);
  server.on('connection', (socket) => state.sockets.add(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  state.active = true;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
