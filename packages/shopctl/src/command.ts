// What every shopctl command shares: its I/O (so tests run commands in-process), the usage
// error (exit 2), duration parsing and a small option parser.

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal (progress lines are then rewritten in place). */
  errIsTty?: boolean;
}

/** Bad input on the command line: the command prints the message and its usage, exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration like `800ms`, `30s`, `2m`, `1h` or `1.5s` in milliseconds; throws UsageError for
 * anything else (a bare number has no unit and is refused, so `--for 60` is not misread).
 */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new UsageError(`${what} '${text}' is not a duration like 800ms, 30s, 2m or 1h`);
  const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  if (!(ms > 0)) throw new UsageError(`${what} '${text}' must be more than zero`);
  return Math.round(ms);
}

/** `1500` → `1.5s`, `120000` → `2m`, `90000` → `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return Number.isInteger(ms / 1000) ? `${s}s` : `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export interface ParsedOptions {
  /** Arguments that are not options, in order. */
  positional: string[];
  /** `--name value` options (the last one given wins). */
  values: Record<string, string>;
  /** `--flag` options given. */
  flags: Set<string>;
}

/**
 * Splits argv into positionals, `--name value` options (names in `valued`, also `--name=value`)
 * and `--flag`s (names in `flags`); an unknown option or a missing value is a UsageError.
 */
export function parseOptions(argv: string[], spec: { valued?: string[]; flags?: string[] }): ParsedOptions {
  const parsed: ParsedOptions = { positional: [], values: {}, flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--') || arg === '--') {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(2, eq) : arg.slice(2)).toLowerCase();
    if (spec.valued?.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      parsed.values[name] = value;
    } else if (spec.flags?.includes(name) && eq < 0) {
      parsed.flags.add(name);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  return parsed;
}

/** Left-aligned columns, two spaces apart; the first row is the header. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
