// The one backoff formula and the one interruptible sleep every retry loop in the chassis
// (and the services) waits with: consumer attempts and dead-letter writes, the outbox relay,
// the consumer's start loop, discovery's watch, and `retry`. It imports only Node, so domain code
// may use it too: `@shoplab/chassis/backoff`.
import { setTimeout as delay } from 'node:timers/promises';

/** How a retry loop backs off. */
export interface BackoffPolicy {
  /** The first ceiling; it doubles with each attempt. */
  initialMs: number;
  /** The largest ceiling. */
  maxMs: number;
  /**
   * The share of the ceiling always waited: 0 is "full jitter" (a uniform draw from
   * [0, ceiling), which spreads retrying clients out best — AWS Architecture Blog, "Exponential
   * Backoff And Jitter"); a floor such as 0.1 keeps a tight loop from spinning. Default 0.
   */
  minShare?: number;
}

/**
 * Exponential backoff with jitter: the wait before retry number `attempt` (1-based) is drawn
 * from [minShare·ceiling, ceiling) with ceiling = min(maxMs, initialMs·2^(attempt-1)). Not
 * rounded: each caller rounds the way its unit wants.
 */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  const minShare = policy.minShare ?? 0;
  return ceiling * (minShare + (1 - minShare) * random());
}

/**
 * backoffMs in whole milliseconds, never under a tenth of the ceiling (so a tight retry loop
 * cannot spin): 100 ms doubling to 5 s by default. The messaging loops' wait: consumer attempts,
 * dead-letter writes, the consumer's start, the outbox relay.
 */
export function backoffDelayMs(
  attempt: number,
  { initialMs = 100, maxMs = 5000 }: { initialMs?: number; maxMs?: number } = {},
  random: () => number = Math.random,
): number {
  return Math.round(backoffMs(attempt, { initialMs, maxMs, minShare: 0.1 }, random));
}

/** Waits `ms`; resolves early (never rejects) when `signal` aborts, at once if it already has. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await delay(ms, undefined, signal ? { signal } : undefined).catch(() => undefined);
}

/** sleep with a signal required: the name the messaging modules have always exported. */
export const interruptibleSleep: (ms: number, signal: AbortSignal) => Promise<void> = sleep;
