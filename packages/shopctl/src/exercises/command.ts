// `shopctl exercise list | show N | run N… | run all` (docs/exercises/README.md).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AdminApi, adminBaseUrl, resolveAdminToken, ShopApi, serviceBaseUrl } from '../api';
import { type CliIo, formatTable } from '../command';
import { findExercise, listExercises } from './registry';
import { type ExerciseResult, type RunOptions, runExercise } from './runner';
import { CHECKOUT_MODES, type CheckoutMode, concerns, type Exercise, type ShopTarget } from './types';

export const EXERCISE_USAGE = `usage: shopctl exercise list
       shopctl exercise show <N>
       shopctl exercise run <N>… | all   [--checkout-mode orchestrated|choreographed] [--token T] [--gateway URL]

Each exercise (docs/exercises/) breaks the running shop on purpose and measures whether the
pattern it teaches contains the fault. run injects the fault, drives the shop, prints every
check as PASS or FAIL with its evidence, always clears its faults and restarts what it
stopped (also on Ctrl-C), and ends with the audit. Needs the local stack (make up).
  --checkout-mode M  orchestrated or choreographed: the order service's checkout switch is put
                  at M before each exercise (and after it restarts order) and back afterwards;
                  all runs only the exercises that concern M, and says why it passes over the
                  others (without the option the switch is left alone: its default, orchestrated)
  --token T       the admin token (default: $ADMIN_TOKEN, else the local stack's secrets.env)
  --gateway URL   the gateway (default: $SHOPLAB_GATEWAY_URL or http://127.0.0.1:8080)
Exit status: 0 every check PASSes, 1 a check FAILs, 2 usage or setup error, 130 interrupted.`;

/** The repository root: the nearest ancestor holding docs/exercises (dist/src/exercises → root). */
export function repoRoot(from: string = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'docs', 'exercises'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '../../../../..');
  }
}

function list(io: CliIo): number {
  const rows = [['#', 'title', 'pattern', 'page']];
  for (const e of listExercises()) rows.push([String(e.number), e.title, e.pattern, e.doc]);
  io.out(`${formatTable(rows)}\n`);
  io.out('\nshopctl exercise show <N> prints a page; shopctl exercise run <N> runs its check.\n');
  return 0;
}

function show(arg: string | undefined, io: CliIo): number {
  const exercise = arg === undefined ? undefined : findExercise(arg);
  if (!exercise) {
    io.err(`shopctl exercise show: no exercise ${arg ?? '(missing number)'}; see shopctl exercise list\n`);
    return 2;
  }
  const path = join(repoRoot(), exercise.doc);
  try {
    io.out(readFileSync(path, 'utf8'));
  } catch (err) {
    io.err(`shopctl exercise show: cannot read ${path}: ${(err as Error).message}\n`);
    return 2;
  }
  return 0;
}

interface RunArgs {
  which: string[];
  token?: string;
  gateway?: string;
  checkoutMode?: CheckoutMode;
}

function parseRunArgs(argv: string[]): RunArgs | string {
  const args: RunArgs = { which: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--token' || arg === '--gateway' || arg === '--checkout-mode') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) return `${arg} needs a value`;
      if (arg === '--token') args.token = v;
      else if (arg === '--gateway') args.gateway = v.replace(/\/+$/, '');
      else if ((CHECKOUT_MODES as readonly string[]).includes(v)) args.checkoutMode = v as CheckoutMode;
      else return `--checkout-mode is ${CHECKOUT_MODES.join(' or ')}, not '${v}'`;
    } else if (arg.startsWith('--')) return `unknown option ${arg}`;
    else args.which.push(arg);
  }
  return args.which.length === 0 ? 'which exercise? give a number or all' : args;
}

/** The results as a table: one line per exercise. */
export function formatSummary(results: ExerciseResult[]): string {
  const rows = [['#', 'verdict', 'seconds', 'title']];
  for (const r of results) {
    const verdict = r.interrupted ? 'INTERRUPTED' : r.ok ? 'PASS' : 'FAIL';
    rows.push([String(r.exercise.number), verdict, (r.durationMs / 1000).toFixed(1), r.exercise.title]);
  }
  return `${formatTable(rows)}\n`;
}

export interface RunDeps {
  /** Defaults to the process's SIGINT (first Ctrl-C cleans up, a second one exits at once). */
  interrupt?: AbortSignal;
  /** Overrides for tests (e.g. `audit: null`). */
  runOptions?: Partial<RunOptions>;
}

async function run(argv: string[], io: CliIo, deps: RunDeps): Promise<number> {
  const args = parseRunArgs(argv);
  if (typeof args === 'string') {
    io.err(`shopctl exercise run: ${args}\n${EXERCISE_USAGE}\n`);
    return 2;
  }
  const mode = args.checkoutMode;
  let chosen: Exercise[];
  if (args.which.length === 1 && args.which[0] === 'all') {
    chosen = [];
    for (const e of listExercises()) {
      const ok = mode ? concerns(e, mode) : true;
      if (ok === true) chosen.push(e);
      else io.out(`exercise ${e.number} passed over in ${mode} mode: ${ok}\n`);
    }
  } else {
    chosen = [];
    for (const n of args.which) {
      const e = findExercise(n);
      if (!e) {
        io.err(`shopctl exercise run: no exercise ${n}; see shopctl exercise list\n`);
        return 2;
      }
      const ok = mode ? concerns(e, mode) : true;
      if (ok !== true) {
        io.err(`shopctl exercise run: exercise ${e.number} does not concern the ${mode} mode: ${ok}\n`);
        return 2;
      }
      chosen.push(e);
    }
  }
  const adminToken = resolveAdminToken(args.token, io.env);
  if (!adminToken) {
    io.err('shopctl exercise run: no admin token (pass --token, set ADMIN_TOKEN, or start the local stack)\n');
    return 2;
  }
  const env = args.gateway ? { ...io.env, SHOPLAB_GATEWAY_URL: args.gateway } : io.env;
  const target = shopTarget(env, adminToken);

  let signal = deps.interrupt;
  let detach = () => {};
  if (!signal) {
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      io.err(
        '\nshopctl exercise: interrupted — clearing faults and restarting what was stopped (Ctrl-C again to quit now)\n',
      );
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    detach = () => process.off('SIGINT', onSigint);
    signal = controller.signal;
  }

  const results: ExerciseResult[] = [];
  try {
    for (const exercise of chosen) {
      if (signal.aborted) break;
      results.push(
        await runExercise(exercise, {
          target,
          out: io.out,
          signal,
          ...(mode ? { checkoutMode: mode } : {}),
          ...deps.runOptions,
        }),
      );
    }
  } finally {
    detach();
  }
  if (results.length > 1) io.out(formatSummary(results));
  if (signal.aborted) {
    // What the interrupted exercise left running (a request in flight, a timer) must not keep the CLI alive.
    if (!deps.interrupt) setTimeout(() => process.exit(130), 2_000).unref();
    return 130;
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

/** `shopctl exercise …`; returns the exit status. */
export async function exerciseCommand(argv: string[], io: CliIo, deps: RunDeps = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return list(io);
  if (sub === 'show') return show(rest[0], io);
  if (sub === 'run') return run(rest, io, deps);
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    io.out(`${EXERCISE_USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  io.err(`shopctl exercise: unknown subcommand ${sub}\n${EXERCISE_USAGE}\n`);
  return 2;
}

/** The shop at the addresses `env` names (SHOPLAB_*_URL and SHOPLAB_*_ADMIN_URL, else the local ports), with its admin token. */
export function shopTarget(env: NodeJS.ProcessEnv, adminToken: string): ShopTarget {
  return {
    gatewayUrl: serviceBaseUrl('gateway', env),
    serviceUrl: (service) => serviceBaseUrl(service, env),
    adminUrl: (service) => adminBaseUrl(service, env),
    adminToken,
    env,
    shop: new ShopApi({ env }),
    admin: new AdminApi({ env, token: adminToken }),
  };
}
