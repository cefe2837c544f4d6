// `shopctl stop|start|kill <target…>`: stop, start or crash services and infrastructure.
// Local mode drives infra/local/services.sh and infra.sh (pid files; `start` waits for
// readiness); compose mode drives `docker compose`. `kill` is SIGKILL: no graceful shutdown,
// which is the point of the exercises that use it.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isServiceName, messageOf, type ServiceName, shoplabStateDir, TARGET_SERVICES } from './api';
import { type CliIo, UsageError } from './command';

export const INFRA_COMPONENTS = ['postgres', 'kafka', 'jaeger', 'prometheus'] as const;
export type InfraComponent = (typeof INFRA_COMPONENTS)[number];
export type ControlTarget = ServiceName | InfraComponent;
export type ControlAction = 'stop' | 'start' | 'kill';
export type ControlMode = 'local' | 'compose';

export const CONTROL_USAGE = `usage: shopctl stop|start|kill <target…>
  target   a service (user catalog cart payment order gateway) or infrastructure
           (postgres kafka jaeger prometheus)
  stop     graceful shutdown (SIGTERM; postgres: fast shutdown)
  start    start it and wait until it is ready
  kill     SIGKILL at once: a crash, no graceful shutdown
Mode: local (infra/local/*.sh of this checkout, or of $SHOPLAB_ROOT) when the local stack runs;
compose (\`docker compose\`) when SHOPLAB_MODE=compose, or when the local stack is not running
and \`docker compose ps\` works. SHOPLAB_MODE=local forces local.
Exit status: 0 done, 1 the script or docker compose failed, 2 bad input.`;

const ACTION_VERB: Record<ControlAction, string> = { stop: 'stopped', start: 'started', kill: 'killed' };

function isInfra(name: string): name is InfraComponent {
  return (INFRA_COMPONENTS as readonly string[]).includes(name);
}

/** Validates the targets (at least one; known names; each once). */
export function parseTargets(names: string[]): ControlTarget[] {
  if (names.length === 0) throw new UsageError('name at least one target');
  for (const name of names) {
    if (!isServiceName(name) && !isInfra(name)) {
      throw new UsageError(
        `unknown target '${name}' (services: ${TARGET_SERVICES.join(' ')}; infrastructure: ${INFRA_COMPONENTS.join(' ')})`,
      );
    }
  }
  return [...new Set(names as ControlTarget[])];
}

/** One command to run: the program and its arguments. */
export interface ControlStep {
  argv: string[];
  targets: ControlTarget[];
}

/**
 * The commands for an action: locally the services' script and the infrastructure's, services
 * stopped before the infrastructure they need and started after it; in compose one command.
 */
export function planControl(
  action: ControlAction,
  targets: ControlTarget[],
  mode: ControlMode,
  root: string,
): ControlStep[] {
  if (mode === 'compose') {
    const argv =
      action === 'start'
        ? ['docker', 'compose', 'up', '--detach', '--no-deps', '--wait', ...targets]
        : ['docker', 'compose', action, ...targets];
    return [{ argv, targets }];
  }
  const verb = { stop: 'down', start: 'up', kill: 'kill' }[action];
  const services = targets.filter((t) => !isInfra(t));
  const infra = targets.filter(isInfra);
  const steps: ControlStep[] = [];
  if (infra.length > 0) {
    steps.push({ argv: ['bash', join(root, 'infra/local/infra.sh'), verb, ...infra], targets: infra });
  }
  if (services.length > 0) {
    steps.push({ argv: ['bash', join(root, 'infra/local/services.sh'), verb, ...services], targets: services });
  }
  return action === 'start' ? steps : steps.reverse();
}

/** The checkout whose scripts run: $SHOPLAB_ROOT, else the one this shopctl was built in. */
export function repoRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHOPLAB_ROOT ?? resolve(__dirname, '../../../..');
}

/** True when a process named by a pid file of the local stack ($SHOPLAB_STATE/run/*.pid) is alive. */
export function localStackRunning(env: NodeJS.ProcessEnv = process.env): boolean {
  const run = join(shoplabStateDir(env), 'run');
  let files: string[];
  try {
    files = readdirSync(run).filter((f) => f.endsWith('.pid'));
  } catch {
    return false;
  }
  return files.some((f) => {
    const pid = Number.parseInt(readFileSync(join(run, f), 'utf8').trim(), 10);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's (postgres)
    }
  });
}

/**
 * local or compose: SHOPLAB_MODE when set; else local while the local stack runs, compose when
 * it does not and `docker compose ps` works, local otherwise (its scripts then say what is wrong).
 */
export async function detectMode(
  env: NodeJS.ProcessEnv,
  probes: { localRunning?: () => boolean; composeWorks?: () => Promise<boolean> } = {},
): Promise<ControlMode> {
  const forced = env.SHOPLAB_MODE;
  if (forced !== undefined && forced !== '') {
    if (forced !== 'local' && forced !== 'compose') {
      throw new UsageError(`SHOPLAB_MODE must be local or compose, not '${forced}'`);
    }
    return forced;
  }
  if ((probes.localRunning ?? (() => localStackRunning(env)))()) return 'local';
  const composeWorks = probes.composeWorks ?? (async () => (await run(['docker', 'compose', 'ps'], env)).code === 0);
  return (await composeWorks()) ? 'compose' : 'local';
}

/** Runs a command; its output goes to `out`/`err` as it comes (nothing when they are absent). */
function run(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io?: Pick<CliIo, 'out' | 'err'>,
  cwd?: string,
): Promise<{ code: number; error?: string }> {
  return new Promise((done) => {
    const [program, ...args] = argv as [string, ...string[]];
    const child = spawn(program, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => io?.out(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => io?.err(chunk.toString()));
    child.on('error', (err) => done({ code: 127, error: messageOf(err) }));
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 128 : 1) }));
  });
}

export interface ControlOptions {
  /** Skip detection. */
  mode?: ControlMode;
}

/**
 * Stops, starts or kills the targets; the scripts' own lines are passed through, then one line
 * per step says what happened. Resolves the exit status (0 done, 1 a step failed).
 */
export async function runControl(
  action: ControlAction,
  targets: ControlTarget[],
  io: CliIo,
  options: ControlOptions = {},
): Promise<number> {
  const mode = options.mode ?? (await detectMode(io.env));
  const root = repoRoot(io.env);
  // `up` truncates SHOPLAB_STARTED_FILE: a caller's record of what it started (scripts/check.sh) must survive.
  const { SHOPLAB_STARTED_FILE: _started, ...env } = io.env;
  for (const step of planControl(action, targets, mode, root)) {
    const result = await run(step.argv, env, io, root);
    const names = step.targets.join(' ');
    if (result.code !== 0) {
      io.err(
        `shopctl ${action}: ${names} (${mode}): \`${step.argv.join(' ')}\` failed` +
          `${result.error ? `: ${result.error}` : ` with exit status ${result.code}`}\n`,
      );
      return 1;
    }
    io.out(`shopctl: ${ACTION_VERB[action]} ${names} (${mode}${action === 'start' ? ', ready' : ''})\n`);
  }
  return 0;
}

/** `shopctl stop|start|kill …`; returns the exit status. */
export async function controlCommand(action: ControlAction, argv: string[], io: CliIo): Promise<number> {
  try {
    if (argv.some((a) => a === '--help' || a === '-h')) {
      io.out(`${CONTROL_USAGE}\n`);
      return 0;
    }
    const unknown = argv.find((a) => a.startsWith('-'));
    if (unknown) throw new UsageError(`unknown option ${unknown}`);
    const targets = parseTargets(argv);
    return await runControl(action, targets, io, {});
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shopctl ${action}: ${err.message}\n\n${CONTROL_USAGE}\n`);
      return 2;
    }
    throw err;
  }
}
