// `shopctl shipping status|route|shadow|seed|rollback|quote`: the shipping service's strangler
// facade (services/shipping, docs/patterns/strangler-fig.md). `route` sets the share of an
// operation's calls the native implementation answers, `shadow` compares quotes with the other
// implementation, `rollback` sends everything back to the legacy system at once.
import { adminBaseUrl, requestJson, resolveAdminToken } from './api';
import { type CliIo, formatTable, parseOptions, UsageError } from './command';
import { messageOf } from './error-text';

const USAGE = `usage: shopctl shipping status [--json]
       shopctl shipping route <quote|create> <0-100>
       shopctl shipping shadow <on|off>
       shopctl shipping seed <cents>
       shopctl shipping rollback
       shopctl shipping quote <country> <grams>
  status     the native share per operation, shadow mode, the seed, and the shadow comparisons
  route      the percent of quotes or creations the native implementation answers (the rest: legacy)
  shadow     quotes also ask the other implementation and count differences
             (shipping_shadow_comparisons_total); the caller always gets the routed answer
  seed       cents added to every native quote: a difference for shadow mode to catch (0: none)
  rollback   every call to the legacy system at once, shadow off
  quote      one quote, and which implementation answered it
  The shipping service is called on $SHOPLAB_SHIPPING_URL, else http://127.0.0.1:8087, its switches
  on its admin listener: $SHOPLAB_SHIPPING_ADMIN_URL, else $SHOPLAB_SHIPPING_URL, else
  http://127.0.0.1:7087, with the admin token ($ADMIN_TOKEN, else ADMIN_TOKEN in
  $SHOPLAB_STATE/secrets.env).`;

/** The shipping service's local port (infra/local/services.sh). */
export const SHIPPING_PORT = 8087;

export const ROUTED_OPERATIONS = ['quote', 'create'] as const;
export type RoutedOperation = (typeof ROUTED_OPERATIONS)[number];

export interface StranglerStatus {
  nativeShare: Record<RoutedOperation, number>;
  shadow: boolean;
  nativeQuoteSkewCents: number;
}

export interface ShippingQuote {
  price: { amount: number; currency: string };
  transitDays: number;
  backend: 'legacy' | 'native';
}

export type ShadowComparisons = Record<'same' | 'different' | 'shadow_failed', number>;

/** The shipping service's quotes (its HTTP port) and strangler switches (its admin listener, the admin token). */
export class ShippingApi {
  readonly baseUrl: string;
  /** Its admin listener (`/v1/admin/…`: 404 on baseUrl). */
  readonly adminUrl: string;
  private readonly token: string;

  constructor(env: NodeJS.ProcessEnv = process.env, token?: string) {
    this.baseUrl = env.SHOPLAB_SHIPPING_URL?.replace(/\/+$/, '') ?? `http://127.0.0.1:${SHIPPING_PORT}`;
    this.adminUrl = adminBaseUrl('shipping', env);
    const resolved = token ?? resolveAdminToken(undefined, env);
    if (!resolved) throw new UsageError('no admin token (set ADMIN_TOKEN, or start the local stack)');
    this.token = resolved;
  }

  status(): Promise<StranglerStatus> {
    return requestJson('GET', `${this.adminUrl}/v1/admin/shipping/strangler`, { token: this.token });
  }

  update(change: {
    nativeShare?: Partial<Record<RoutedOperation, number>>;
    shadow?: boolean;
    nativeQuoteSkewCents?: number;
  }): Promise<StranglerStatus> {
    return requestJson('PUT', `${this.adminUrl}/v1/admin/shipping/strangler`, { token: this.token, body: change });
  }

  rollback(): Promise<StranglerStatus> {
    return requestJson('POST', `${this.adminUrl}/v1/admin/shipping/strangler/rollback`, { token: this.token });
  }

  quote(destinationCountry: string, weightGrams: number): Promise<ShippingQuote> {
    return requestJson('POST', `${this.baseUrl}/v1/shipping/quotes`, { body: { destinationCountry, weightGrams } });
  }

  /** The shadow comparisons so far, from the service's /metrics (a counter per result). */
  async comparisons(): Promise<ShadowComparisons> {
    const text = await requestJson<string>('GET', `${this.baseUrl}/metrics`, { headers: { accept: 'text/plain' } });
    return parseComparisons(String(text));
  }
}

/** shipping_shadow_comparisons_total{operation="quote",result=…} from a Prometheus text exposition. */
export function parseComparisons(text: string): ShadowComparisons {
  const out: ShadowComparisons = { same: 0, different: 0, shadow_failed: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('shipping_shadow_comparisons_total{') || !line.includes('operation="quote"')) continue;
    const result = /result="([a-z_]+)"/.exec(line)?.[1] as keyof ShadowComparisons | undefined;
    const value = Number(line.trim().split(/\s+/).pop());
    if (result && result in out && Number.isFinite(value)) out[result] += value;
  }
  return out;
}

function percent(value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 0 || n > 100) throw new UsageError('a share is 0 to 100');
  return n;
}

function formatStatus(s: StranglerStatus, c: ShadowComparisons): string {
  return `${formatTable([
    ['operation', 'native share', 'legacy share'],
    ...ROUTED_OPERATIONS.map((op) => [op, `${s.nativeShare[op]} %`, `${100 - s.nativeShare[op]} %`]),
  ])}\nshadow ${s.shadow ? 'on' : 'off'} · seed ${s.nativeQuoteSkewCents} cents · shadow comparisons: ${c.same} same, ${c.different} different, ${c.shadow_failed} shadow failed\n`;
}

export async function shippingCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help') {
    io.out(`${USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  try {
    const opts = parseOptions(rest, { flags: ['json'] });
    const [a, b] = opts.positional;
    const api = new ShippingApi(io.env);
    let status: StranglerStatus;
    if (sub === 'status') status = await api.status();
    else if (sub === 'route') {
      if (!ROUTED_OPERATIONS.includes(a as RoutedOperation)) throw new UsageError('route quote|create <0-100>');
      status = await api.update({ nativeShare: { [a as RoutedOperation]: percent(b) } });
    } else if (sub === 'shadow') {
      if (a !== 'on' && a !== 'off') throw new UsageError('shadow on|off');
      status = await api.update({ shadow: a === 'on' });
    } else if (sub === 'seed') {
      const cents = Number(a);
      if (a === undefined || !Number.isInteger(cents)) throw new UsageError('seed <cents>');
      status = await api.update({ nativeQuoteSkewCents: cents });
    } else if (sub === 'rollback') status = await api.rollback();
    else if (sub === 'quote') {
      const grams = Number(b);
      if (!a || !Number.isInteger(grams)) throw new UsageError('quote <country> <grams>');
      const q = await api.quote(a, grams);
      io.out(
        opts.flags.has('json')
          ? `${JSON.stringify(q, null, 2)}\n`
          : `${(q.price.amount / 100).toFixed(2)} ${q.price.currency}, ${q.transitDays} days (${q.backend})\n`,
      );
      return 0;
    } else throw new UsageError(`unknown shipping command '${sub}'`);
    const comparisons = await api.comparisons();
    io.out(
      opts.flags.has('json')
        ? `${JSON.stringify({ ...status, comparisons }, null, 2)}\n`
        : formatStatus(status, comparisons),
    );
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shopctl shipping: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    io.err(`shopctl shipping: ${messageOf(err)}\n`);
    return 1;
  }
}
