// What the messaging exercises (5 outbox, 6 idempotent consumer, 7 dead-letter queue) share:
// stopping and starting infrastructure, the outboxes and consumer ledgers of every service,
// the cart's clearances, and waiting for a condition with a deadline.
import {
  type AuditReport,
  collectAuditData,
  type InvariantResult,
  runAudit,
  SERVICES,
  type Service,
} from '@shoplab/audit';
import type { OutboxStatus } from '../api';
import { type ControlAction, type ControlTarget, runControl } from '../control';
import { scrape, sumSamples } from './support';
import type { ExerciseContext } from './types';

/**
 * `shopctl stop|start|kill <targets>`; the scripts' output is kept and shown only on failure. An
 * order service started again is put back at the run's checkout mode (ctx.orderStarted).
 */
export async function control(ctx: ExerciseContext, action: ControlAction, targets: ControlTarget[]): Promise<void> {
  let output = '';
  const keep = (text: string) => {
    output += text;
  };
  const code = await runControl(action, targets, { env: ctx.env, out: keep, err: keep });
  if (code !== 0) throw new Error(`shopctl ${action} ${targets.join(' ')} failed:\n${output.slice(-1500)}`);
  ctx.log(`shopctl ${action} ${targets.join(' ')}: done`);
  if (action === 'start' && targets.includes('order')) await ctx.orderStarted();
}

/**
 * Polls `probe` every `pollMs` until it returns a value that is not undefined, and resolves it;
 * rejects naming `what` (and the last probe error) after `timeoutMs`.
 */
export async function waitFor<T>(
  ctx: ExerciseContext,
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  pollMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s${why}`);
    }
    await ctx.sleep(pollMs);
  }
}

/** Every service's outbox, by service (a service that does not answer is missing). */
export async function outboxes(ctx: ExerciseContext): Promise<Partial<Record<Service, OutboxStatus>>> {
  const entries = await Promise.all(
    SERVICES.map(async (s) => [s, await ctx.admin.outbox(s).catch(() => undefined)] as const),
  );
  return Object.fromEntries(entries.filter(([, o]) => o !== undefined));
}

/** `order 6 (oldest 4 s), payment 3 (oldest 4 s)`: the services with unpublished rows. */
export function describeBacklog(all: Partial<Record<Service, OutboxStatus>>): string {
  const parts = Object.entries(all)
    .filter(([, o]) => (o?.unpublished ?? 0) > 0)
    .map(([s, o]) => `${s} ${o?.unpublished} (oldest ${Math.round(o?.oldestUnpublishedAgeSeconds ?? 0)} s)`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

/** Seconds until `wait` resolves, or null when it rejects (timed out). */
async function secondsUntil(wait: Promise<unknown>): Promise<number | null> {
  const started = Date.now();
  try {
    await wait;
    return (Date.now() - started) / 1000;
  } catch {
    return null;
  }
}

/** Waits until no service has an unpublished outbox row; the seconds it took, or null after `timeoutMs`. */
export function waitOutboxesDrained(ctx: ExerciseContext, timeoutMs: number): Promise<number | null> {
  return secondsUntil(
    waitFor(
      ctx,
      'every outbox published',
      async () => {
        const all = await outboxes(ctx);
        return Object.keys(all).length === SERVICES.length && Object.values(all).every((o) => o?.unpublished === 0)
          ? true
          : undefined;
      },
      timeoutMs,
    ),
  );
}

/** The orders whose confirmation cleared a cart (cart `GET /v1/admin/clearances`), by order id. */
export async function clearances(
  ctx: ExerciseContext,
): Promise<Map<string, { eventId: string; removedUnits: number }>> {
  const answer = await ctx.admin.request<{ clearances: { orderId: string; eventId: string; removedUnits: number }[] }>(
    'cart',
    'GET',
    '/v1/admin/clearances',
  );
  return new Map(answer.clearances.map((c) => [c.orderId, { eventId: c.eventId, removedUnits: c.removedUnits }]));
}

/** Waits until the cart has cleared every one of `orderIds`; the seconds it took, or null after `timeoutMs`. */
export function waitCleared(ctx: ExerciseContext, orderIds: string[], timeoutMs: number): Promise<number | null> {
  return secondsUntil(
    waitFor(
      ctx,
      `the cart clearing ${orderIds.length} order(s)`,
      async () => {
        const done = await clearances(ctx);
        return orderIds.every((id) => done.has(id)) ? true : undefined;
      },
      timeoutMs,
    ),
  );
}

/** The audit as it stands now (no waiting). */
export async function auditNow(ctx: ExerciseContext): Promise<AuditReport> {
  return runAudit(await collectAuditData({ adminToken: ctx.adminToken, baseUrl: (s) => ctx.adminUrl(s) }));
}

/** The result of one invariant of a report. */
export function invariant(report: AuditReport, n: number): InvariantResult | undefined {
  return report.results.find((r) => r.invariant === n);
}

/** Events applied per consumer group, over every service that consumes. */
export async function processedByGroup(ctx: ExerciseContext): Promise<Map<string, number>> {
  const groups = new Map<string, number>();
  for (const service of SERVICES) {
    const report = await ctx.admin.consumers(service).catch(() => undefined);
    for (const g of report?.groups ?? []) groups.set(g.group, g.processed);
  }
  return groups;
}

/** The sum of a counter on one service's /metrics page, for the samples carrying `labels`. */
export async function counter(
  ctx: ExerciseContext,
  service: Service,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sumSamples(await scrape(ctx.serviceUrl(service)), name, labels);
}

/** The services that consume `order.events`, with their consumer groups (their READMEs). */
export const ORDER_EVENT_GROUPS: { service: Service; group: string }[] = [
  { service: 'cart', group: 'cart-order-events' },
  { service: 'catalog', group: 'catalog-order-events' },
  { service: 'user', group: 'user-order-events' },
];

/** Waits until every service's outbox is empty and in outbox mode: the exercises start from a quiet shop. */
export async function requireQuietMessaging(ctx: ExerciseContext): Promise<void> {
  const all = await outboxes(ctx);
  const direct = Object.entries(all).filter(([, o]) => o?.mode === 'direct');
  for (const [service] of direct) {
    ctx.log(`${service} was left in publish mode direct; switching it back to outbox`);
    await ctx.admin.setPublishMode(service as Service, 'outbox');
  }
  if ((await waitOutboxesDrained(ctx, 60_000)) === null) {
    throw new Error(`the outboxes do not drain (${describeBacklog(await outboxes(ctx))}): is Kafka up?`);
  }
}
