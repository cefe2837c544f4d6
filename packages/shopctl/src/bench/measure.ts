// The bench's measuring tools: latency histograms, a closed loop of N connections for a
// throughput, and what a Prometheus histogram's buckets say about a quantile between two scrapes.
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';

/** Latencies in ms: p50/p90/p99/max of what was recorded (HdrHistogram, microseconds, 3 significant digits). */
export class Latencies {
  private readonly histogram = hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3 });
  count = 0;

  record(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    this.count++;
  }

  /** The `q` quantile (0–100) in ms; NaN when nothing was recorded. */
  percentile(q: number): number {
    return this.count === 0 ? Number.NaN : this.histogram.getValueAtPercentile(q) / 1000;
  }

  summary(): { n: number; p50: number; p90: number; p99: number; max: number } {
    return {
      n: this.count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.count === 0 ? Number.NaN : this.histogram.maxValue / 1000,
    };
  }
}

/** Runs `fn` and returns how long it took, in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export interface ThroughputResult {
  /** Successful responses per second. */
  rps: number;
  ok: number;
  errors: number;
  latency: ReturnType<Latencies['summary']>;
}

/**
 * A closed loop: `connections` workers, each sending its next GET as soon as the last one
 * answered, for `durationMs`, on a keep-alive pool of as many connections. Only 2xx counts.
 */
export async function closedLoopThroughput(
  origin: string,
  path: string,
  options: { connections: number; durationMs: number; headers?: Record<string, string> },
): Promise<ThroughputResult> {
  const pool = new Pool(origin, { connections: options.connections, pipelining: 1 });
  const latencies = new Latencies();
  let ok = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + options.durationMs;
  try {
    await Promise.all(
      Array.from({ length: options.connections }, async () => {
        while (performance.now() < until) {
          const t0 = performance.now();
          try {
            const res = await pool.request({ method: 'GET', path, headers: options.headers ?? {} });
            await res.body.dump();
            if (res.statusCode >= 200 && res.statusCode < 300) {
              ok++;
              latencies.record(performance.now() - t0);
            } else errors++;
          } catch {
            errors++;
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { rps: ok / seconds, ok, errors, latency: latencies.summary() };
}

/** `name_bucket{…,le="x"} v` lines of a Prometheus text page, summed per `le` over every series. */
export function histogramBuckets(page: string, name: string): Map<number, number> {
  const buckets = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of page.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
}

/**
 * The `q` quantile (0–1) of what a histogram observed between two scrapes, as the upper bound
 * of the bucket it falls in (what the buckets can tell, no interpolation). Null when nothing was observed.
 */
export function quantileBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): { upperBound: number; observed: number } | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total <= 0) return null;
  for (const bound of bounds) {
    const cumulative = (after.get(bound) ?? 0) - (before.get(bound) ?? 0);
    if (cumulative >= q * total) return { upperBound: bound, observed: total };
  }
  return { upperBound: Number.POSITIVE_INFINITY, observed: total };
}

/** A `Name:   1234 kB` line of a /proc file (status, smaps_rollup) in MB; null when it is not there. */
export function procKbFieldMb(text: string, field: string): number | null {
  const kb = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1];
  return kb === undefined ? null : Number(kb) / 1024;
}

async function procField(path: string, field: string): Promise<number | null> {
  try {
    const { readFile } = await import('node:fs/promises');
    return procKbFieldMb(await readFile(path, 'utf8'), field);
  } catch {
    return null;
  }
}

/** Resident memory (VmRSS) of a process in MB, from /proc; null where /proc cannot tell (not Linux, gone). */
export async function residentMb(pid: number): Promise<number | null> {
  return procField(`/proc/${pid}/status`, 'VmRSS');
}

/**
 * Proportional resident memory (Pss, /proc/<pid>/smaps_rollup) in MB: each page shared with other
 * processes — the node binary's code, the shared libraries — counted as its share, so that the
 * sum over the services is what they take from the machine together (a sum of VmRSS counts the
 * ~45 MB node binary once per process). Null where /proc cannot tell.
 */
export async function proportionalMb(pid: number): Promise<number | null> {
  return procField(`/proc/${pid}/smaps_rollup`, 'Pss');
}
