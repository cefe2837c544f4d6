// `shopctl payment rebuild|balance|events`: the payment's event store (services/payment,
// docs/patterns/event-sourcing.md). `rebuild` empties the projections (payments,
// ledger_entries) and writes them again from the store (POST /v1/admin/payments/rebuild);
// `balance` is the shop's money at an instant, `events` one payment's stream and its state then,
// both folded from the store alone.
import { adminBaseUrl, requestJson, resolveAdminToken } from './api';
import { type CliIo, formatDuration, formatTable, parseDuration, parseOptions, UsageError } from './command';
import { messageOf } from './error-text';

const USAGE = `usage: shopctl payment rebuild [--json]
       shopctl payment balance [--at <instant>] [--json]
       shopctl payment events <paymentId> [--at <instant>] [--json]
  rebuild   empty the payments and ledger_entries projections and replay every stream of the
            event store into them (one transaction); prints the counts and the time it took
  balance   captured, refunded, net and still-open authorizations per currency, at the instant
  events    a payment's events up to the instant, and its state then
  --at T    an ISO 8601 instant (2026-12-05T17:00:00Z), or a duration meaning that long ago
            (90s, 10m, 2h); default now
  The payment service's admin listener is called on $SHOPLAB_PAYMENT_ADMIN_URL, else
  $SHOPLAB_PAYMENT_URL, else http://127.0.0.1:7084, with the admin token ($ADMIN_TOKEN, else
  ADMIN_TOKEN in $SHOPLAB_STATE/secrets.env).`;

export interface PaymentRebuildReport {
  streams: number;
  events: number;
  payments: number;
  ledgerEntries: number;
  durationMs: number;
  /** Appends that found their version taken and were run again, since the service started. */
  appendConflicts: number;
}

export interface PaymentBalance {
  at: string;
  position: number;
  events: number;
  totals: {
    currency: string;
    authorizedOpen: number;
    captured: number;
    refunded: number;
    net: number;
    payments: number;
  }[];
}

export interface PaymentStreamEvent {
  position: number;
  version: number;
  type: string;
  data: Record<string, unknown>;
  recordedAt: string;
}

export interface PaymentStream {
  paymentId: string;
  at: string | null;
  version: number;
  payment: { id: string; orderId: string; status: string; [field: string]: unknown } | null;
  events: PaymentStreamEvent[];
}

/** The payment service's event-store admin API (its own port, the admin token). */
export class PaymentAdminApi {
  readonly baseUrl: string;
  private readonly token: string;

  constructor(env: NodeJS.ProcessEnv = process.env, token?: string) {
    this.baseUrl = adminBaseUrl('payment', env);
    const resolved = token ?? resolveAdminToken(undefined, env);
    if (!resolved) throw new UsageError('no admin token (set ADMIN_TOKEN, or start the local stack)');
    this.token = resolved;
  }

  rebuild(): Promise<PaymentRebuildReport> {
    return requestJson('POST', `${this.baseUrl}/v1/admin/payments/rebuild`, { token: this.token, timeoutMs: 300_000 });
  }

  balance(at?: Date): Promise<PaymentBalance> {
    const query = at ? `?at=${encodeURIComponent(at.toISOString())}` : '';
    return requestJson('GET', `${this.baseUrl}/v1/admin/payments/balance${query}`, { token: this.token });
  }

  stream(paymentId: string, at?: Date): Promise<PaymentStream> {
    const query = at ? `?at=${encodeURIComponent(at.toISOString())}` : '';
    return requestJson('GET', `${this.baseUrl}/v1/admin/payments/${encodeURIComponent(paymentId)}/events${query}`, {
      token: this.token,
    });
  }
}

/** `--at`: an ISO 8601 instant, or a duration meaning that long before `now`. */
export function parseInstant(value: string, now: Date = new Date()): Date {
  if (/^\d+(\.\d+)?(ms|s|m|h)$/.test(value)) return new Date(now.getTime() - parseDuration(value, '--at'));
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new UsageError(
      `--at must be an ISO 8601 instant with its offset (2026-12-05T17:00:00Z) or a duration (10m), not ${value}`,
    );
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--at ${value} is not a valid instant`);
  return at;
}

export async function paymentCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help') {
    io.out(`${USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  try {
    const opts = parseOptions(rest, { valued: ['at'], flags: ['json'] });
    const at = opts.values.at ? parseInstant(opts.values.at) : undefined;
    const json = opts.flags.has('json');
    if (sub === 'rebuild') {
      if (at) throw new UsageError('rebuild takes no --at');
      const api = new PaymentAdminApi(io.env);
      const report = await api.rebuild();
      if (json) io.out(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const rate = report.durationMs > 0 ? Math.round((report.events * 1000) / report.durationMs) : report.events;
        io.out(
          `rebuild done in ${formatDuration(report.durationMs)}: ${report.events} events of ${report.streams} streams replayed (${rate}/s) into ${report.payments} payments and ${report.ledgerEntries} ledger entries\n`,
        );
      }
      return 0;
    }
    if (sub === 'balance') {
      const api = new PaymentAdminApi(io.env);
      const balance = await api.balance(at);
      if (json) io.out(`${JSON.stringify(balance, null, 2)}\n`);
      else {
        io.out(`at ${balance.at}: ${balance.events} events (up to position ${balance.position})\n`);
        io.out(
          `${formatTable([
            ['currency', 'captured', 'refunded', 'net', 'authorized open', 'payments'],
            ...balance.totals.map((t) => [
              t.currency,
              String(t.captured),
              String(t.refunded),
              String(t.net),
              String(t.authorizedOpen),
              String(t.payments),
            ]),
          ])}\n`,
        );
      }
      return 0;
    }
    if (sub === 'events') {
      const paymentId = opts.positional[0];
      if (!paymentId) throw new UsageError('a payment id is required');
      const api = new PaymentAdminApi(io.env);
      const stream = await api.stream(paymentId, at);
      if (json) io.out(`${JSON.stringify(stream, null, 2)}\n`);
      else {
        io.out(
          `${formatTable([
            ['version', 'position', 'recorded at', 'event', 'amount'],
            ...stream.events.map((e) => [
              String(e.version),
              String(e.position),
              e.recordedAt,
              e.type,
              `${String(e.data.amount)} ${String(e.data.currency)}`,
            ]),
          ])}\n`,
        );
        io.out(
          stream.payment
            ? `state${stream.at ? ` at ${stream.at}` : ''}: ${stream.payment.status} (version ${stream.version})\n`
            : `no payment ${paymentId} yet at ${stream.at}\n`,
        );
      }
      return 0;
    }
    throw new UsageError(`unknown payment command '${sub}'`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shopctl payment: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    io.err(`shopctl payment: ${messageOf(err)}\n`);
    return 1;
  }
}
