// Exercise 8: one of two catalog instances dies; the Consul double's health check marks it
// critical, the cart's registry (a blocking query) drops it, and every call goes to the
// survivor; restarted, it takes traffic again. The local stack uses a static registry, so the
// exercise brings up its own topology (infra/local/discovery-lab.sh): the Consul DOUBLE (a test
// double of Consul's HTTP API, not Consul), catalog-a, catalog-b and cart-x in consul mode
// (docs/exercises/08-instance-dies-discovery.md).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { requestJson } from '../api';
import { repoRoot } from '../control';
import { registerExercise } from './registry';
import { productInStock, scrape, sumSamples } from './support';
import { check, type ExerciseContext } from './types';

export const LAB = {
  consul: 'http://127.0.0.1:18500',
  catalogA: 'http://127.0.0.1:18182',
  catalogB: 'http://127.0.0.1:18282',
  cartX: 'http://127.0.0.1:18183',
} as const;
/** ConsulRegistry's check interval (packages/chassis/src/discovery.ts): how often the double probes /readyz. */
const CHECK_INTERVAL_S = 10;
const PHASE_MS = 5_000;
const WORKERS = 2;
const PAUSE_MS = 100;

/** `infra/local/discovery-lab.sh <args>`; its lines go to the exercise log; throws when it fails. */
export function lab(ctx: ExerciseContext, ...args: string[]): Promise<void> {
  const root = repoRoot(ctx.env);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, 'infra/local/discovery-lab.sh'), ...args], {
      cwd: root,
      env: ctx.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    const lines = (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) if (line.trim()) ctx.log(line.trim());
    };
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending.trim()) ctx.log(pending.trim());
      if (code === 0) resolve();
      else reject(new Error(`discovery-lab.sh ${args.join(' ')} failed with exit status ${code}`));
    });
  });
}

/** The instance ids the double reports as passing for `service`. */
async function passing(service: string): Promise<string[]> {
  const entries = await requestJson<{ Service: { ID: string } }[]>(
    'GET',
    `${LAB.consul}/v1/health/service/${service}?passing`,
    { timeoutMs: 2_000 },
  );
  return entries.map((e) => e.Service.ID).sort();
}

async function waitPassing(ctx: ExerciseContext, want: string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const now = await passing('catalog').catch(() => []);
    if (now.join() === [...want].sort().join()) return (Date.now() - started) / 1000;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`the double lists [${now.join(', ')}] as passing, not [${want.join(', ')}]`);
    }
    await ctx.sleep(200);
  }
}

/** Catalog calls served by one instance so far (0 when it does not answer). */
async function served(baseUrl: string): Promise<number> {
  try {
    return sumSamples(await scrape(baseUrl), 'shop_grpc_server_handling_seconds_count', {
      service: 'catalog.v1.CatalogService',
    });
  } catch {
    return 0;
  }
}

/** cart-x's attempts at the catalog that failed as UNAVAILABLE (a dead instance's signature). */
async function unavailableAttempts(): Promise<number> {
  return sumSamples(await scrape(LAB.cartX), 'shop_grpc_client_handling_seconds_count', {
    target: 'catalog',
    code: 'UNAVAILABLE',
  });
}

interface Traffic {
  requests: number;
  failed: number;
  failures: string[];
  /** Times of failed requests (ms since epoch). */
  failedAt: number[];
}

/**
 * A shopper's cart changes on cart-x, each one checked against the catalog (quantity 1, 2, 1, …),
 * until `until()` says stop.
 */
async function drive(ctx: ExerciseContext, token: string, productId: string, until: () => boolean): Promise<Traffic> {
  const traffic: Traffic = { requests: 0, failed: 0, failures: [], failedAt: [] };
  const worker = async (w: number) => {
    for (let i = w; !until() && !ctx.signal.aborted; i += WORKERS) {
      traffic.requests++;
      try {
        await requestJson('PATCH', `${LAB.cartX}/v1/cart/items/${encodeURIComponent(productId)}`, {
          token,
          body: { quantity: 1 + (i % 2) },
          timeoutMs: 3_000,
        });
      } catch (err) {
        traffic.failed++;
        traffic.failedAt.push(Date.now());
        if (traffic.failures.length < 3) traffic.failures.push((err as Error).message.slice(0, 160));
      }
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return traffic;
}

async function phase(ctx: ExerciseContext, token: string, productId: string, label: string) {
  const before = { a: await served(LAB.catalogA), b: await served(LAB.catalogB), x: await unavailableAttempts() };
  const end = Date.now() + PHASE_MS;
  const traffic = await drive(ctx, token, productId, () => Date.now() >= end);
  const after = { a: await served(LAB.catalogA), b: await served(LAB.catalogB), x: await unavailableAttempts() };
  const result = {
    traffic,
    a: after.a - before.a,
    b: Math.max(0, after.b - before.b),
    unavailable: after.x - before.x,
  };
  ctx.log(
    `${label}: ${traffic.requests} cart changes (${traffic.failed} failed); catalog-a served ${result.a} calls, ` +
      `catalog-b ${result.b}; cart-x attempts that hit a dead instance: ${result.unavailable}`,
  );
  return result;
}

function share(part: number, whole: number): string {
  return whole === 0 ? '0 %' : `${Math.round((100 * part) / whole)} %`;
}

export const exercise08 = registerExercise({
  number: 8,
  slug: 'instance-dies-discovery',
  title: 'An instance dies: discovery stops sending it traffic',
  pattern: 'service discovery with health checks, client-side load balancing',
  doc: 'docs/exercises/08-instance-dies-discovery.md',
  checkout: {
    modes: 'orchestrated',
    why: 'not about checkout outcomes: which catalog instance discovery sends traffic to',
  },
  async run(ctx) {
    ctx.step('bring up the lab: the Consul double, catalog-a, catalog-b, cart-x (consul mode)');
    ctx.defer('tear the discovery lab down', () => lab(ctx, 'down'));
    await lab(ctx, 'up');
    await waitPassing(ctx, ['catalog-lab-a', 'catalog-lab-b'], 30_000);
    ctx.log('the double lists catalog-lab-a and catalog-lab-b as passing');

    const product = await productInStock(ctx, 2);
    const shopper = await ctx.shop.newShopper({ emailPrefix: ctx.runId, name: 'exercise 8' });
    await requestJson('POST', `${LAB.cartX}/v1/cart/items`, {
      token: shopper.token,
      body: { productId: product.id, quantity: 1 },
    });

    ctx.step(`both instances healthy: cart changes on cart-x for ${PHASE_MS / 1000} s`);
    const both = await phase(ctx, shopper.token, product.id, 'both up');

    ctx.step('SIGKILL catalog-b, keep changing the cart');
    // No undo of its own: whatever happens, the lab's teardown (deferred above) stops every member.
    const xBefore = await unavailableAttempts();
    await lab(ctx, 'kill', 'catalog-b');
    const killedAt = Date.now();
    let leftAt: number | null = null;
    let lastDeadHitAt: number | null = null;
    let deadHits = 0;
    const watching = (async () => {
      while (!ctx.signal.aborted) {
        const ids = await passing('catalog').catch(() => undefined);
        if (leftAt === null && ids && !ids.includes('catalog-lab-b')) leftAt = Date.now();
        const hits = (await unavailableAttempts().catch(() => xBefore)) - xBefore;
        if (hits > deadHits) {
          deadHits = hits;
          lastDeadHitAt = Date.now();
        }
        if (leftAt !== null && Date.now() - Math.max(leftAt, lastDeadHitAt ?? 0) > 3_000) return;
        if (Date.now() - killedAt > 3 * CHECK_INTERVAL_S * 1000) return;
        await ctx.sleep(250);
      }
    })();
    let watched = false;
    void watching.finally(() => {
      watched = true;
    });
    const window = await drive(ctx, shopper.token, product.id, () => watched);
    await watching;
    const left = leftAt === null ? null : (leftAt - killedAt) / 1000;
    const lastHit = lastDeadHitAt === null ? null : (lastDeadHitAt - killedAt) / 1000;
    ctx.log(
      `catalog-b left the double's passing list ${left === null ? 'NEVER' : `${left.toFixed(1)} s`} after the kill; ` +
        `${deadHits} attempts hit it, the last ${lastHit === null ? '—' : `${lastHit.toFixed(1)} s`} after the kill; ` +
        `${window.failed} of ${window.requests} cart changes failed`,
    );
    const failedAfterLeft = leftAt === null ? window.failed : window.failedAt.filter((t) => t > (leftAt ?? 0)).length;

    ctx.step(`catalog-b dead: cart changes for ${PHASE_MS / 1000} s`);
    const survivor = await phase(ctx, shopper.token, product.id, 'catalog-b dead');

    ctx.step('start catalog-b again');
    const restartAt = Date.now();
    await lab(ctx, 'up', 'catalog-b');
    await waitPassing(ctx, ['catalog-lab-a', 'catalog-lab-b'], 3 * CHECK_INTERVAL_S * 1000);
    const backAfter = (Date.now() - restartAt) / 1000;
    ctx.log(`catalog-b passing again ${backAfter.toFixed(1)} s after the start command`);
    await ctx.sleep(1_000); // the cart's blocking query returns with the new list
    const again = await phase(ctx, shopper.token, product.id, 'catalog-b back');

    ctx.step('tear the lab down');
    await lab(ctx, 'down');

    const bothTotal = both.a + both.b;
    const againTotal = again.a + again.b;
    return [
      check(
        'while both are healthy, the cart spreads its calls over both catalog instances',
        both.a > 0 && both.b > 0 && both.traffic.failed === 0,
        `${both.traffic.requests} cart changes: catalog-a served ${both.a} calls (${share(both.a, bothTotal)}), ` +
          `catalog-b ${both.b} (${share(both.b, bothTotal)}); ${both.traffic.failed} failed`,
      ),
      check(
        `after the kill, the health check takes catalog-b out of discovery within a check interval or two (${CHECK_INTERVAL_S} s each)`,
        left !== null && left <= 2 * CHECK_INTERVAL_S + 2,
        `catalog-b critical and out of the passing list ${left === null ? 'never' : `${left.toFixed(1)} s`} after the SIGKILL`,
        `cart-x attempts that reached the dead instance: ${deadHits}, the last ${lastHit === null ? '—' : `${lastHit.toFixed(1)} s`} after the kill`,
      ),
      check(
        'errors stay bounded: retries mask the dead instance, and none fail once discovery has dropped it',
        failedAfterLeft === 0 && window.failed <= Math.ceil(window.requests * 0.1),
        `during the ${((Date.now() - killedAt) / 1000).toFixed(0)} s after the kill: ${window.failed} of ${window.requests} cart changes failed ` +
          `(${failedAfterLeft} after catalog-b left discovery)${window.failures.length ? `: ${window.failures[0]}` : ''}`,
      ),
      check(
        'with catalog-b out of discovery, every call goes to the survivor',
        survivor.a > 0 && survivor.unavailable === 0 && survivor.traffic.failed === 0,
        `${survivor.traffic.requests} cart changes: catalog-a served ${survivor.a} calls; attempts at the dead catalog-b: ${survivor.unavailable}; ${survivor.traffic.failed} failed`,
      ),
      check(
        'restarted, catalog-b passes its check and takes traffic again',
        again.b > 0 && again.a > 0 && again.traffic.failed === 0,
        `passing ${backAfter.toFixed(1)} s after the start command; then ${again.traffic.requests} cart changes: ` +
          `catalog-a ${again.a} calls (${share(again.a, againTotal)}), catalog-b ${again.b} (${share(again.b, againTotal)})`,
      ),
    ];
  },
});
