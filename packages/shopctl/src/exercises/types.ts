// What an exercise is (docs/exercises/README.md): a fault to inject on the running shop, the
// pattern that should contain it, and checks that measure whether it did. The runner
// (runner.ts) gives each run a context whose cleanup stack always unwinds — after a failed
// step, a thrown error or Ctrl-C — so no fault outlives its exercise and nothing stays stopped.

import type { Service } from '@shoplab/audit';
import type { AdminApi, ShopApi } from '../api';

export type CheckVerdict = 'PASS' | 'FAIL';

/** One measured claim: what was expected, whether it held, and the numbers that show it. */
export interface Check {
  name: string;
  verdict: CheckVerdict;
  /** The measurements behind the verdict, one line each (`p95 time to CANCELLED 0.41 s (n=10)`). */
  evidence: string[];
}

/** A check that passes when `pass` is true. */
export function check(name: string, pass: boolean, ...evidence: string[]): Check {
  return { name, verdict: pass ? 'PASS' : 'FAIL', evidence };
}

/**
 * The order service's checkout switch (docs/patterns/choreography.md): the saga conducts the
 * checkout, or the services react to each other's events. `shopctl exercise run … --checkout-mode`.
 */
export type CheckoutMode = 'orchestrated' | 'choreographed';
export const CHECKOUT_MODES: readonly CheckoutMode[] = ['orchestrated', 'choreographed'];

/**
 * The checkout modes an exercise concerns: both (its checkouts end the same way in either, the
 * same outcome checks), or orchestrated only, with why — one line, printed when a run in the
 * choreographed mode passes over it.
 */
export type ExerciseModes = { modes: 'both' } | { modes: 'orchestrated'; why: string };

/** The fixed facts of an exercise, shown by `shopctl exercise list`. */
export interface ExerciseInfo {
  /** 1, 2, … — the `N` of `shopctl exercise run N`. */
  number: number;
  /** kebab-case, unique: `payment-slow-breaker`. */
  slug: string;
  title: string;
  /** The pattern it exercises: `circuit breaker`, `saga compensation`, … */
  pattern: string;
  /** Its page, relative to the repository root: `docs/exercises/01-payment-slow-breaker.md`. */
  doc: string;
}

export interface Exercise extends ExerciseInfo {
  /** The checkout modes it concerns (ExerciseModes). */
  checkout: ExerciseModes;
  /**
   * Injects the fault, drives the shop and measures. Register every undo with `ctx.defer`
   * BEFORE doing the thing it undoes. A thrown error becomes a FAIL check; cleanups and the
   * audit still run.
   */
  run(ctx: ExerciseContext): Promise<Check[]>;
}

/** Where the shop is and how to reach its admin APIs. */
export interface ShopTarget {
  /** `http://127.0.0.1:8080` (no trailing slash). */
  gatewayUrl: string;
  /** `http://host:port` of one instance of a backing service (its API, /metrics). */
  serviceUrl: (service: Service) => string;
  /** `http://host:port` of that service's admin listener (its `/admin/…`, `/v1/admin/…`: 404 on serviceUrl). */
  adminUrl: (service: Service) => string;
  adminToken: string;
  env: NodeJS.ProcessEnv;
  /** The public API through the gateway: `await ctx.shop.newShopper()`, then cart, checkout, orders. */
  shop: ShopApi;
  /** Every service's admin endpoints: chaos, breakers, outbox, consumers. */
  admin: AdminApi;
}

export interface ExerciseContext extends ShopTarget {
  exercise: ExerciseInfo;
  /** Unique per run (`ex01-lq3k9a`): put it in emails, SKUs and idempotency keys of what the run creates. */
  runId: string;
  /** Aborted on Ctrl-C: loops and waits should stop. */
  signal: AbortSignal;
  /** A progress line (indented, with the seconds since the run started). */
  log: (message: string) => void;
  /** A heading for the next step of the exercise. */
  step: (title: string) => void;
  /** Pushes an undo onto the cleanup stack (run last-in first-out after the exercise, whatever happened). */
  defer: (label: string, undo: () => Promise<unknown> | unknown) => void;
  /** Waits `ms`; rejects with an AbortError on Ctrl-C. */
  sleep: (ms: number) => Promise<void>;
  /**
   * The checkout mode of the run: what `--checkout-mode` asked for (the runner put the order
   * service's switch there), else `orchestrated`, the switch's default. An exercise reads the
   * mechanism of its mode with it: a saga's steps, or a choreography's events.
   */
  checkoutMode: CheckoutMode;
  /**
   * Call after starting the order service again: it starts at its configured mode, so the
   * runner puts the switch back at `checkoutMode` (when the run set it). support.ts' and
   * messaging-support.ts' `control` call it.
   */
  orderStarted: () => Promise<void>;
}

/** True when `exercise` concerns `mode`; otherwise the one line saying why not. */
export function concerns(exercise: Pick<Exercise, 'checkout'>, mode: CheckoutMode): true | string {
  if (mode === 'orchestrated' || exercise.checkout.modes === 'both') return true;
  return exercise.checkout.why;
}
