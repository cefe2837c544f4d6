// Exercise 20: the ambassador. Payment's authorizations go to an outside card network that is
// made flaky (a share refused, a share answered too late); through the ambassador beside payment
// (HAProxy) the retries are absorbed and counted there; with payment pointed straight at the
// network the failures reach payment, which retries itself. Then an outage opens the
// ambassador's circuit and heals (docs/exercises/20-card-network-ambassador.md).

import type { Shopper } from '../api';
import { adminBaseUrl, requestJson } from '../api';
import { registerExercise } from './registry';
import {
  attemptsOf,
  checkoutAll,
  describeMs,
  describeTally,
  type EndedOrder,
  productInStock,
  tally,
  waitAllEnded,
} from './support';
import { check, type ExerciseContext } from './types';

const SHOPPERS = 6;
/** The flaky network: 30 % refused before deciding, 20 % decided but answered after 1.5 s (the network spreads each share evenly). */
const FLAKY = { errorRate: 0.3, slowRate: 0.2, slowMs: 1_500 };
const HEALTHY = { errorRate: 0, slowRate: 0, slowMs: 0 };
/** How long the outage lasts once the circuit is seen open. */
const OUTAGE_MS = 3_000;

type Mode = 'ambassador' | 'direct' | 'in-process';
interface Counts {
  calls: number;
  attempts: number;
  retries: number;
  errors: number;
  unavailable: number;
  approved: number;
  declined: number;
}
interface PaymentSwitch {
  mode: Mode;
  counts: Record<'ambassador' | 'direct', Counts>;
}
interface NetworkStats {
  authorizations: number;
  approved: number;
  declined: number;
  replays: number;
}
/** The card network server's row of the ambassador's stats page. */
interface ServerRow {
  status: string;
  retries: number;
  /** Calls sent to the network (tries included). */
  sent: number;
  downs: number;
}

/**
 * Where the card network's admin listener (its faults, stats and chaos) and the ambassador's stats
 * page are (the native stack's ports by default).
 */
function endpoints(ctx: ExerciseContext) {
  return {
    network: adminBaseUrl('card-network', ctx.env),
    stats: (ctx.env.SHOPLAB_AMBASSADOR_STATS_URL ?? 'http://127.0.0.1:18091').replace(/\/+$/, ''),
    ambassador: (ctx.env.SHOPLAB_AMBASSADOR_URL ?? 'http://127.0.0.1:18090').replace(/\/+$/, ''),
  };
}

const paymentSwitch = (ctx: ExerciseContext) =>
  ctx.admin.request<PaymentSwitch>('payment', 'GET', '/v1/admin/card-network');
const setMode = (ctx: ExerciseContext, mode: Mode) =>
  ctx.admin.request<PaymentSwitch>('payment', 'PUT', '/v1/admin/card-network', { body: { mode } });
const networkStats = (ctx: ExerciseContext) =>
  requestJson<NetworkStats>('GET', `${endpoints(ctx).network}/v1/admin/stats`, { token: ctx.adminToken });
const setFaults = (ctx: ExerciseContext, faults: typeof FLAKY) =>
  requestJson('PUT', `${endpoints(ctx).network}/v1/admin/faults`, { token: ctx.adminToken, body: faults });
const chaos = (ctx: ExerciseContext, method: 'PUT' | 'DELETE', body?: object) =>
  requestJson(method, `${endpoints(ctx).network}/admin/chaos`, {
    token: ctx.adminToken,
    ...(body ? { body } : {}),
  });

async function serverRow(ctx: ExerciseContext): Promise<ServerRow> {
  const res = await fetch(`${endpoints(ctx).stats}/stats;csv`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`the ambassador's stats page answered ${res.status}`);
  const [head = '', ...rows] = (await res.text()).trim().split('\n');
  const names = head.replace(/^# /, '').split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'card_network' && r[1] === 'card-network');
  if (!row) throw new Error("the ambassador's stats have no card-network server");
  const field = (name: string) => row[names.indexOf(name)] ?? '';
  return {
    status: field('status'),
    retries: Number(field('wretr')),
    sent: Number(field('stot')),
    downs: Number(field('chkdown')),
  };
}

interface PhaseResult {
  mode: Mode;
  ended: EndedOrder[];
  /** Saga Authorize attempts: how long each took, which failed. */
  authorizeMs: number[];
  failedAttempts: number;
  payment: Counts;
  network: NetworkStats;
  ambassadorRetries: number;
}

/** Shoppers made three at a time (sign-ups are the user service's slowest call; this exercise is about payment). */
async function shoppersInBatches(ctx: ExerciseContext, n: number): Promise<Shopper[]> {
  const made: Shopper[] = [];
  for (let i = 0; i < n; i += 3) {
    const batch = Array.from({ length: Math.min(3, n - i) }, () =>
      ctx.shop.newShopper({ emailPrefix: ctx.runId, name: `exercise ${ctx.exercise.number}` }),
    );
    made.push(...(await Promise.all(batch)));
  }
  return made;
}

const delta = <T extends object>(after: T, before: T): T =>
  Object.fromEntries(
    Object.entries(after).map(([k, v]) => [k, (v as number) - (before as Record<string, number>)[k]]),
  ) as T;

/** The same shoppers for every phase (sign-ups are rate limited per address): each cart filled again once the last order cleared it. */
async function fillCarts(ctx: ExerciseContext, shoppers: Shopper[], productId: string): Promise<void> {
  const until = Date.now() + 20_000;
  await Promise.all(
    shoppers.map(async (shopper) => {
      while ((await shopper.getCart()).lines.length > 0) {
        if (Date.now() > until) throw new Error('a cart was not cleared by its confirmed order within 20 s');
        await ctx.sleep(200);
      }
      await shopper.addToCart(productId, 1);
    }),
  );
}

async function phase(
  ctx: ExerciseContext,
  shoppers: Shopper[],
  productId: string,
  mode: 'ambassador' | 'direct',
): Promise<PhaseResult> {
  ctx.step(
    mode === 'ambassador'
      ? 'AFTER: payment → ambassador (HAProxy) → flaky card network'
      : 'BEFORE: payment → flaky card network, straight, with its own timeout and retries',
  );
  await setMode(ctx, mode);
  ctx.log(`PUT payment /v1/admin/card-network {"mode":"${mode}"}`);
  await fillCarts(ctx, shoppers, productId);
  const before = {
    payment: (await paymentSwitch(ctx)).counts[mode],
    network: await networkStats(ctx),
    row: await serverRow(ctx),
  };
  const placed = await checkoutAll(ctx, shoppers);
  const ended = await waitAllEnded(ctx, placed, 40_000);
  const after = {
    payment: (await paymentSwitch(ctx)).counts[mode],
    network: await networkStats(ctx),
    row: await serverRow(ctx),
  };
  const attempts = ended.flatMap((e) => attemptsOf(e.order, 'authorize_payment'));
  const result: PhaseResult = {
    mode,
    ended,
    authorizeMs: attempts.map((a) => a.ms ?? 0),
    failedAttempts: attempts.filter((a) => a.outcome === 'FAILED').length,
    payment: delta(after.payment, before.payment),
    network: delta(after.network, before.network),
    ambassadorRetries: after.row.retries - before.row.retries,
  };
  ctx.log(`orders: ${describeTally(tally(ended.map((e) => e.order.status)))}`);
  ctx.log(`saga Authorize attempts: ${describeMs(result.authorizeMs)}, ${result.failedAttempts} failed`);
  ctx.log(
    `payment (${mode}): ${result.payment.calls} calls, ${result.payment.attempts} attempts, ${result.payment.retries} own retries, ` +
      `${result.payment.errors} errors seen, ${result.payment.unavailable} gave up (SHOP_DEPENDENCY_UNAVAILABLE)`,
  );
  ctx.log(`ambassador: ${result.ambassadorRetries} retries`);
  ctx.log(
    `card network: ${result.network.authorizations} authorizations decided, ${result.network.replays} replays of a key it had decided`,
  );
  return result;
}

export const exercise20 = registerExercise({
  number: 20,
  slug: 'card-network-ambassador',
  title: "Ambassador: HAProxy beside payment owns the card network's retries, timeouts and circuit",
  pattern: 'ambassador',
  doc: 'docs/exercises/20-card-network-ambassador.md',
  checkout: {
    modes: 'orchestrated',
    why: "not about checkout outcomes: payment's ambassador to the card network",
  },
  async run(ctx) {
    const start = await paymentSwitch(ctx);
    ctx.log(`payment's card network switch: ${start.mode}; ambassador server ${(await serverRow(ctx)).status}`);
    const product = await productInStock(ctx, 2 * SHOPPERS + 2);
    ctx.defer(`payment's card network switch back to ${start.mode}`, () => setMode(ctx, start.mode));
    ctx.defer('the card network healthy again', async () => {
      await setFaults(ctx, HEALTHY);
      await chaos(ctx, 'DELETE');
    });
    await setFaults(ctx, FLAKY);
    ctx.log(
      `card network flaky: ${FLAKY.errorRate * 100} % refused (503), ${FLAKY.slowRate * 100} % answered ${FLAKY.slowMs} ms late`,
    );

    const shoppers = await shoppersInBatches(ctx, SHOPPERS);
    const amb = await phase(ctx, shoppers, product.id, 'ambassador');
    const direct = await phase(ctx, shoppers, product.id, 'direct');

    ctx.step('an outage: the ambassador opens its circuit, checkouts wait in their sagas, and it heals');
    await setFaults(ctx, HEALTHY);
    await setMode(ctx, 'ambassador');
    const downsBefore = (await serverRow(ctx)).downs;
    await chaos(ctx, 'PUT', {
      kind: 'http',
      target: 'POST /v1/authorizations',
      fault: { type: 'fail' },
      durationSeconds: 60,
    });
    const outageShoppers = shoppers.slice(0, 2);
    await fillCarts(ctx, outageShoppers, product.id);
    const outagePlaced = await checkoutAll(ctx, outageShoppers);
    let open: ServerRow | undefined;
    const openBy = Date.now() + 15_000;
    while (Date.now() < openBy) {
      // As payment would: calls through the ambassador until its circuit opens.
      await fetch(`${endpoints(ctx).ambassador}/v1/authorizations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${ctx.runId}-probe-${Date.now()}` },
        body: JSON.stringify({ pan: '4242424242424242', expMonth: 12, expYear: 2030, amount: 1, currency: 'USD' }),
      }).catch(() => undefined);
      const row = await serverRow(ctx);
      if (row.status.startsWith('DOWN')) {
        open = row;
        break;
      }
      await ctx.sleep(100);
    }
    ctx.log(`ambassador server: ${open ? `${open.status} (circuit open)` : 'never seen down'}`);
    let fastFailMs = Number.NaN;
    let fastFailStatus = 0;
    let sentWhileOpen = Number.NaN;
    if (open) {
      const t = Date.now();
      const res = await fetch(`${endpoints(ctx).ambassador}/v1/authorizations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${ctx.runId}-open` },
        body: JSON.stringify({ pan: '4242424242424242', expMonth: 12, expYear: 2030, amount: 1, currency: 'USD' }),
      });
      fastFailMs = Date.now() - t;
      fastFailStatus = res.status;
      const after = await serverRow(ctx);
      // Only when it stayed open: a health check may have let a trial through in between.
      if (after.status.startsWith('DOWN')) sentWhileOpen = after.sent - open.sent;
      ctx.log(
        `a call while open: ${fastFailStatus} in ${fastFailMs} ms, ${Number.isNaN(sentWhileOpen) ? 'the circuit closed for a trial meanwhile' : `${sentWhileOpen} calls sent to the network`}`,
      );
    }
    await ctx.sleep(OUTAGE_MS);
    await chaos(ctx, 'DELETE');
    ctx.log('outage over; waiting for the ambassador to answer again and the outage checkouts to end');
    let healedAfterMs = Number.NaN;
    const healedAt = Date.now();
    while (Date.now() - healedAt < 15_000) {
      const res = await fetch(`${endpoints(ctx).ambassador}/v1/authorizations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${ctx.runId}-healed-${Date.now()}` },
        body: JSON.stringify({ pan: '4242424242424242', expMonth: 12, expYear: 2030, amount: 1, currency: 'USD' }),
      }).catch(() => undefined);
      if (res?.status === 200 && (await serverRow(ctx)).status === 'UP') {
        healedAfterMs = Date.now() - healedAt;
        break;
      }
      await ctx.sleep(200);
    }
    const outageEnded = await waitAllEnded(ctx, outagePlaced, 40_000);
    const outageCodes = outageEnded.flatMap((e) =>
      attemptsOf(e.order, 'authorize_payment')
        .filter((a) => a.outcome === 'FAILED')
        .map((a) => a.code ?? 'none'),
    );
    ctx.log(
      `outage orders: ${describeTally(tally(outageEnded.map((e) => e.order.status)))}; their failed Authorize attempts: ${describeTally(tally(outageCodes))}`,
    );
    const downs = (await serverRow(ctx)).downs - downsBefore;

    const confirmed = (r: PhaseResult) => r.ended.filter((e) => e.order.status === 'CONFIRMED').length;
    return [
      check(
        'through the ambassador the flaky network is absorbed: every checkout confirmed, the retries made by HAProxy',
        confirmed(amb) === SHOPPERS && amb.ambassadorRetries > 0,
        `orders: ${describeTally(tally(amb.ended.map((e) => e.order.status)))}; saga Authorize attempts ${describeMs(amb.authorizeMs)}, ${amb.failedAttempts} failed`,
        `ambassador retries: ${amb.ambassadorRetries}; payment's own retries: ${amb.payment.retries} (it made ${amb.payment.calls} calls, ${amb.payment.errors} came back failed)`,
      ),
      check(
        'a retried authorization is not doubled: the network decides each order once, however many tries',
        amb.network.authorizations === confirmed(amb) &&
          direct.network.authorizations >= confirmed(direct) &&
          direct.network.authorizations <= SHOPPERS,
        `ambassador phase: ${amb.network.authorizations} decided for ${SHOPPERS} orders, ${amb.network.replays} replays (a late answer given up on, its retry answered from the key)`,
        `direct phase: ${direct.network.authorizations} decided for ${SHOPPERS} orders, ${direct.network.replays} replays`,
      ),
      check(
        'pointed straight at the network, the failures reach payment, which retries them itself',
        direct.payment.errors > 0 && direct.payment.retries > 0 && direct.ambassadorRetries === 0,
        `payment (direct): ${direct.payment.attempts} attempts for ${direct.payment.calls} calls, ${direct.payment.errors} failed, ${direct.payment.retries} retried by payment, ${direct.payment.unavailable} gave up`,
        `orders: ${describeTally(tally(direct.ended.map((e) => e.order.status)))}; saga Authorize attempts ${describeMs(direct.authorizeMs)}, ${direct.failedAttempts} failed`,
      ),
      check(
        "an outage opens the ambassador's circuit (fail fast, the network spared) and it closes by itself",
        open !== undefined &&
          fastFailStatus === 503 &&
          fastFailMs < 500 &&
          (Number.isNaN(sentWhileOpen) || sentWhileOpen === 0) &&
          healedAfterMs >= 0 &&
          downs >= 1,
        `circuit ${open ? 'opened' : 'never opened'} (${downs} times marked down); a call while open: ${fastFailStatus} in ${fastFailMs} ms, ${Number.isNaN(sentWhileOpen) ? 'a trial let through meanwhile' : `${sentWhileOpen} calls sent to the network`}`,
        'while the network stays down, its health check (GET /healthz every second) lets a trial through now and then: the half-open state',
        `answering again ${Number.isNaN(healedAfterMs) ? 'never' : `${(healedAfterMs / 1000).toFixed(1)} s`} after the network was healthy`,
      ),
      check(
        'the outage never reaches order as an error of payment: Authorize answers UNAVAILABLE, the saga retries, the orders end',
        outageEnded.length === outagePlaced.length &&
          outageCodes.every(
            (c) => c === 'SHOP_DEPENDENCY_UNAVAILABLE' || c === 'SHOP_CIRCUIT_OPEN' || c === 'SHOP_TIMEOUT',
          ),
        `outage orders: ${describeTally(tally(outageEnded.map((e) => e.order.status)))}; failed attempts by code: ${describeTally(tally(outageCodes))}`,
      ),
    ];
  },
});
