// Exercise 12: the outbox relay two ways. The same checkouts run with the order service's relay
// polling its outbox table (woken by NOTIFY) and then tailing PostgreSQL's write-ahead log
// through a logical replication slot; the publish lag of each is measured from order's
// shop_outbox_publish_lag_seconds and printed side by side, and the slot's position shown.
// Then, in WAL mode, order's relay is made to fail, events pile up unpublished behind the
// slot's confirmed position, and order is killed (SIGKILL) and started again in WAL mode:
// every event is published, the slot confirmed past them, nothing lost
// (docs/exercises/12-outbox-wal-relay.md, docs/patterns/write-ahead-log.md, ADR 0035).
import { ApiError, type RelayMode, type RelayStatus, type Shopper } from '../api';
import { runControl } from '../control';
import { waitFor } from './messaging-support';
import { registerExercise } from './registry';
import {
  checkoutAll,
  control,
  describeTally,
  type EndedOrder,
  productInStock,
  scrape,
  shoppersWithCart,
  sumSamples,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

/** Checkouts per relay mode, and in the kill phase. */
const SHOPPERS = 6;
const KILL_SHOPPERS = 4;
const LAG = 'shop_outbox_publish_lag_seconds';

interface LoadResult {
  mode: RelayMode;
  ended: EndedOrder[];
  /** Rows order's relay published during the phase, and their publish lag (from its histogram). */
  published: number;
  meanLagMs: number;
  /** Share of the phase's rows published within 50 ms and 250 ms (histogram buckets). */
  within50ms: number;
  within250ms: number;
  drained: boolean;
}

interface LagSnapshot {
  sum: number;
  count: number;
  le050: number;
  le250: number;
}

async function lagSnapshot(ctx: ExerciseContext): Promise<LagSnapshot> {
  const page = await scrape(ctx.serviceUrl('order'));
  return {
    sum: sumSamples(page, `${LAG}_sum`),
    count: sumSamples(page, `${LAG}_count`),
    le050: sumSamples(page, `${LAG}_bucket`, { le: '0.05' }),
    le250: sumSamples(page, `${LAG}_bucket`, { le: '0.25' }),
  };
}

/**
 * `n` shoppers with the product in their cart, registered three at a time: registration hashes
 * a password, and on a busy machine a burst of them outlasts the gateway's 2 s deadline. A
 * registration refused that way (503, 504) is tried again with a new e-mail address.
 */
async function shoppers(ctx: ExerciseContext, n: number, productId: string): Promise<Shopper[]> {
  let refused = 0;
  const one = async (): Promise<Shopper> => {
    for (;;) {
      try {
        const [shopper] = await shoppersWithCart(ctx, 1, productId);
        if (shopper) return shopper;
      } catch (err) {
        if (!(err instanceof ApiError) || (err.status !== 503 && err.status !== 504) || ++refused > 10) throw err;
        await ctx.sleep(1_000);
      }
    }
  };
  const all: Shopper[] = [];
  while (all.length < n) {
    all.push(...(await Promise.all(Array.from({ length: Math.min(3, n - all.length) }, one))));
  }
  return all;
}

function describeSlot(status: RelayStatus): string {
  const slot = status.slot;
  if (!slot) return `relay ${status.mode}: no replication slot`;
  return (
    `relay ${status.mode}${status.tailing ? ' (streaming)' : ''}: slot ${slot.name} ${slot.active ? 'active' : 'inactive'}, ` +
    `confirmed_flush_lsn ${slot.confirmedFlushLsn ?? 'none'}, pg_current_wal_lsn ${slot.currentLsn}, ` +
    `WAL kept for it ${(slot.retainedBytes / 1024).toFixed(0)} KiB`
  );
}

/** An LSN (`16/B374D848`) as a number, to compare positions. */
export function lsnValue(lsn: string | null | undefined): bigint {
  const [high, low] = (lsn ?? '0/0').split('/');
  return (BigInt(`0x${high || '0'}`) << 32n) + BigInt(`0x${low || '0'}`);
}

function orderDrained(ctx: ExerciseContext, timeoutMs: number): Promise<true> {
  return waitFor(
    ctx,
    "order's outbox published",
    async () => ((await ctx.admin.outbox('order')).unpublished === 0 ? true : undefined),
    timeoutMs,
    250,
  );
}

/** The same checkout load with order's relay in `mode`; the publish lag of the rows it wrote. */
async function load(ctx: ExerciseContext, productId: string, mode: RelayMode): Promise<LoadResult> {
  await ctx.admin.setRelayMode('order', mode);
  // Rows of earlier work first: the lag measured is this load's.
  await orderDrained(ctx, 20_000);
  const load = await shoppers(ctx, SHOPPERS, productId);
  const before = await lagSnapshot(ctx);
  const placed = await checkoutAll(ctx, load);
  const ended = await waitAllEnded(ctx, placed, 30_000);
  const drained = await orderDrained(ctx, 20_000).catch(() => false as const);
  const after = await lagSnapshot(ctx);
  const published = after.count - before.count;
  const share = (n: number) => (published > 0 ? n / published : 0);
  const result: LoadResult = {
    mode,
    ended,
    published,
    meanLagMs: published > 0 ? ((after.sum - before.sum) / published) * 1000 : 0,
    within50ms: share(after.le050 - before.le050),
    within250ms: share(after.le250 - before.le250),
    drained: drained === true,
  };
  ctx.log(
    `${mode}: ${ended.length} orders (${describeTally(tally(ended.map((e) => e.order.status)))}), ` +
      `${published} rows published, mean lag ${result.meanLagMs.toFixed(1)} ms, ` +
      `${(result.within50ms * 100).toFixed(0)} % within 50 ms, ${(result.within250ms * 100).toFixed(0)} % within 250 ms`,
  );
  return result;
}

export const exercise12 = registerExercise({
  number: 12,
  slug: 'outbox-wal-relay',
  title: 'The outbox relay polls the table, then tails the write-ahead log',
  pattern: 'transaction log tailing (logical replication) vs a polling outbox relay',
  doc: 'docs/exercises/12-outbox-wal-relay.md',
  checkout: {
    modes: 'orchestrated',
    why: "not about checkout outcomes: order's outbox relay, polling then tailing the WAL",
  },
  async run(ctx) {
    const product = await productInStock(ctx, 2 * SHOPPERS + KILL_SHOPPERS);
    ctx.defer("order's relay back to polling (its slot dropped)", () => ctx.admin.setRelayMode('order', 'poll'));

    ctx.step('the same checkouts with the relay polling the table, then tailing the WAL');
    const poll = await load(ctx, product.id, 'poll');
    const pollStatus = await ctx.admin.relayStatus('order');
    ctx.log(describeSlot(pollStatus));
    const walBefore = await ctx.admin.setRelayMode('order', 'wal').then(() => ctx.admin.relayStatus('order'));
    ctx.log(describeSlot(walBefore));
    const wal = await load(ctx, product.id, 'wal');
    const walAfter = await ctx.admin.relayStatus('order');
    ctx.log(describeSlot(walAfter));

    ctx.step('WAL mode: the relay fails, events pile up behind the slot, order is killed and started again');
    ctx.defer('clear the relay fault on order', () => ctx.admin.chaosClear('order'));
    await ctx.admin.chaosSet('order', {
      kind: 'relay',
      target: 'outbox',
      fault: { type: 'fail' },
      durationSeconds: 60,
    });
    const placed = await checkoutAll(ctx, await shoppers(ctx, KILL_SHOPPERS, product.id));
    const ended = await waitAllEnded(ctx, placed, 30_000);
    const held = await ctx.admin.outbox('order');
    const heldStatus = await ctx.admin.relayStatus('order');
    ctx.log(`${ended.length} orders ended; order's outbox holds ${held.unpublished} unpublished rows`);
    ctx.log(describeSlot(heldStatus));
    ctx.defer('start the order service (if it is not running)', () => control(ctx, 'start', 'order'));
    await control(ctx, 'kill', 'order');
    ctx.log('order killed (SIGKILL); starting it with OUTBOX_RELAY_MODE=wal');
    const lines: string[] = [];
    const keep = (text: string) => lines.push(...text.split('\n').filter((l) => l.trim()));
    const code = await runControl('start', ['order'], {
      env: { ...ctx.env, OUTBOX_RELAY_MODE: 'wal' },
      out: keep,
      err: keep,
    });
    for (const line of lines) ctx.log(line);
    if (code !== 0) throw new Error(`shopctl start order failed (exit status ${code})`);
    await ctx.orderStarted();
    const restartedAt = Date.now();
    const drained = await orderDrained(ctx, 30_000).then(
      () => (Date.now() - restartedAt) / 1000,
      () => null,
    );
    const resumed = await waitFor(
      ctx,
      "order's relay streaming from its slot",
      async () => {
        const s = await ctx.admin.relayStatus('order');
        return s.tailing && lsnValue(s.slot?.confirmedFlushLsn) > lsnValue(heldStatus.slot?.confirmedFlushLsn)
          ? s
          : undefined;
      },
      20_000,
    ).catch(() => undefined);
    const afterKill = resumed ?? (await ctx.admin.relayStatus('order'));
    ctx.log(
      `after the restart: ${drained === null ? 'rows still unpublished' : `every row published ${drained.toFixed(1)} s after the start`}`,
    );
    ctx.log(describeSlot(afterKill));

    ctx.step('back to polling: the slot is dropped');
    await ctx.admin.setRelayMode('order', 'poll');
    const back = await ctx.admin.relayStatus('order');
    ctx.log(describeSlot(back));

    const lagLine = (r: LoadResult) =>
      `${r.mode.padEnd(4)}: mean publish lag ${r.meanLagMs.toFixed(1)} ms over ${r.published} rows, ` +
      `${(r.within50ms * 100).toFixed(0)} % within 50 ms, ${(r.within250ms * 100).toFixed(0)} % within 250 ms`;
    return [
      check(
        'the same checkouts under both relay modes: every order ended and every row order wrote was published',
        [poll, wal].every((r) => r.ended.length === SHOPPERS && r.drained && r.published > 0),
        lagLine(poll),
        lagLine(wal),
        `orders: poll ${describeTally(tally(poll.ended.map((e) => e.order.status)))}, wal ${describeTally(tally(wal.ended.map((e) => e.order.status)))}`,
      ),
      check(
        'in WAL mode the relay streams from its own slot, whose confirmed position moves on with what was published',
        pollStatus.slot === null &&
          walAfter.tailing &&
          walAfter.slot?.active === true &&
          lsnValue(walAfter.slot.confirmedFlushLsn) > lsnValue(walBefore.slot?.confirmedFlushLsn),
        `poll mode: ${pollStatus.slot === null ? 'no slot' : `a slot ${pollStatus.slot.name}`}`,
        `switched to wal: confirmed_flush_lsn ${walBefore.slot?.confirmedFlushLsn ?? 'none'}; after the load ${walAfter.slot?.confirmedFlushLsn ?? 'none'}`,
      ),
      check(
        'a relay fault holds the events back in the outbox, the slot confirms none of them, and after a SIGKILL and a start in WAL mode every one is published',
        held.unpublished > 0 &&
          drained !== null &&
          resumed !== undefined &&
          afterKill.mode === 'wal' &&
          lsnValue(afterKill.slot?.confirmedFlushLsn) > lsnValue(heldStatus.slot?.confirmedFlushLsn),
        `before the kill: ${held.unpublished} rows unpublished, slot confirmed at ${heldStatus.slot?.confirmedFlushLsn ?? 'none'} (${heldStatus.slot ? (heldStatus.slot.retainedBytes / 1024).toFixed(0) : 0} KiB kept)`,
        `after the start: relay ${afterKill.mode}${afterKill.tailing ? ' streaming' : ''}, every row published ${drained === null ? 'never' : `${drained.toFixed(1)} s after the start`}, slot confirmed at ${afterKill.slot?.confirmedFlushLsn ?? 'none'}`,
      ),
      check(
        'switched back to polling, the slot is gone (an unread slot would keep WAL forever)',
        back.mode === 'poll' && back.slot === null,
        describeSlot(back),
      ),
    ];
  },
});
