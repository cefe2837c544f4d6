import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { sleep } from './backoff';
import { ShopError } from './errors';
import type { ServiceMetrics } from './metrics';

/** Where a call fault applies: an HTTP route, a gRPC method, a consumed topic, the outbox relay, an outbound call. */
export const CALL_FAULT_KINDS = ['http', 'grpc', 'consumer', 'relay', 'client'] as const;
/** Every kind: the call kinds, and `clock` (the process's wall clock, clock.ts). */
export const FAULT_KINDS = [...CALL_FAULT_KINDS, 'clock'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The longest clock skew a rule may set, either way (one day). */
export const MAX_CLOCK_SKEW_MS = 86_400_000;

/** The faults of a call: latency, a share of errors, every call failing, every call held. */
export const callFaultSpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('latency'), ms: z.number().int().min(1).max(120_000) }),
  z.object({ type: z.literal('error'), rate: z.number().gt(0).max(1) }),
  z.object({ type: z.literal('fail') }),
  z.object({ type: z.literal('hang') }),
]);

/** The fault of the clock: the wall clock offset by `ms` (negative: behind). */
export const clockFaultSpecSchema = z.object({
  type: z.literal('skew'),
  ms: z
    .number()
    .int()
    .min(-MAX_CLOCK_SKEW_MS)
    .max(MAX_CLOCK_SKEW_MS)
    .refine((ms) => ms !== 0, 'a skew of 0 ms changes nothing')
    .describe(
      'added to the wall clock the service stamps its events and timeline entries with; negative is behind; not 0',
    ),
});

export const faultSpecSchema = z.discriminatedUnion('type', [...callFaultSpecSchema.options, clockFaultSpecSchema]);
export type FaultSpec = z.infer<typeof faultSpecSchema>;

/** How long a rule lives; faults always expire so a forgotten exercise heals itself. */
const durationSecondsSchema = z
  .number()
  .int()
  .min(1)
  .max(24 * 3600)
  .default(300);

/**
 * A fault rule as accepted at PUT /admin/chaos: a call fault on a kind of call, or a skew of
 * the process's clock (kind `clock`, target `*`). A skew on a call, or a latency on the clock,
 * is not a rule.
 */
export const faultRuleInputSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.enum(CALL_FAULT_KINDS),
    /** Route (`GET /products/:id`), gRPC method (`catalog.v1.CatalogService/ReserveStock`), topic, or `*`. */
    target: z.string().min(1).max(200).default('*'),
    fault: callFaultSpecSchema,
    durationSeconds: durationSecondsSchema,
  }),
  z.object({
    kind: z.literal('clock'),
    target: z.literal('*').default('*').describe('the whole process'),
    fault: clockFaultSpecSchema,
    durationSeconds: durationSecondsSchema,
  }),
]);
export type FaultRuleInput = z.input<typeof faultRuleInputSchema>;

export interface FaultRule {
  id: string;
  kind: FaultKind;
  target: string;
  fault: FaultSpec;
  createdAt: string;
  expiresAt: string;
}

/**
 * Whether a target pattern names `name`: `*` stands for any run of characters, everything else
 * for itself. Matched without a regular expression, so a pattern like `a*a*a*a*b` cannot make a
 * rule lookup backtrack exponentially: the parts between the stars are found left to right, each
 * at its first place after the previous one (the first pinned to the start, the last to the end).
 */
export function targetMatches(pattern: string, name: string): boolean {
  if (pattern === '*' || pattern === name) return true;
  const parts = pattern.split('*');
  if (parts.length === 1) return false;
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (first.length + last.length > name.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/**
 * The fault injector every layer consults: `await chaos.apply('grpc', method)` before doing
 * the real work. Latency waits, `error` fails a share of calls, `fail` fails all of them,
 * `hang` blocks until the rule is cleared or expires (the caller's deadline fires first).
 */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly metrics?: Pick<ServiceMetrics, 'chaosInjections'>,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  add(input: FaultRuleInput): FaultRule {
    const parsed = faultRuleInputSchema.parse(input);
    const created = this.now();
    const rule: FaultRule = {
      id: randomUUID(),
      kind: parsed.kind,
      target: parsed.target,
      fault: parsed.fault,
      createdAt: new Date(created).toISOString(),
      expiresAt: new Date(created + parsed.durationSeconds * 1000).toISOString(),
    };
    this.rules.push(rule);
    return rule;
  }

  list(): FaultRule[] {
    this.expire();
    return [...this.rules];
  }

  /** Removes one rule, or every rule when no id is given; releases calls it holds. */
  clear(id?: string): number {
    const removed = id ? this.rules.filter((r) => r.id === id) : this.rules;
    this.rules = id ? this.rules.filter((r) => r.id !== id) : [];
    for (const r of removed) this.release(r.id);
    return removed.length;
  }

  /** The sum of the active `clock` skews (ms): what the process's clock adds to the machine's. */
  clockOffsetMs(): number {
    this.expire();
    let offset = 0;
    for (const rule of this.rules) if (rule.fault.type === 'skew') offset += rule.fault.ms;
    return offset;
  }

  /** Applies every active rule for (kind, name). Throws ShopError SHOP_CHAOS_INJECTED on an injected failure. */
  async apply(kind: FaultKind, name: string): Promise<void> {
    this.expire();
    for (const rule of this.rules) {
      if (rule.kind !== kind || !targetMatches(rule.target, name)) continue;
      const { fault } = rule;
      switch (fault.type) {
        case 'latency':
          this.count(kind, name, 'latency');
          await sleep(fault.ms);
          break;
        case 'error':
          if (this.random() < fault.rate) {
            this.count(kind, name, 'error');
            throw new ShopError('SHOP_CHAOS_INJECTED', `injected error on ${kind} ${name}`, { faultId: rule.id });
          }
          break;
        case 'fail':
          this.count(kind, name, 'fail');
          throw new ShopError('SHOP_CHAOS_INJECTED', `injected failure on ${kind} ${name}`, { faultId: rule.id });
        case 'hang':
          this.count(kind, name, 'hang');
          await this.hang(rule);
          break;
        case 'skew':
          // Read by the clock (clockOffsetMs), never applied to a call.
          break;
      }
    }
  }

  private hang(rule: FaultRule): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(rule.id) ?? new Set();
      this.waiters.set(rule.id, set);
      const timer = setTimeout(() => this.release(rule.id), Math.max(0, Date.parse(rule.expiresAt) - this.now()));
      timer.unref();
      set.add(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private release(id: string): void {
    const set = this.waiters.get(id);
    this.waiters.delete(id);
    for (const wake of set ?? []) wake();
  }

  private expire(): void {
    const now = this.now();
    const expired = this.rules.filter((r) => Date.parse(r.expiresAt) <= now);
    if (expired.length === 0) return;
    this.rules = this.rules.filter((r) => Date.parse(r.expiresAt) > now);
    for (const r of expired) this.release(r.id);
  }

  private count(kind: FaultKind, target: string, fault: string): void {
    this.metrics?.chaosInjections.inc({ kind, target, fault });
  }
}
