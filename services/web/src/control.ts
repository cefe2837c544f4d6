// The control room's operations that the gateway's admin API does not have: dead-letter queues
// (list, redrive, discard), the before/after switches gathered in one place (the gateway's and
// each service's outbox), stop/kill/start a service, and the exercises run with their progress
// streamed to the page (SSE). All of it is shopctl's library code, called in this process, behind
// the admin token: the page does what `shopctl dlq|stop|kill|start|exercise run` do.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type HttpApp, requireAdminToken, ShopError } from '@shoplab/chassis';
import {
  AdminApi,
  auditWhenSettled,
  type Check,
  type ControlAction,
  discardDlq,
  type ExerciseResult,
  findExercise,
  listDlq,
  listExercises,
  localStackRunning,
  ROUTED_OPERATIONS,
  redriveDlq,
  repoRoot,
  runControl,
  runExercise,
  SERVICES,
  type ServiceName,
  ShippingApi,
  shopTarget,
  TARGET_SERVICES,
} from '@shoplab/shopctl';
import { z } from 'zod';

export interface ControlDeps {
  adminToken: string;
  gatewayUrl: string;
  /** The gateway's admin listener (its /api/v1/admin/*); gatewayUrl when it has none. */
  gatewayAdminUrl?: string;
  /** The services the gateway's registry view leaves out, whose /readyz the map shows. */
  mapServices: { name: string; url: string }[];
  env?: NodeJS.ProcessEnv;
  /** Whether this runs on the native stack (`make up`): stop/kill/start and the exercises need it. */
  localStack?: () => boolean;
}

const NOT_NATIVE =
  'This works on the native stack (make up) only, as `shopctl stop|start|kill` and `shopctl exercise run` do from a checkout; ' +
  'in compose use `docker compose stop|kill|start <service>`, in kind `kubectl`.';

const topicParams = z.object({ topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/) });
const serviceActionParams = z.object({
  service: z.enum(TARGET_SERVICES),
  action: z.enum(['stop', 'kill', 'start']),
});
const exerciseParams = z.object({ number: z.coerce.number().int().min(1) });

/** One before/after switch: its current value, and how to set it. */
interface Switch {
  name: string;
  label: string;
  /** The values it takes, the design's first. */
  values: readonly string[];
  read: () => Promise<string>;
  write: (value: string) => Promise<string>;
}

/** The native share of a strangled operation, in the steps the control room offers. */
const SHARES = ['0', '10', '50', '100'] as const;

/**
 * The switches that exist: the gateway's (breakers, bulkheads, order events, product cache), the
 * checkout mode (order), the card network's path (payment), each service's outbox relay and
 * publish mode, and the shipping strangler's (the native share per operation, shadow quotes).
 */
export function switches(admin: AdminApi, shipping?: ShippingApi): Switch[] {
  const gateway = <T>(method: string, path: string, body?: unknown) =>
    admin.request<T>('gateway', method, `/api/v1/admin/${path}`, body === undefined ? {} : { body });
  const onOff = (name: string, label: string, path: string, field: 'enabled' | 'fallback'): Switch => ({
    name,
    label,
    values: ['on', 'off'],
    read: async () => ((await gateway<Record<string, boolean>>('GET', path))[field] ? 'on' : 'off'),
    write: async (value) =>
      (await gateway<Record<string, boolean>>('PUT', path, { [field]: value === 'on' }))[field] ? 'on' : 'off',
  });
  /** A service's `{mode}` switch at `path` (GET reads it, PUT sets it). */
  const modeSwitch = (
    name: string,
    label: string,
    values: readonly string[],
    service: ServiceName,
    path: string,
  ): Switch => ({
    name,
    label,
    values,
    read: async () => (await admin.request<{ mode: string }>(service, 'GET', path)).mode,
    write: async (mode) => (await admin.request<{ mode: string }>(service, 'PUT', path, { body: { mode } })).mode,
  });
  return [
    onOff('breakers', 'Gateway circuit breakers (off: every call passes through)', 'breakers', 'enabled'),
    onOff('bulkheads', 'Gateway bulkheads (off: one shared pool)', 'bulkheads', 'enabled'),
    onOff('product-cache', 'Product page falls back on the gateway’s cache (off: 503)', 'product-cache', 'fallback'),
    {
      name: 'order-events',
      label: 'How the gateway follows an order (streaming: WatchOrder; polling: a read every 500 ms)',
      values: ['streaming', 'polling'],
      read: async () => (await gateway<{ mode: string }>('GET', 'order-events')).mode,
      write: async (mode) => (await gateway<{ mode: string }>('PUT', 'order-events', { mode })).mode,
    },
    modeSwitch(
      'checkout-mode',
      'How new checkouts run (orchestrated: the saga; choreographed: services react to events; two-phase: one distributed transaction)',
      ['orchestrated', 'choreographed', 'two-phase'],
      'order',
      '/v1/admin/checkout-mode',
    ),
    modeSwitch(
      'card-network',
      'Who asks the card network (ambassador: HAProxy beside payment owns retries and the circuit; direct: payment does; in-process: no network)',
      ['ambassador', 'direct', 'in-process'],
      'payment',
      '/v1/admin/card-network',
    ),
    ...SERVICES.map(
      (service): Switch => ({
        name: `relay-${service}`,
        label: `${service}: how its outbox relay finds new rows (poll: reads the table; wal: tails PostgreSQL's log)`,
        values: ['poll', 'wal'],
        read: async () => (await admin.relayStatus(service)).mode,
        write: (mode) => admin.setRelayMode(service, mode as 'poll' | 'wal'),
      }),
    ),
    ...SERVICES.map(
      (service): Switch => ({
        name: `outbox-${service}`,
        label: `${service}: how its events leave (outbox; direct: the dual write)`,
        values: ['outbox', 'direct'],
        read: async () => (await admin.outbox(service)).mode ?? 'outbox',
        write: (mode) => admin.setPublishMode(service, mode as 'outbox' | 'direct'),
      }),
    ),
    ...(shipping ? stranglerSwitches(shipping) : []),
  ];
}

/** `shopctl shipping route|shadow` as switches (docs/patterns/strangler-fig.md); a share set elsewhere shows as it is. */
function stranglerSwitches(shipping: ShippingApi): Switch[] {
  return [
    ...ROUTED_OPERATIONS.map(
      (operation): Switch => ({
        name: `shipping-${operation}-native`,
        label: `Shipping ${operation}s: percent answered by the native service (the rest: the legacy SOAP system; 0 is the rollback)`,
        values: SHARES,
        read: async () => String((await shipping.status()).nativeShare[operation]),
        write: async (value) =>
          String((await shipping.update({ nativeShare: { [operation]: Number(value) } })).nativeShare[operation]),
      }),
    ),
    {
      name: 'shipping-shadow',
      label: 'Shipping quotes shadowed (on: the other implementation is asked too and differences are counted)',
      values: ['on', 'off'],
      read: async () => ((await shipping.status()).shadow ? 'on' : 'off'),
      write: async (value) => ((await shipping.update({ shadow: value === 'on' })).shadow ? 'on' : 'off'),
    },
  ];
}

/** The exercise running now (one at a time: each one breaks the shared shop on purpose). */
let running: { number: number; title: string; startedAt: string } | null = null;
/** Stops the running exercise as Ctrl-C stops `shopctl exercise run`: its cleanups run, the audit is skipped. */
let interrupt: AbortController | null = null;

/** What the page is sent while an exercise runs: its output, its checks when run() returns, then the result. */
export type ExerciseEvent =
  | { event: 'output'; data: { text: string } }
  | { event: 'checks'; data: { checks: Check[] } }
  | { event: 'result'; data: Omit<ExerciseResult, 'audit'> & { auditOk: boolean | null } };

export function registerControlRoutes(app: HttpApp, deps: ControlDeps): void {
  const env = {
    ...(deps.env ?? process.env),
    SHOPLAB_GATEWAY_URL: deps.gatewayUrl,
    SHOPLAB_GATEWAY_ADMIN_URL: deps.gatewayAdminUrl ?? deps.gatewayUrl,
    ADMIN_TOKEN: deps.adminToken,
  };
  const admin = new AdminApi({ env, token: deps.adminToken, timeoutMs: 5_000 });
  // The strangler's switches live on shipping's admin listener: SHOPLAB_SHIPPING_ADMIN_URL (compose,
  // kind), else shopctl's default (the native stack's); the map's address is its public port.
  const shipping = new ShippingApi(env, deps.adminToken);
  const localStack = deps.localStack ?? (() => localStackRunning(env));
  const common = { preHandler: requireAdminToken(deps.adminToken) };
  const schema = { tags: ['control room'], security: [{ adminToken: [] }] };
  const native = () => {
    if (!localStack()) throw new ShopError('SHOP_CONFLICT', NOT_NATIVE, { reason: 'not-native-stack' });
  };

  // The services the gateway's registry view leaves out: the gateway itself, the order history, …
  app.get(
    '/control/health',
    { ...common, schema: { ...schema, summary: 'The /readyz of the services the gateway’s view leaves out' } },
    async () => ({
      items: await Promise.all(
        deps.mapServices.map(async ({ name: service, url }) => {
          try {
            const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
            const body = (await res.json().catch(() => null)) as { checks?: Record<string, string> } | null;
            return { service, ready: res.ok, checks: body?.checks ?? {} };
          } catch (err) {
            return { service, ready: false, checks: {}, error: err instanceof Error ? err.message : String(err) };
          }
        }),
      ),
    }),
  );

  app.get(
    '/control/dead-letters',
    { ...common, schema: { ...schema, summary: 'Every dead-letter topic (*.dlq): its messages, poison or failed' } },
    async () => {
      const listings = await kafka(() => listDlq({ env }));
      return {
        items: listings.map((l) => ({
          dlqTopic: l.dlqTopic,
          count: l.count,
          pending: l.pending,
          poison: l.messages.filter((m) => !m.redriven && m.poison).length,
          failed: l.messages.filter((m) => !m.redriven && !m.poison).length,
          messages: l.messages.filter((m) => !m.redriven).slice(0, 50),
        })),
      };
    },
  );
  app.post(
    '/control/dead-letters/:topic/redrive',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Copy the failed messages back to their topic (poison ones too with includePoison)',
        params: topicParams,
        body: z.object({ includePoison: z.boolean().default(false) }).default({ includePoison: false }),
      },
    },
    async (request) => {
      const { topic } = request.params as z.infer<typeof topicParams>;
      const { includePoison } = request.body as { includePoison: boolean };
      return kafka(() => redriveDlq({ env, topic, includePoison }));
    },
  );
  app.post(
    '/control/dead-letters/:topic/discard',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Mark the messages not yet redriven as handled, copying nothing',
        params: topicParams,
      },
    },
    async (request) => {
      const { topic } = request.params as z.infer<typeof topicParams>;
      return { dlqTopic: topic, discarded: await kafka(() => discardDlq({ env, topic })) };
    },
  );

  app.get(
    '/control/switches',
    { ...common, schema: { ...schema, summary: 'The before/after switches and their state' } },
    async () => ({
      items: await Promise.all(
        switches(admin, shipping).map(async (s) => {
          const base = { name: s.name, label: s.label, values: s.values };
          try {
            return { ...base, value: await s.read() };
          } catch (err) {
            return { ...base, value: null, error: err instanceof Error ? err.message : String(err) };
          }
        }),
      ),
    }),
  );
  app.put(
    '/control/switches/:name',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Set one switch',
        params: z.object({ name: z.string() }),
        body: z.object({ value: z.string() }),
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const { value } = request.body as { value: string };
      const s = switches(admin, shipping).find((x) => x.name === name);
      if (!s) throw new ShopError('SHOP_NOT_FOUND', `No switch ${name}`);
      if (!s.values.includes(value)) {
        throw new ShopError('SHOP_VALIDATION_FAILED', `${name} is ${s.values.join(' or ')}, not ${value}`);
      }
      return { name, value: await s.write(value) };
    },
  );

  app.post(
    '/control/services/:service/:action',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Stop, kill (SIGKILL) or start a service, as shopctl does',
        params: serviceActionParams,
      },
    },
    async (request) => {
      native();
      const { service, action } = request.params as {
        service: (typeof TARGET_SERVICES)[number];
        action: ControlAction;
      };
      let output = '';
      const collect = (text: string) => {
        output += text;
      };
      const code = await runControl(action, [service], { out: collect, err: collect, env }, { mode: 'local' });
      if (code !== 0) throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `${action} ${service} failed`, { output });
      return { service, action, output };
    },
  );

  app.get(
    '/control/exercises',
    { ...common, schema: { ...schema, summary: 'The exercises, and the one running' } },
    async () => ({
      items: listExercises().map(({ number, slug, title, pattern, doc }) => ({ number, slug, title, pattern, doc })),
      running,
    }),
  );
  app.get(
    '/control/exercises/:number/page',
    { ...common, schema: { ...schema, summary: 'The exercise’s page (markdown)', params: exerciseParams } },
    async (request) => {
      const exercise = findExercise((request.params as { number: number }).number);
      if (!exercise) throw new ShopError('SHOP_NOT_FOUND', 'No such exercise');
      const markdown = await readFile(join(repoRoot(env), exercise.doc), 'utf8').catch(() => {
        throw new ShopError('SHOP_NOT_FOUND', `${exercise.doc} is not in this deployment`);
      });
      return { number: exercise.number, doc: exercise.doc, markdown };
    },
  );
  app.post(
    '/control/exercises/:number/run',
    {
      ...common,
      schema: {
        ...schema,
        summary: 'Run an exercise; its progress, checks and result as server-sent events (one exercise at a time)',
        params: exerciseParams,
      },
    },
    async (request, reply) => {
      const exercise = findExercise((request.params as { number: number }).number);
      if (!exercise) throw new ShopError('SHOP_NOT_FOUND', 'No such exercise');
      native();
      if (running) {
        throw new ShopError('SHOP_CONFLICT', `Exercise ${running.number} is running; one exercise at a time`, {
          running,
        });
      }
      running = { number: exercise.number, title: exercise.title, startedAt: new Date().toISOString() };
      interrupt = new AbortController();
      const { signal } = interrupt;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const send = ({ event, data }: ExerciseEvent) => {
        if (!raw.destroyed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const heartbeat = setInterval(() => !raw.destroyed && raw.write(': still running\n\n'), 15_000);
      // The run goes on when the page goes away (its cleanups and the audit still happen); the stop route interrupts it.
      try {
        const watched = {
          ...exercise,
          run: async (ctx: Parameters<typeof exercise.run>[0]) => {
            const checks = await exercise.run(ctx);
            send({ event: 'checks', data: { checks } });
            return checks;
          },
        };
        const result = await runExercise(watched, {
          target: shopTarget(env, deps.adminToken),
          out: (text) => send({ event: 'output', data: { text } }),
          signal,
          // The audit as shopctl runs it, given up at once when the run is interrupted (a pass over a
          // large shop takes a while, and an interrupted run has no verdict to wait for).
          audit: (target, signal) =>
            Promise.race([
              auditWhenSettled(target, signal),
              new Promise<never>((_, reject) => {
                if (signal.aborted) reject(new Error('interrupted'));
                signal.addEventListener('abort', () => reject(new Error('interrupted')), { once: true });
              }),
            ]),
        });
        const { audit, ...rest } = result;
        send({ event: 'result', data: { ...rest, auditOk: audit ? audit.ok : null } });
      } catch (err) {
        request.log.error({ err }, 'the exercise runner failed');
        send({ event: 'output', data: { text: `the runner failed: ${err instanceof Error ? err.message : err}\n` } });
      } finally {
        clearInterval(heartbeat);
        running = null;
        interrupt = null;
        raw.end();
      }
    },
  );
  app.post(
    '/control/exercises/running/stop',
    {
      ...common,
      schema: { ...schema, summary: 'Interrupt the running exercise, as Ctrl-C does: its cleanups run, no audit' },
    },
    async (_request, reply) => {
      if (!running || !interrupt) throw new ShopError('SHOP_NOT_FOUND', 'No exercise is running');
      interrupt.abort();
      return reply.code(202).send({ stopping: running.number });
    },
  );
}

/** Kafka that does not answer is a 503 problem naming it, not a bare 500. */
async function kafka<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ShopError) throw err;
    throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'Kafka did not answer', {
      dependency: 'kafka',
      reason: err instanceof Error ? err.message : String(err),
    });
  }
}
