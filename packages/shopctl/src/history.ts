// `shopctl history rebuild|lag`: the order history's read model (services/history,
// docs/patterns/cqrs.md). `lag` prints how far the read side is behind per source topic;
// `rebuild` drops the read model and replays the topics (POST /admin/history/rebuild), then
// follows its progress (GET) until it is done and prints the time it took.
import { adminBaseUrl, requestJson, resolveAdminToken } from './api';
import { type CliIo, formatDuration, formatTable, parseDuration, parseOptions, UsageError } from './command';
import { messageOf } from './error-text';

const USAGE = `usage: shopctl history lag [--json]
       shopctl history rebuild [--wait 10m] [--json]
  lag       per source topic: events not applied yet, seconds behind, events applied
  rebuild   drop the read model and replay order.events and payment.events from the start;
            prints progress (events applied of the target, documents, elapsed) until done
  --wait D  give up following the rebuild after D (default 10m; the rebuild itself goes on)
  The history service's admin listener is called on $SHOPLAB_HISTORY_ADMIN_URL, else
  $SHOPLAB_HISTORY_URL, else http://127.0.0.1:7086, with the admin token ($ADMIN_TOKEN, else
  ADMIN_TOKEN in $SHOPLAB_STATE/secrets.env).`;

/** The history service's local port (infra/local/services.sh). */
export const HISTORY_PORT = 8086;

export interface HistoryLagTopic {
  topic: string;
  groupId: string;
  events: number;
  seconds: number | null;
  eventsApplied: number;
  lastEventAt: string | null;
}

export interface RebuildStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  generation: number;
  startedAt: string | null;
  finishedAt: string | null;
  elapsedSeconds: number;
  eventsApplied: number;
  targetEvents: number;
  documents: number;
  error: string | null;
}

/** One order's document in the read model (the fields the exercises compare). */
export interface HistoryDocument {
  orderId: string;
  userId: string | null;
  status: string | null;
  version: number;
  [field: string]: unknown;
}

/** The history service's admin API (its admin listener) and reads (its HTTP port), with the admin token. */
export class HistoryApi {
  readonly baseUrl: string;
  /** Its admin listener (`/admin/…`: 404 on baseUrl). */
  readonly adminUrl: string;
  private readonly token: string;

  constructor(env: NodeJS.ProcessEnv = process.env, token?: string) {
    this.baseUrl = env.SHOPLAB_HISTORY_URL?.replace(/\/+$/, '') ?? `http://127.0.0.1:${HISTORY_PORT}`;
    this.adminUrl = adminBaseUrl('history', env);
    const resolved = token ?? resolveAdminToken(undefined, env);
    if (!resolved) throw new UsageError('no admin token (set ADMIN_TOKEN, or start the local stack)');
    this.token = resolved;
  }

  async lag(): Promise<HistoryLagTopic[]> {
    return (
      await requestJson<{ topics: HistoryLagTopic[] }>('GET', `${this.adminUrl}/admin/history/lag`, {
        token: this.token,
      })
    ).topics;
  }

  startRebuild(): Promise<RebuildStatus> {
    return requestJson<RebuildStatus>('POST', `${this.adminUrl}/admin/history/rebuild`, { token: this.token });
  }

  rebuildStatus(): Promise<RebuildStatus> {
    return requestJson<RebuildStatus>('GET', `${this.adminUrl}/admin/history/rebuild`, { token: this.token });
  }

  /** One order's document; null while the read side has not seen the order. */
  async document(orderId: string): Promise<HistoryDocument | null> {
    try {
      return await requestJson<HistoryDocument>(
        'GET',
        `${this.baseUrl}/v1/history/orders/${encodeURIComponent(orderId)}`,
      );
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  /** Follows a running rebuild until it is done (or failed), calling `progress` on each poll. */
  async awaitRebuild(options: {
    timeoutMs: number;
    pollMs?: number;
    progress?: (s: RebuildStatus) => void;
  }): Promise<RebuildStatus> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const status = await this.rebuildStatus();
      options.progress?.(status);
      if (status.state !== 'running') return status;
      if (Date.now() > deadline) {
        throw new Error(`the rebuild is still running after ${formatDuration(options.timeoutMs)}`);
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  }
}

/** `events 1200/19700 · documents 400 · 12.5s` */
export function formatProgress(s: RebuildStatus): string {
  return `events ${s.eventsApplied}/${s.targetEvents} · documents ${s.documents} · ${s.elapsedSeconds.toFixed(1)}s`;
}

export async function historyCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help') {
    io.out(`${USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  try {
    const opts = parseOptions(rest, { valued: ['wait'], flags: ['json'] });
    const api = new HistoryApi(io.env);
    if (sub === 'lag') {
      const topics = await api.lag();
      if (opts.flags.has('json')) io.out(`${JSON.stringify({ topics }, null, 2)}\n`);
      else {
        io.out(
          `${formatTable([
            ['topic', 'events behind', 'seconds behind', 'events applied', 'last event'],
            ...topics.map((t) => [
              t.topic,
              String(t.events),
              t.seconds === null ? '?' : t.seconds.toFixed(1),
              String(t.eventsApplied),
              t.lastEventAt ?? '-',
            ]),
          ])}\n`,
        );
      }
      return 0;
    }
    if (sub === 'rebuild') {
      const timeoutMs = opts.values.wait ? parseDuration(opts.values.wait, '--wait') : 600_000;
      const started = await api.startRebuild();
      if (!opts.flags.has('json')) io.err(`rebuild of generation ${started.generation} started\n`);
      let last = '';
      const done = await api.awaitRebuild({
        timeoutMs,
        progress: (s) => {
          const line = formatProgress(s);
          if (opts.flags.has('json') || line === last) return;
          last = line;
          io.err(io.errIsTty ? `\r${line}   ` : `${line}\n`);
        },
      });
      if (io.errIsTty && !opts.flags.has('json')) io.err('\n');
      if (opts.flags.has('json')) io.out(`${JSON.stringify(done, null, 2)}\n`);
      else if (done.state === 'done') {
        const rate =
          done.elapsedSeconds > 0 ? Math.round(done.eventsApplied / done.elapsedSeconds) : done.eventsApplied;
        io.out(
          `rebuild done in ${formatDuration(done.elapsedSeconds * 1000)}: ${done.eventsApplied} events applied (${rate}/s), ${done.documents} documents\n`,
        );
      } else io.out(`rebuild ${done.state}: ${done.error ?? ''}\n`);
      return done.state === 'done' ? 0 : 1;
    }
    throw new UsageError(`unknown history command '${sub}'`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shopctl history: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    io.err(`shopctl history: ${messageOf(err)}\n`);
    return 1;
  }
}
