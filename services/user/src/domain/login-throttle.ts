// The login slowdown: consecutive failed logins for one email make further attempts wait,
// and too many lock the email out for a while. Plain rules, no I/O; the repository applies
// them to the `login_attempts` row under a row lock, so parallel attempts count one by one.

export interface LoginThrottleSettings {
  /** Failures before attempts start to wait (3: the 4th attempt waits). */
  slowdownAfter: number;
  /** Wait of the first slowed-down attempt; it doubles with every further failure. */
  baseDelayMs: number;
  /** Upper bound of the wait. */
  maxDelayMs: number;
  /** Failures at which attempts are refused outright (429) until the window passes. */
  blockAfter: number;
  /** Failures older than this (since the last one) are forgotten. */
  windowMs: number;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleSettings = {
  slowdownAfter: 3,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  blockAfter: 10,
  windowMs: 15 * 60_000,
};

/** The stored counter for one email. */
export interface AttemptState {
  failures: number;
  lastFailureAt: Date | null;
}

export type AttemptDecision =
  /** Go ahead after `delayMs` (0: at once). `failuresBefore` counts the failures still in the window. */
  | { kind: 'proceed'; delayMs: number; failuresBefore: number }
  /** Refuse with 429; try again in `retryAfterSeconds`. */
  | { kind: 'blocked'; retryAfterSeconds: number; failuresBefore: number };

/** Failures that still count at `now`: none once the window since the last failure has passed. */
export function failuresInWindow(state: AttemptState, now: Date, settings: LoginThrottleSettings): number {
  if (!state.lastFailureAt || state.failures <= 0) return 0;
  return now.getTime() - state.lastFailureAt.getTime() >= settings.windowMs ? 0 : state.failures;
}

/** min(2^(failures − slowdownAfter) · base, max) once `failures` reached `slowdownAfter`; else 0. */
export function slowdownDelayMs(failures: number, settings: LoginThrottleSettings): number {
  if (failures < settings.slowdownAfter) return 0;
  const exponent = Math.min(failures - settings.slowdownAfter, 30);
  return Math.min(2 ** exponent * settings.baseDelayMs, settings.maxDelayMs);
}

/** What to do with a login attempt for an email with this counter. */
export function assessAttempt(state: AttemptState, now: Date, settings: LoginThrottleSettings): AttemptDecision {
  const failuresBefore = failuresInWindow(state, now, settings);
  if (failuresBefore >= settings.blockAfter && state.lastFailureAt) {
    const remainingMs = state.lastFailureAt.getTime() + settings.windowMs - now.getTime();
    return { kind: 'blocked', retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)), failuresBefore };
  }
  return { kind: 'proceed', delayMs: slowdownDelayMs(failuresBefore, settings), failuresBefore };
}

/**
 * The counter to store while an attempt is checked: the attempt counts as a failure until it
 * succeeds (then the row is deleted). Counting up front means parallel attempts cannot all
 * see the same low count and skip the wait.
 */
export function counterDuringAttempt(decision: AttemptDecision, now: Date): AttemptState | undefined {
  if (decision.kind === 'blocked') return undefined; // unchanged: a refused attempt does not extend the lockout
  return { failures: decision.failuresBefore + 1, lastFailureAt: now };
}
