// Exercise 11: PostgreSQL itself crashes (SIGKILL) while shoppers check out. A commit is durable
// once its record is in the write-ahead log (WAL) on disk; the data pages may still be only in
// memory. Started again, the server finds it was not shut down cleanly and REPLAYS the log from
// the last checkpoint's redo point to the log's end. The exercise reads that range from the dead
// cluster itself (pg_controldata, pg_waldump) before the restart, then the range the server says
// it replayed, and shows that every order the API acknowledged is there and the audit passes
// (docs/exercises/11-postgres-crash-wal.md, docs/patterns/write-ahead-log.md).
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SERVICES } from '@shoplab/audit';
import { ApiError, type Shopper, shoplabStateDir } from '../api';
import { detectMode } from '../control';
import { control, waitFor } from './messaging-support';
import { registerExercise } from './registry';
import {
  describeSeconds,
  describeTally,
  type EndedOrder,
  type PlacedOrder,
  productInStock,
  shoppersWithCart,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

/** Shoppers of the load (one checkout each), and how many check out at once. */
const SHOPPERS = 24;
const CONCURRENCY = 3;
/** The crash comes once this many checkouts were acknowledged (and the load ran LOAD_BEFORE_KILL_MS at least). */
const ACKNOWLEDGED_BEFORE_KILL = 4;
const LOAD_BEFORE_KILL_MS = 2_000;
/** PostgreSQL stays down at least this long (the load keeps trying meanwhile). */
const DOWN_FOR_MS = 3_000;

/** Where the local stack's PostgreSQL lives: read from its running postmaster, not configured twice. */
export interface LocalPostgres {
  /** Its binaries (pg_controldata, pg_waldump, psql): the directory of the running `postgres`. */
  bin: string;
  dataDir: string;
  socketDir: string;
  port: string;
  /** The server log infra/local/postgres.sh starts it with. */
  logFile: string;
}

/** The running local PostgreSQL, from its pid file, /proc and the data directory's postmaster.pid. */
export function localPostgres(env: NodeJS.ProcessEnv): LocalPostgres {
  const state = shoplabStateDir(env);
  const pid = readFileSync(join(state, 'run', 'postgres.pid'), 'utf8').trim();
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const dataDir = argv[argv.indexOf('-D') + 1];
  if (!dataDir) throw new Error(`postgres (pid ${pid}) was started without -D: cannot find its data directory`);
  // postmaster.pid: pid, data directory, start time, port, socket directory, listen address, …
  const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
  return {
    bin: dirname(readlinkSync(`/proc/${pid}/exe`)),
    dataDir,
    port: lines[3]?.trim() || '5432',
    socketDir: lines[4]?.trim() || '/tmp',
    logFile: join(state, 'logs', 'postgres.log'),
  };
}

/** Runs a program; resolves its output whatever the exit status (pg_waldump ends with 1 at the log's end). */
function run(program: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(program, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ stdout, stderr: stderr || (err && !stdout ? err.message : ''), code });
    });
  });
}

/** One value over the unix socket as the superuser (local connections are trusted). */
async function psqlValue(pg: LocalPostgres, sql: string): Promise<string> {
  const r = await run(join(pg.bin, 'psql'), [
    '-X',
    '-At',
    '-h',
    pg.socketDir,
    '-p',
    pg.port,
    '-U',
    'postgres',
    '-d',
    'postgres',
    '-c',
    sql,
  ]);
  if (r.code !== 0) throw new Error(`psql: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** An LSN (`0/1A2B3C8`: a byte position in the log) as a number of bytes. */
export function lsnBytes(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  if (!hi || !lo || !/^[0-9A-Fa-f]+$/.test(hi) || !/^[0-9A-Fa-f]+$/.test(lo)) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** The same log position however it is written (pg_waldump pads the low word to 8 digits, the server does not). */
export function sameLsn(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && lsnBytes(a) === lsnBytes(b);
}

/** What the log of the dead cluster holds, read before the restart. */
export interface DeadClusterLog {
  /** pg_controldata's `Database cluster state` ("in production": not shut down cleanly). */
  state: string;
  /** The last checkpoint's redo point: recovery starts at the first record from there. */
  redoFrom: string;
  /**
   * The first two records pg_waldump finds from the redo point. Recovery's "redo starts at" is
   * the first of them, or the second when the record at the redo point is the one both skip.
   */
  firstRecords: string[];
  /** pg_waldump's last valid record: where recovery should stop. */
  lastRecord: string | null;
  /** Records from the redo point to the end of the log, by pg_waldump type (`Transaction/COMMIT`), and `Total`. */
  records: Record<string, number>;
  /** Bytes of full-page images among them (a page's first change after a checkpoint logs the whole page). */
  fullPageBytes: number;
}

/** `pg_controldata`'s fields, `name: value` per line. */
export function parseControlData(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return fields;
}

/**
 * `pg_waldump --stats=record` output: the count per record type, the full-page images, and the
 * last valid record (its closing "error in WAL record at X: invalid record length" is the end of
 * the log, where a crashed server's log simply stops).
 */
export function parseWaldumpStats(output: string): Pick<DeadClusterLog, 'records' | 'fullPageBytes' | 'lastRecord'> {
  const records: Record<string, number> = {};
  let fullPageBytes = 0;
  for (const line of output.split('\n')) {
    const total = /^Total\s+(\d+)\s+\d+\s+\[[^\]]*\]\s+(\d+)/.exec(line);
    if (total?.[1]) {
      records.Total = Number(total[1]);
      fullPageBytes = Number(total[2]);
      continue;
    }
    const row = /^(\S+\/\S+)\s+(\d+)\s+\(/.exec(line);
    if (row?.[1] && row[2]) records[row[1]] = Number(row[2]);
  }
  const end = /error in WAL record at ([0-9A-F]+\/[0-9A-F]+)/i.exec(output);
  return { records, fullPageBytes, lastRecord: end?.[1] ?? null };
}

/** Reads the log of the stopped cluster: its control file's redo point, and pg_waldump from there. */
async function readDeadCluster(pg: LocalPostgres): Promise<DeadClusterLog> {
  const control = await run(join(pg.bin, 'pg_controldata'), ['-D', pg.dataDir]);
  if (control.code !== 0) throw new Error(`pg_controldata: ${control.stderr.trim()}`);
  const fields = parseControlData(control.stdout);
  const redoFrom = fields["Latest checkpoint's REDO location"];
  if (!redoFrom) throw new Error('pg_controldata printed no "Latest checkpoint\'s REDO location"');
  const first = await run(join(pg.bin, 'pg_waldump'), ['-p', join(pg.dataDir, 'pg_wal'), '-s', redoFrom, '-n', '2']);
  const firstRecords = [...first.stdout.matchAll(/\blsn: ([0-9A-F]+\/[0-9A-F]+)/gi)].flatMap((m) =>
    m[1] ? [m[1]] : [],
  );
  const dump = await run(join(pg.bin, 'pg_waldump'), [
    '-p',
    join(pg.dataDir, 'pg_wal'),
    '-s',
    redoFrom,
    '--stats=record',
  ]);
  return {
    state: fields['Database cluster state'] ?? '?',
    redoFrom,
    firstRecords,
    ...parseWaldumpStats(`${dump.stdout}\n${dump.stderr}`),
  };
}

/** What the restarted server wrote about its recovery. */
export interface RecoveryLog {
  crashed: boolean;
  redoStarts: string | null;
  redoDone: string | null;
  lines: string[];
}

/** The server log's recovery lines ("was not properly shut down", "redo starts at", "redo done at"). */
export function parseRecoveryLog(text: string): RecoveryLog {
  const lines = text
    .split('\n')
    .filter((l) => /not properly shut down|redo starts at|redo done at|database system is ready/.test(l))
    .map((l) => l.replace(/^\S+ \S+ \S+ \[\d+\]\s*/, ''));
  return {
    crashed: lines.some((l) => l.includes('not properly shut down')),
    redoStarts: /redo starts at ([0-9A-F]+\/[0-9A-F]+)/i.exec(text)?.[1] ?? null,
    redoDone: /redo done at ([0-9A-F]+\/[0-9A-F]+)/i.exec(text)?.[1] ?? null,
    lines,
  };
}

/** The log file from byte `from` on. */
function readFrom(file: string, from: number): string {
  const size = statSync(file).size;
  if (size <= from) return '';
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The load's shoppers, each with the product in the cart: a few at a time (registering hashes a
 * password, and two dozen at once outrun the gateway's deadline), and a batch the busy shop
 * refused for the moment (503, 504) made again — nothing is broken yet, this is only the setup.
 */
async function loadShoppers(ctx: ExerciseContext, productId: string): Promise<Shopper[]> {
  const shoppers: Shopper[] = [];
  let refusals = 0;
  while (shoppers.length < SHOPPERS) {
    try {
      shoppers.push(...(await shoppersWithCart(ctx, 3, productId)));
    } catch (err) {
      if (!(err instanceof ApiError && (err.status === 503 || err.status === 504)) || ++refusals > 5) throw err;
      ctx.log(`setup: ${err.status} ${err.code ?? ''} — the shop is busy; trying that batch again in 2 s`);
      await ctx.sleep(2_000);
    }
  }
  return shoppers;
}

/** One shopper's checkout: acknowledged (or not), and the refusals on the way. */
interface Attempt {
  placed?: PlacedOrder;
  /** `503 SHOP_DEPENDENCY_UNAVAILABLE`, `no answer`, … each time the checkout was refused. */
  refusals: string[];
  /** Why it gave up, when it was never acknowledged. */
  gaveUp?: string;
}

/**
 * Checks the shoppers out, CONCURRENCY at a time, one checkout each. As a client should, a
 * refused checkout (503 with Retry-After, 504 or no answer: the outcome unknown) is sent again
 * with the same Idempotency-Key a second later, for up to a minute; any other answer is final.
 */
function startLoad(
  ctx: ExerciseContext,
  shoppers: Shopper[],
): { stop: () => void; acknowledged: () => number; done: Promise<Attempt[]> } {
  let next = 0;
  let acknowledged = 0;
  let stopped = false;
  const attempts: Attempt[] = [];
  const checkout = async (shopper: Shopper, i: number): Promise<Attempt> => {
    const attempt: Attempt = { refusals: [] };
    const giveUpAt = Date.now() + 60_000;
    while (!attempt.placed && !attempt.gaveUp) {
      try {
        const { orderId } = await shopper.checkout({ idempotencyKey: `${ctx.runId}-${i}` });
        attempt.placed = { shopper, orderId, acceptedAt: Date.now() };
        acknowledged++;
      } catch (err) {
        const refusal = err instanceof ApiError ? `${err.status} ${err.code ?? ''}`.trim() : 'no answer';
        attempt.refusals.push(refusal);
        const retryable = !(err instanceof ApiError) || err.status === 503 || err.status === 504;
        if (!retryable || stopped || Date.now() > giveUpAt) attempt.gaveUp = refusal;
        else await ctx.sleep(1_000);
      }
    }
    return attempt;
  };
  const worker = async () => {
    while (!stopped && !ctx.signal.aborted) {
      const i = next++;
      const shopper = shoppers[i];
      if (!shopper) return;
      attempts.push(await checkout(shopper, i));
      await ctx.sleep(200).catch(() => undefined);
    }
  };
  const done = Promise.all(Array.from({ length: CONCURRENCY }, worker)).then(() => attempts);
  return {
    stop: () => {
      stopped = true;
    },
    acknowledged: () => acknowledged,
    done,
  };
}

/** Seconds until every service (and the gateway) answers /readyz with 200; throws naming the ones that do not. */
async function waitServicesReady(ctx: ExerciseContext, since: number): Promise<number> {
  const targets = [...SERVICES.map((s) => [s, ctx.serviceUrl(s)] as const), ['gateway', ctx.gatewayUrl] as const];
  let notReady: string[] = [];
  await waitFor(
    ctx,
    'every service ready again',
    async () => {
      const codes = await Promise.all(
        targets.map(([, url]) =>
          fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3_000) }).then(
            (r) => String(r.status),
            () => 'no answer',
          ),
        ),
      );
      notReady = targets.flatMap(([name], i) => (codes[i] === '200' ? [] : [`${name} (${codes[i]})`]));
      return notReady.length === 0 ? true : undefined;
    },
    60_000,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; not ready: ${notReady.join(', ')} (did a service exit when PostgreSQL died?)`);
  });
  return (Date.now() - since) / 1000;
}

const sizeOf = (n: bigint) => `${n} bytes (${(Number(n) / 1024 / 1024).toFixed(1)} MiB)`;

export const exercise11 = registerExercise({
  number: 11,
  slug: 'postgres-crash-wal',
  title: 'PostgreSQL crashes under load: the write-ahead log replays every committed order',
  pattern: 'write-ahead log (crash recovery)',
  doc: 'docs/exercises/11-postgres-crash-wal.md',
  checkout: {
    modes: 'orchestrated',
    why: "not about checkout outcomes: PostgreSQL's crash recovery of what was committed",
  },
  async run(ctx) {
    const mode = await detectMode(ctx.env);
    if (mode !== 'local') {
      throw new Error(
        `not supported here (${mode}): this exercise reads the data directory of the local stack's PostgreSQL (make up)`,
      );
    }
    const pg = localPostgres(ctx.env);
    ctx.log(`PostgreSQL: data ${pg.dataDir}, binaries ${pg.bin}, log ${pg.logFile}`);
    const product = await productInStock(ctx, SHOPPERS);
    const shoppers = await loadShoppers(ctx, product.id);
    ctx.log(`product ${product.id} (${product.available} available); ${SHOPPERS} fresh shoppers with it in the cart`);

    ctx.step(`checkout load: ${CONCURRENCY} at a time, one checkout per shopper`);
    const load = startLoad(ctx, shoppers);
    ctx.defer('stop the checkout load', () => load.stop());
    await ctx.sleep(LOAD_BEFORE_KILL_MS);
    // A busy shop sheds the first checkouts (503 SHOP_BULKHEAD_FULL, sent again): crash once some went through.
    await waitFor(
      ctx,
      `${ACKNOWLEDGED_BEFORE_KILL} checkouts acknowledged`,
      async () => (load.acknowledged() >= ACKNOWLEDGED_BEFORE_KILL ? true : undefined),
      30_000,
      100,
    );

    ctx.step('SIGKILL PostgreSQL (no shutdown checkpoint: the data files are left as they were)');
    const lsnBeforeKill = await psqlValue(pg, 'SELECT pg_current_wal_lsn()');
    const logOffset = statSync(pg.logFile).size;
    ctx.defer('start PostgreSQL (if it is down)', () => control(ctx, 'start', ['postgres']));
    await control(ctx, 'kill', ['postgres']);
    const killedAt = Date.now();
    ctx.log(`the log was at ${lsnBeforeKill} just before the kill`);

    ctx.step('read the dead cluster: its control file and its write-ahead log');
    const dead = await readDeadCluster(pg);
    const span = dead.lastRecord ? lsnBytes(dead.lastRecord) - lsnBytes(dead.redoFrom) : null;
    ctx.log(
      `pg_controldata: cluster state "${dead.state}", last checkpoint's redo point ${dead.redoFrom} (first records from there: ${dead.firstRecords.join(', ') || '?'})`,
    );
    ctx.log(
      `pg_waldump from ${dead.redoFrom}: ${dead.records.Total ?? 0} records to the last one at ${dead.lastRecord ?? '?'}` +
        `${span !== null ? ` (${sizeOf(span)})` : ''}; ${dead.records['Transaction/COMMIT'] ?? 0} commits, ` +
        `${dead.records['Heap/INSERT'] ?? 0} heap inserts, ${(dead.records['Heap/UPDATE'] ?? 0) + (dead.records['Heap/HOT_UPDATE'] ?? 0)} updates, ` +
        `${sizeOf(BigInt(dead.fullPageBytes))} of full-page images`,
    );
    await ctx.sleep(Math.max(0, killedAt + DOWN_FOR_MS - Date.now()));

    ctx.step('start PostgreSQL: crash recovery replays the log');
    await control(ctx, 'start', ['postgres']);
    const restartedAt = Date.now();
    const recovery = parseRecoveryLog(readFrom(pg.logFile, logOffset));
    for (const line of recovery.lines) ctx.log(`server log: ${line}`);
    const recoveredSeconds = await waitServicesReady(ctx, restartedAt);
    ctx.log(
      `every service ready ${recoveredSeconds.toFixed(1)} s after PostgreSQL was (down ${((restartedAt - killedAt) / 1000).toFixed(1)} s)`,
    );

    const attempts = await load.done;
    const placed = attempts.flatMap((a) => (a.placed ? [a.placed] : []));
    const before = placed.filter((p) => p.acceptedAt < killedAt);
    // Nothing can be accepted while PostgreSQL is down (an acceptance is a commit), so whatever
    // was accepted after the kill was accepted after the restart — also in the moment between
    // PostgreSQL taking connections again and `shopctl start` returning, when the load's retries
    // may already go through.
    const after = placed.filter((p) => p.acceptedAt >= killedAt);
    const refusals = attempts.flatMap((a) => a.refusals);
    const gaveUp = attempts.flatMap((a) => (a.gaveUp ? [a.gaveUp] : []));
    const retriedThrough = attempts.filter((a) => a.placed && a.refusals.length > 0).length;
    ctx.log(
      `${attempts.length} checkouts: ${before.length} acknowledged before the crash, ${after.length} after the restart ` +
        `(${retriedThrough} of them refused first, then sent again with the same key); refusals: ${describeTally(tally(refusals)) || 'none'}; ` +
        `given up: ${gaveUp.length}`,
    );

    ctx.step('every acknowledged order: still there, and ended');
    const ended: EndedOrder[] = await waitAllEnded(ctx, placed, 75_000);
    const endedBefore = ended.filter((e) => e.acceptedAt < killedAt);
    const endedAfter = ended.filter((e) => e.acceptedAt >= killedAt);
    const serverErrors = refusals.filter((r) => r.startsWith('500'));
    ctx.log(`orders ended ${describeSeconds(ended.map((e) => e.secondsToEnd))} after they were acknowledged`);
    return [
      check(
        'PostgreSQL died with its data files out of date: the control file says it was never shut down, the log holds the commits since the checkpoint',
        dead.state === 'in production' && dead.lastRecord !== null && (dead.records['Transaction/COMMIT'] ?? 0) > 0,
        `pg_controldata: "${dead.state}"; redo point ${dead.redoFrom}`,
        `pg_waldump ${dead.redoFrom} → ${dead.lastRecord ?? '?'}: ${dead.records.Total ?? 0} records, ${dead.records['Transaction/COMMIT'] ?? 0} of them commits`,
      ),
      check(
        'recovery replayed exactly that range: the server log\'s "redo starts at … redo done at" is what pg_controldata and pg_waldump read from the dead cluster',
        recovery.crashed &&
          recovery.redoStarts !== null &&
          lsnBytes(recovery.redoStarts) >= lsnBytes(dead.redoFrom) &&
          dead.firstRecords.some((r) => sameLsn(r, recovery.redoStarts)) &&
          sameLsn(recovery.redoDone, dead.lastRecord) &&
          recovery.redoDone !== null,
        `server log: redo starts at ${recovery.redoStarts ?? '?'}, redo done at ${recovery.redoDone ?? '?'} (crash recovery: ${recovery.crashed})`,
        `dead cluster: redo point ${dead.redoFrom}, its first records ${dead.firstRecords.join(', ') || '?'}, the last record ${dead.lastRecord ?? '?'}; the log was at ${lsnBeforeKill} just before the kill`,
      ),
      check(
        'nothing committed was lost: every order acknowledged before the crash is there and ended (the audit after the run checks the rest of the shop)',
        before.length > 0 && endedBefore.length === before.length,
        `${before.length} acknowledged before the crash: ${describeTally(tally(endedBefore.map((e) => e.order.status)))}`,
        `orders ended ${describeSeconds(ended.map((e) => e.secondsToEnd))} after they were acknowledged`,
      ),
      check(
        'the shop recovered by itself: checkouts while PostgreSQL was down were refused, not accepted and lost, and the ones after the restart confirm',
        serverErrors.length === 0 &&
          gaveUp.length === 0 &&
          after.length > 0 &&
          endedAfter.every((e) => e.order.status === 'CONFIRMED'),
        `refusals while it was down: ${describeTally(tally(refusals)) || 'none'}; ${retriedThrough} checkouts sent again with the same key went through after the restart, ${gaveUp.length} gave up`,
        `every service ready ${recoveredSeconds.toFixed(1)} s after the restart; ${after.length} checkouts after it: ${describeTally(tally(endedAfter.map((e) => e.order.status)))}`,
      ),
    ];
  },
});
