// The one way a test waits for something asynchronous to happen: probe until it answers.

export interface EventuallyOptions {
  /** How long to keep probing before failing (default 30 s). */
  timeoutMs?: number;
  /** The pause between two probes (default 100 ms). */
  intervalMs?: number;
  /**
   * What a probe that throws means: `'retry'` (default) keeps probing and names the last error
   * when the wait times out; `'fail'` fails the wait at once with that error.
   */
  onError?: 'retry' | 'fail';
}

/**
 * Probes until `probe` returns something other than `undefined`, and returns it, pausing
 * `intervalMs` between probes. The probe always runs at least once; the wait fails with an error
 * naming `what` (and the probe's last error) at the first probe that ends after `timeoutMs`. A
 * `what` given as a function is asked at that moment, so it can tell what the probes last saw.
 */
export async function eventually<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 100, onError = 'retry' }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (onError === 'fail') throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError === undefined ? '' : `; last error: ${String(lastError)}`;
      const awaited = typeof what === 'string' ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${awaited}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Probes until `condition` holds (as {@link eventually}, for a yes/no condition). */
export async function until(
  what: string | (() => string),
  condition: () => Promise<boolean> | boolean,
  options?: EventuallyOptions,
): Promise<void> {
  await eventually(what, async () => ((await condition()) ? true : undefined), options);
}
