// `shopctl chaos set|list|clear`: fault rules (packages/chassis/src/chaos.ts) on each service's
// own /admin/chaos, the gateway included. Rules always expire, so a forgotten one heals itself.
import {
  AdminApi,
  ApiError,
  FAULT_KINDS,
  type FaultKind,
  type FaultRule,
  type FaultRuleInput,
  type FaultSpec,
  isServiceName,
  messageOf,
  type ServiceName,
  TARGET_SERVICES,
} from './api';
import { type CliIo, formatDuration, formatTable, parseDuration, parseOptions, UsageError } from './command';

export const CHAOS_USAGE = `usage: shopctl chaos set <service> <kind> <target> <fault> [--for 60s]
       shopctl chaos list [service…] [--json]
       shopctl chaos clear [service…] [--id ID]

  service  user catalog cart payment order gateway (list/clear: default all of them)
  kind     http      target: the route as the service names it, e.g. 'GET /v1/products/:id'
           grpc      a method, e.g. catalog.v1.CatalogService/ReserveStock
           consumer  a consumed topic, e.g. order.events
           relay     the outbox relay (target: outbox)
           client    an outbound gRPC call, e.g. payment.v1.PaymentService/Authorize
           clock     the service's wall clock (target: '*'; fault: skew only)
           any target may be a * glob ('*' = everything of that kind)
  fault    latency=800ms   wait before the real work
           error=0.3       fail 30 % of the calls (also error=30%)
           fail            fail every call (503 SHOP_CHAOS_INJECTED / UNAVAILABLE)
           hang            block until the rule expires or is cleared
           skew=-30s       (kind clock) the clock its events and timeline entries are
                           stamped with runs 30 s behind (skew=+2m: ahead)
  --for D  how long the rule lives (30s, 2m, 1h; default: the service's 300s)
  --id ID  clear only that rule
Options of every subcommand: --token T (the admin token; default $ADMIN_TOKEN or the local
stack's secrets file). Addresses: each service's admin listener, SHOPLAB_<SERVICE>_ADMIN_URL,
else SHOPLAB_<SERVICE>_URL, else 127.0.0.1:7080 (gateway), 7081 (user) … 7085 (order).
Exit status: 0 done, 1 a service refused or did not answer, 2 bad input.`;

/** The longest latency a rule may inject (the chassis' limit). */
const MAX_LATENCY_MS = 120_000;
/** The largest clock skew either way (the chassis' limit). */
const MAX_SKEW_MS = 86_400_000;
const MAX_RULE_SECONDS = 24 * 3600;

/** `latency=800ms`, `error=0.3` / `error=30%`, `fail`, `hang`, `skew=-30s` → a fault spec; UsageError otherwise. */
export function parseFault(text: string): FaultSpec {
  const [type, value, ...rest] = text.split('=');
  if (rest.length > 0) throw new UsageError(`fault '${text}' has more than one '='`);
  if (type === 'skew' && value !== undefined) {
    const sign = value.startsWith('-') ? -1 : 1;
    const ms = sign * parseDuration(value.replace(/^[+-]/, ''), 'skew');
    if (Math.abs(ms) > MAX_SKEW_MS) throw new UsageError(`skew ${value} is more than the limit of 24h`);
    return { type: 'skew', ms };
  }
  if ((type === 'fail' || type === 'hang') && value === undefined) return { type };
  if (type === 'latency' && value !== undefined) {
    const ms = parseDuration(value, 'latency');
    if (ms > MAX_LATENCY_MS) throw new UsageError(`latency ${value} is more than the limit of 120s`);
    return { type: 'latency', ms };
  }
  if (type === 'error' && value !== undefined) {
    const percent = value.endsWith('%');
    const rate = Number(percent ? value.slice(0, -1) : value) / (percent ? 100 : 1);
    if (!(rate > 0 && rate <= 1) || value.trim() === '') {
      throw new UsageError(`error rate '${value}' must be in (0, 1] (e.g. 0.3) or a percentage (30%)`);
    }
    return { type: 'error', rate };
  }
  throw new UsageError(`unknown fault '${text}' (use latency=800ms, error=0.3, fail, hang or skew=-30s)`);
}

/** `fail`, `hang`, `latency 800ms`, `error 30%`. */
export function describeFault(fault: FaultSpec): string {
  switch (fault.type) {
    case 'latency':
      return `latency ${formatDuration(fault.ms)}`;
    case 'error':
      return `error ${Math.round(fault.rate * 1000) / 10}%`;
    case 'skew':
      return `skew ${fault.ms < 0 ? '-' : '+'}${formatDuration(Math.abs(fault.ms))}`;
    default:
      return fault.type;
  }
}

function parseService(name: string): ServiceName {
  if (!isServiceName(name)) throw new UsageError(`unknown service '${name}' (known: ${TARGET_SERVICES.join(' ')})`);
  return name;
}

/** The services named (each validated), or all of them when none is. */
export function parseServices(names: string[]): ServiceName[] {
  if (names.length === 0) return [...TARGET_SERVICES];
  return [...new Set(names.map(parseService))];
}

/** The arguments of `chaos set` → which service and the rule to add. */
export function parseChaosSet(args: string[]): { service: ServiceName; rule: FaultRuleInput; token?: string } {
  const { positional, values } = parseOptions(args, { valued: ['for', 'token'] });
  if (positional.length !== 4) {
    throw new UsageError(
      `chaos set needs <service> <kind> <target> <fault>, got ${positional.length} argument(s)` +
        (positional.length > 4 ? ' (quote a target with spaces: "GET /v1/products")' : ''),
    );
  }
  const [serviceName, kindName, target, faultText] = positional as [string, string, string, string];
  const service = parseService(serviceName);
  if (!(FAULT_KINDS as readonly string[]).includes(kindName)) {
    throw new UsageError(`unknown kind '${kindName}' (known: ${FAULT_KINDS.join(' ')})`);
  }
  const kind = kindName as FaultKind;
  if (target.trim() === '' || target.length > 200) throw new UsageError('the target must be 1–200 characters');
  if (kind === 'http' && !target.includes('*') && !/^[A-Z]+ \//.test(target)) {
    throw new UsageError(
      `an http target is 'METHOD /route' as the service names it (e.g. 'GET /v1/products/:id'), got '${target}'`,
    );
  }
  const fault = parseFault(faultText);
  if ((kind === 'clock') !== (fault.type === 'skew')) {
    throw new UsageError(
      kind === 'clock'
        ? `the clock takes a skew (e.g. skew=-30s), not '${faultText}'`
        : 'a skew is for kind clock only',
    );
  }
  if (kind === 'clock' && target !== '*') throw new UsageError(`the clock's target is '*' (the whole service)`);
  const rule: FaultRuleInput = { kind, target, fault };
  if (values.for !== undefined) {
    const seconds = Math.ceil(parseDuration(values.for, '--for') / 1000);
    if (seconds > MAX_RULE_SECONDS) throw new UsageError(`--for ${values.for} is more than the limit of 24h`);
    rule.durationSeconds = seconds;
  }
  return { service, rule, ...(values.token ? { token: values.token } : {}) };
}

/** One active rule on one service. */
export interface ChaosListing {
  service: ServiceName;
  rule: FaultRule;
}

/** Every active rule on the given services; a service that fails to answer is reported in `errors`. */
export async function listChaos(
  admin: AdminApi,
  services: readonly ServiceName[] = TARGET_SERVICES,
): Promise<{ rules: ChaosListing[]; errors: { service: ServiceName; message: string }[] }> {
  const answers = await Promise.all(
    services.map(async (service) => {
      try {
        return { service, rules: await admin.chaosList(service) };
      } catch (err) {
        return { service, error: messageOf(err) };
      }
    }),
  );
  return {
    rules: answers.flatMap((a) => (a.rules ?? []).map((rule) => ({ service: a.service, rule }))),
    errors: answers.flatMap((a) => (a.error !== undefined ? [{ service: a.service, message: a.error }] : [])),
  };
}

export interface ClearResult {
  service: ServiceName;
  cleared: number;
  error?: string;
}

/**
 * Clears every rule (or the rule `id`) on the given services. With an id, a service that has no
 * such rule (404) counts as cleared 0, not as an error.
 */
export async function clearChaos(
  admin: AdminApi,
  services: readonly ServiceName[] = TARGET_SERVICES,
  id?: string,
): Promise<ClearResult[]> {
  return Promise.all(
    services.map(async (service): Promise<ClearResult> => {
      try {
        return { service, cleared: await admin.chaosClear(service, id) };
      } catch (err) {
        if (id && err instanceof ApiError && err.status === 404) return { service, cleared: 0 };
        return { service, cleared: 0, error: messageOf(err) };
      }
    }),
  );
}

function expiresIn(rule: FaultRule, now: number): string {
  const left = Date.parse(rule.expiresAt) - now;
  return left > 0 ? `in ${formatDuration(Math.ceil(left / 1000) * 1000)}` : 'expired';
}

/** `shopctl chaos …`; returns the exit status. */
export async function chaosCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'set') return await chaosSet(rest, io);
    if (sub === 'list') return await chaosList(rest, io);
    if (sub === 'clear') return await chaosClearCommand(rest, io);
    if (sub === undefined || sub === 'help' || sub === '--help') {
      io.out(`${CHAOS_USAGE}\n`);
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown subcommand '${sub}' (set, list, clear)`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shopctl chaos: ${err.message}\n\n${CHAOS_USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

function adminFrom(token: string | undefined, io: CliIo): AdminApi | undefined {
  try {
    return new AdminApi({ env: io.env, ...(token ? { token } : {}) });
  } catch (err) {
    io.err(`shopctl chaos: ${messageOf(err)}\n`);
    return undefined;
  }
}

async function chaosSet(args: string[], io: CliIo): Promise<number> {
  const { service, rule, token } = parseChaosSet(args);
  const admin = adminFrom(token, io);
  if (!admin) return 2;
  try {
    const added = await admin.chaosSet(service, rule);
    io.out(
      `${service}: fault ${added.id} set: ${added.kind} '${added.target}' ${describeFault(added.fault)}, ` +
        `expires ${expiresIn(added, Date.now())} (${added.expiresAt})\n`,
    );
    return 0;
  } catch (err) {
    io.err(`shopctl chaos set: ${service}: ${messageOf(err)}\n`);
    return 1;
  }
}

async function chaosList(args: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(args, { valued: ['token'], flags: ['json'] });
  const services = parseServices(positional);
  const admin = adminFrom(values.token, io);
  if (!admin) return 2;
  const { rules, errors } = await listChaos(admin, services);
  if (flags.has('json')) {
    io.out(`${JSON.stringify({ rules, errors }, null, 2)}\n`);
  } else if (rules.length === 0) {
    io.out(`no active fault rules on ${services.join(', ')}\n`);
  } else {
    const now = Date.now();
    io.out(
      `${formatTable([
        ['SERVICE', 'ID', 'KIND', 'TARGET', 'FAULT', 'EXPIRES'],
        ...rules.map(({ service, rule }) => [
          service,
          rule.id,
          rule.kind,
          rule.target,
          describeFault(rule.fault),
          expiresIn(rule, now),
        ]),
      ])}\n`,
    );
  }
  for (const e of errors) io.err(`shopctl chaos list: ${e.service}: ${e.message}\n`);
  return errors.length > 0 ? 1 : 0;
}

async function chaosClearCommand(args: string[], io: CliIo): Promise<number> {
  const { positional, values } = parseOptions(args, { valued: ['token', 'id'] });
  const services = parseServices(positional);
  const id = values.id;
  if (id !== undefined && !/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError(`--id '${id}' is not a rule id (a uuid)`);
  const admin = adminFrom(values.token, io);
  if (!admin) return 2;
  const results = await clearChaos(admin, services, id);
  for (const r of results) {
    if (r.error) io.err(`shopctl chaos clear: ${r.service}: ${r.error}\n`);
    else if (!id || r.cleared > 0) io.out(`${r.service}: cleared ${r.cleared} rule(s)\n`);
  }
  if (id && results.every((r) => r.cleared === 0) && !results.some((r) => r.error)) {
    io.err(`shopctl chaos clear: no service had the rule ${id}\n`);
    return 1;
  }
  return results.some((r) => r.error) ? 1 : 0;
}
