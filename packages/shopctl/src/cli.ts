#!/usr/bin/env node
// shopctl: the operator's command line (`shopctl help` lists the commands). Each command lives
// in its own module (chaos.ts, …) and returns its exit status; 2 always means bad input.
import { type AuditReport, CollectError, collectAuditData, formatReport, runAudit } from '@shoplab/audit';
import { adminBaseUrl, resolveAdminToken } from './api';
import { auditUntilSettled } from './audit-wait';
import { benchCommand } from './bench/command';
import { orderEventsCommand } from './bench/order-events';
import { hammerCommand, profileCommand } from './bench/profile';
import { chaosCommand } from './chaos';
import { checkoutModeCommand } from './checkout-mode';
import { type CliIo, formatDuration, parseDuration, UsageError } from './command';
import { groupsCommand } from './consumer-groups';
import { controlCommand } from './control';
import { dlqCommand } from './dlq';
import { messageOf } from './error-text';
import { exerciseCommand } from './exercises';
import { historyCommand } from './history';
import { loadCommand } from './load';
import { paymentCommand } from './payment';
import { shippingCommand } from './shipping';
import { findOrderTrace, renderTraceTree } from './trace';

const USAGE = `usage: shopctl <command> [arguments]
  audit [--json] [--token T] [--gateway URL] [--wait 60s]
                                                check the invariants of docs/reference.md#audit
  trace <orderId> [--all] [--jaeger URL]        an order's checkout trace from Jaeger
  chaos set|list|clear …                        fault rules on the services (shopctl chaos help)
  stop|start|kill <target…>                     stop, start (and await) or crash a service or
                                                infrastructure component (shopctl kill --help)
  load --rate 20 --duration 60s [--users 20] [--mix browse=10,cart=3,checkout=1] [--json]
                                                open-loop load on the public API (shopctl load --help)
  dlq list [topic] | dlq redrive <topic> [--max N]
                                                dead-lettered messages; copy them back (shopctl dlq help)
  history lag | history rebuild [--wait 10m]    the order history's lag per topic; rebuild its read model
                                                and follow it until done (shopctl history help)
  shipping status|route|shadow|seed|rollback    the shipping strangler: native share per operation, shadow
                                                quotes, seeded difference, rollback (shopctl shipping help)
  payment rebuild | payment balance [--at T] | payment events <id> [--at T]
                                                the payment's event store: rebuild its projections,
                                                the shop's balance or a payment's state at an instant
                                                (shopctl payment help)
  exercise list|show|run …                      break the shop on purpose and measure (docs/exercises/)
  bench [--smoke] [--write docs/benchmarks.md]  the figures of docs/benchmarks.md on the running shop
                                                (make bench; shopctl bench --help)
  profile <file.cpuprofile> [--top 20]          a CPU profile's busy time by code origin and top
                                                functions (scripts/profile.sh records one)
  hammer <url> [--connections 20] [--duration 20s]
                                                GETs a url in a closed loop: req/s and latency
  checkout-mode [orchestrated|choreographed|two-phase]
                                                the checkout mode new orders get; switch it
                                                (docs/patterns/choreography.md)
  groups <group>… [--members-out F | --wait-without F]
                                                a consumer group's members; wait until a restarted
                                                service holds its groups again (shopctl groups --help)
  order-events [--orders 10]                    following an order, polling vs streaming: calls to
                                                order and delay per update (shopctl order-events --help)

audit: checks the invariants through the services' admin APIs.
  --token T       the admin token (default: $ADMIN_TOKEN, else ADMIN_TOKEN in
                  $SHOPLAB_STATE/secrets.env, ~/.local/state/shoplab/secrets.env)
  --gateway URL   ask the gateway's /api/v1/admin/audit instead of the services: its admin
                  listener (natively http://127.0.0.1:7080; the public :8080 answers 404)
  --json          print the report as JSON
  --wait D        while invariant 1 (orders PENDING) or 6 (outbox backlog, consumers behind)
                  FAILs, or a service does not answer, retry for up to D (30s, 2m), then report
  Services are called directly on their local admin listeners (user 7081, catalog 7082,
  cart 7083, payment 7084, order 7085; their HTTP ports answer admin routes 404); override one
  with SHOPLAB_<SERVICE>_ADMIN_URL (else SHOPLAB_<SERVICE>_URL, a service without ADMIN_PORT).
  Exit status: 0 all hold, 1 an invariant fails, 2 the audit could not run.

trace: finds the checkout's trace in Jaeger (by the saga spans' order.id), prints its link
and the span tree (--all keeps database and fastify hook spans; --jaeger defaults to
$JAEGER_QUERY_URL or http://127.0.0.1:16686).`;

interface AuditArgs {
  json: boolean;
  token?: string;
  gateway?: string;
  /** --wait: retry while settling invariants fail, this long (ms). */
  waitMs?: number;
}

// Kept importable from here (they moved to api.ts, shared with every command).
export { parseEnvFile, resolveAdminToken } from './api';
export type { CliIo } from './command';

function parseArgs(argv: string[]): AuditArgs {
  const args: AuditArgs = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') args.json = true;
    else if (arg === '--token') args.token = value();
    else if (arg === '--gateway') args.gateway = value().replace(/\/+$/, '');
    else if (arg === '--wait') args.waitMs = parseDuration(value(), '--wait');
    else throw new UsageError(`unknown option ${arg}`);
  }
  return args;
}

async function auditThroughGateway(gateway: string, token: string): Promise<AuditReport> {
  const url = `${gateway}/api/v1/admin/audit`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new CollectError(`GET ${url} failed: ${messageOf(err, { cause: false })}`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new CollectError(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as AuditReport;
}

async function trace(argv: string[], io: CliIo): Promise<number> {
  const jaegerFlag = argv.indexOf('--jaeger');
  const orderId = argv.find((a, i) => !a.startsWith('--') && !(jaegerFlag >= 0 && i === jaegerFlag + 1));
  const jaeger = (
    (jaegerFlag >= 0 ? argv[jaegerFlag + 1] : undefined) ??
    io.env.JAEGER_QUERY_URL ??
    'http://127.0.0.1:16686'
  ).replace(/\/+$/, '');
  if (!orderId) {
    io.err(`shopctl trace: an order id is required\n${USAGE}\n`);
    return 2;
  }
  try {
    const found = await findOrderTrace(jaeger, orderId);
    io.out(`${jaeger}/trace/${found.traceID}\n${renderTraceTree(found, { compact: !argv.includes('--all') })}\n`);
    return 0;
  } catch (err) {
    io.err(`shopctl trace: ${messageOf(err, { cause: false })}\n`);
    return 1;
  }
}

/** Aborts on the first Ctrl-C (the command then finishes and reports); a second one exits. */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return controller.signal;
}

/** Runs one command; returns the exit status. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'trace') return trace(rest, io);
  if (command === 'chaos') return chaosCommand(rest, io);
  if (command === 'stop' || command === 'start' || command === 'kill') return controlCommand(command, rest, io);
  if (command === 'load') return loadCommand(rest, io, interruptSignal());
  if (command === 'dlq') return dlqCommand(rest, io);
  if (command === 'history') return historyCommand(rest, io);
  if (command === 'shipping') return shippingCommand(rest, io);
  if (command === 'payment') return paymentCommand(rest, io);
  if (command === 'checkout-mode') return checkoutModeCommand(rest, io);
  if (command === 'groups') return groupsCommand(rest, io);
  if (command === 'exercise') return exerciseCommand(rest, io);
  if (command === 'bench') return benchCommand(rest, io);
  if (command === 'order-events') return orderEventsCommand(rest, io, interruptSignal());
  if (command === 'profile') return profileCommand(rest, io);
  if (command === 'hammer') return hammerCommand(rest, io);
  if (command !== 'audit') {
    io.err(`shopctl: unknown command ${command}\n${USAGE}\n`);
    return 2;
  }
  let args: AuditArgs;
  try {
    args = parseArgs(rest);
  } catch (err) {
    io.err(`shopctl audit: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const token = resolveAdminToken(args.token, io.env);
  if (!token) {
    io.err('shopctl audit: no admin token (pass --token, set ADMIN_TOKEN, or start the local stack)\n');
    return 2;
  }
  const once = () =>
    args.gateway
      ? auditThroughGateway(args.gateway, token)
      : collectAuditData({ adminToken: token, baseUrl: (service) => adminBaseUrl(service, io.env) }).then((data) =>
          runAudit(data),
        );
  let report: AuditReport;
  try {
    report =
      args.waitMs === undefined
        ? await once()
        : (
            await auditUntilSettled(once, {
              waitMs: args.waitMs,
              onRetry: (reason, attempt) => {
                if (attempt === 1)
                  io.err(`shopctl audit: ${reason}; retrying for up to ${formatDuration(args.waitMs ?? 0)}\n`);
              },
            })
          ).report;
  } catch (err) {
    if (!(err instanceof CollectError)) throw err;
    io.err(`shopctl audit: could not collect the data: ${err.message}\n`);
    return 2;
  }
  io.out(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? 0 : 1;
}

/** Runs the command line of this process (node dist/src/cli.js …, or bin/shopctl.js). */
export function runFromProcess(): void {
  main(process.argv.slice(2), {
    env: process.env,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    errIsTty: process.stderr.isTTY === true,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 2;
    },
  );
}

if (require.main === module) runFromProcess();
