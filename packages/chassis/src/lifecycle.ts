import closeWithGrace from 'close-with-grace';
import type { Logger } from 'pino';

/**
 * Shutdown phases, run in this order (docs/style.md#shutdown-order): leave the registry first so no new
 * traffic arrives, stop taking work from Kafka and the outbox, let in-flight requests
 * finish, close pools, and flush telemetry last so the shutdown itself is traced.
 */
export const SHUTDOWN_PHASES = ['deregister', 'stop-intake', 'drain', 'close-pools', 'flush-telemetry'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

interface Hook {
  phase: ShutdownPhase;
  name: string;
  run: () => Promise<unknown> | unknown;
}

export interface ShutdownReport {
  reason: string;
  steps: { phase: ShutdownPhase; name: string; ok: boolean; ms: number; error?: string }[];
  timedOut: boolean;
}

/** Ordered, time-bounded graceful shutdown. */
export class Lifecycle {
  private readonly hooks: Hook[] = [];
  private running: Promise<ShutdownReport> | undefined;
  private closing = false;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Registers work for a phase; within a phase hooks run in registration order. */
  onShutdown(phase: ShutdownPhase, name: string, run: Hook['run']): this {
    this.hooks.push({ phase, name, run });
    return this;
  }

  /** True once shutdown has begun: readiness turns false, new work is refused. */
  get isShuttingDown(): boolean {
    return this.closing;
  }

  /** Runs every hook once, phase by phase; a failing hook is logged and the rest still run. */
  shutdown(reason: string): Promise<ShutdownReport> {
    this.running ??= this.run(reason);
    return this.running;
  }

  private async run(reason: string): Promise<ShutdownReport> {
    this.closing = true;
    const report: ShutdownReport = { reason, steps: [], timedOut: false };
    const deadline = Date.now() + this.timeoutMs;
    this.logger.info({ reason }, 'shutting down');
    for (const phase of SHUTDOWN_PHASES) {
      for (const hook of this.hooks.filter((h) => h.phase === phase)) {
        const started = Date.now();
        const remaining = deadline - started;
        if (remaining <= 0) {
          report.timedOut = true;
          report.steps.push({ phase, name: hook.name, ok: false, ms: 0, error: 'skipped: shutdown deadline passed' });
          continue;
        }
        try {
          await withDeadline(Promise.resolve().then(hook.run), remaining, `${phase}/${hook.name}`);
          report.steps.push({ phase, name: hook.name, ok: true, ms: Date.now() - started });
        } catch (err) {
          if (err instanceof DeadlineError) report.timedOut = true;
          report.steps.push({ phase, name: hook.name, ok: false, ms: Date.now() - started, error: String(err) });
          this.logger.error({ err, phase, hook: hook.name }, 'shutdown step failed');
        }
      }
    }
    this.logger.info({ steps: report.steps, timedOut: report.timedOut }, 'shutdown complete');
    return report;
  }

  /** On SIGTERM/SIGINT (and uncaught errors) run the shutdown, then exit. */
  installSignalHandlers(): void {
    closeWithGrace({ delay: this.timeoutMs + 2_000, logger: false }, async ({ signal, err }) => {
      if (err) this.logger.error({ err }, 'fatal error, shutting down');
      await this.shutdown(signal ?? (err ? 'uncaught error' : 'exit'));
    });
  }
}

class DeadlineError extends Error {}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} did not finish in ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Flushes and stops the OpenTelemetry SDK that `--require @shoplab/chassis/telemetry` started
 * (found through its global handle, so this module never starts one). No-op without it.
 */
export async function flushTelemetry(): Promise<void> {
  const g = globalThis as { [key: symbol]: { shutdown(): Promise<void> } | null | undefined };
  const sdk = g[Symbol.for('shoplab.telemetry')];
  if (sdk) await sdk.shutdown();
  g[Symbol.for('shoplab.telemetry')] = null;
}
