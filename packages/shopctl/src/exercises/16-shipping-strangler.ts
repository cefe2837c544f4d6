// Exercise 16: the strangler fig. Quotes move from the legacy SOAP shipping system (through the
// adapter) to the native implementation, 0 → 50 → 100 %, under a steady load of quotes that must
// not see one failure. Then shadow mode compares every quote with the legacy answer: no
// difference while the implementations agree, differences counted once a seed makes the native
// price differ. Then the rollback sends everything back to the legacy system at once
// (docs/exercises/16-shipping-strangler.md).
import { ApiError } from '../api';
import { type ShadowComparisons, ShippingApi, type ShippingQuote } from '../shipping';
import { registerExercise } from './registry';
import { check, type ExerciseContext } from './types';

/** Concurrent quote loops: a small load (the legacy system answers one in ~120 ms). */
const WORKERS = 4;
/** Seconds of load at each share. */
const PHASE_SECONDS = 5;
/** The seeded difference: cents added to every native quote. */
const SEED_CENTS = 5;
const PARCELS: [string, number][] = [
  ['US', 400],
  ['CA', 2_500],
  ['DE', 1_200],
  ['JP', 30_000],
  ['MX', 999],
  ['GB', 1],
];

interface Phase {
  name: string;
  ok: number;
  failed: number;
  byBackend: Record<'legacy' | 'native', number>;
  /** Prices seen per parcel and backend: `US 400 native` → cents. */
  prices: Map<string, Set<number>>;
  failures: string[];
}

function newPhase(name: string): Phase {
  return { name, ok: 0, failed: 0, byBackend: { legacy: 0, native: 0 }, prices: new Map(), failures: [] };
}

/** Quotes in WORKERS loops; `phase()` names where each answer is counted (it changes under the load). */
function startLoad(ctx: ExerciseContext, api: ShippingApi, phase: () => Phase): { stop: () => Promise<void> } {
  let running = true;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (running && !ctx.signal.aborted) {
      const [country, grams] = PARCELS[n++ % PARCELS.length] as [string, number];
      const p = phase();
      try {
        const q: ShippingQuote = await api.quote(country, grams);
        p.ok++;
        p.byBackend[q.backend]++;
        const key = `${country} ${grams} ${q.backend}`;
        const seen = p.prices.get(key) ?? new Set<number>();
        seen.add(q.price.amount);
        p.prices.set(key, seen);
      } catch (err) {
        p.failed++;
        if (p.failures.length < 3) p.failures.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  const loops = Array.from({ length: WORKERS }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

function summary(p: Phase): string {
  return `${p.name}: ${p.ok} quotes, ${p.failed} failed (legacy ${p.byBackend.legacy}, native ${p.byBackend.native})${p.failures.length ? ` — ${p.failures.join('; ')}` : ''}`;
}

function delta(after: ShadowComparisons, before: ShadowComparisons): ShadowComparisons {
  return {
    same: after.same - before.same,
    different: after.different - before.different,
    shadow_failed: after.shadow_failed - before.shadow_failed,
  };
}

/** Every parcel got one price per backend, and native's equals legacy's (`skew` added). */
function pricesAgree(phases: Phase[], skew: number): { agree: boolean; evidence: string } {
  const all = new Map<string, Set<number>>();
  for (const p of phases) for (const [k, v] of p.prices) all.set(k, new Set([...(all.get(k) ?? []), ...v]));
  const wrong: string[] = [];
  for (const [country, grams] of PARCELS) {
    const legacy = [...(all.get(`${country} ${grams} legacy`) ?? [])];
    const native = [...(all.get(`${country} ${grams} native`) ?? [])];
    if (legacy.length !== 1 || native.length !== 1 || native[0] !== (legacy[0] as number) + skew)
      wrong.push(`${country} ${grams} g: legacy ${legacy.join('/') || '-'}, native ${native.join('/') || '-'}`);
  }
  return { agree: wrong.length === 0, evidence: wrong.length ? wrong.join('; ') : `${PARCELS.length} parcels` };
}

export const exercise16 = registerExercise({
  number: 16,
  slug: 'shipping-strangler',
  title: 'Strangler fig: quotes move from the legacy SOAP system to the native one under load, shadowed, rolled back',
  pattern: 'strangler fig, adapter / anti-corruption layer, shadow traffic',
  doc: 'docs/exercises/16-shipping-strangler.md',
  checkout: {
    modes: 'orchestrated',
    why: 'not about checkout outcomes: shipping quotes moved to a new system',
  },
  async run(ctx) {
    const api = new ShippingApi(ctx.env, ctx.adminToken);
    const start = await api.status();
    ctx.log(
      `strangler now: quote ${start.nativeShare.quote} % native, create ${start.nativeShare.create} %, shadow ${start.shadow ? 'on' : 'off'}`,
    );
    ctx.defer('roll the strangler back and clear the seed', async () => {
      await api.rollback();
      await api.update({ nativeQuoteSkewCents: 0 });
    });
    await api.rollback();
    await api.update({ nativeQuoteSkewCents: 0 });

    ctx.step('a bad quote through the adapter: the legacy SOAP fault becomes a stable code');
    let refusal = '';
    try {
      await api.quote('ZZ', 100);
    } catch (err) {
      if (err instanceof ApiError)
        refusal = `${err.status} ${err.code ?? ''} legacyCode=${String((err.problem as { legacyCode?: string } | undefined)?.legacyCode)}`;
      else throw err;
    }
    ctx.log(`quote to ZZ → ${refusal || 'accepted'}`);

    ctx.step(`quotes under load (${WORKERS} loops): native share 0 → 50 → 100 %, ${PHASE_SECONDS} s each`);
    const phases = [newPhase('0 %'), newPhase('50 %'), newPhase('100 %')];
    let current = phases[0] as Phase;
    const load = startLoad(ctx, api, () => current);
    try {
      await ctx.sleep(PHASE_SECONDS * 1000);
      await api.update({ nativeShare: { quote: 50 } });
      current = phases[1] as Phase;
      await ctx.sleep(PHASE_SECONDS * 1000);
      await api.update({ nativeShare: { quote: 100 } });
      current = phases[2] as Phase;
      await ctx.sleep(PHASE_SECONDS * 1000);
    } finally {
      await load.stop();
    }
    for (const p of phases) ctx.log(summary(p));
    const [zero, half, full] = phases as [Phase, Phase, Phase];
    const failed = phases.reduce((sum, p) => sum + p.failed, 0);
    const total = phases.reduce((sum, p) => sum + p.ok + p.failed, 0);
    const agreement = pricesAgree(phases, 0);

    ctx.step('shadow mode at 100 % native: every quote compared with the legacy answer');
    await api.update({ shadow: true });
    const shadowPhase = newPhase('shadow, no seed');
    const c0 = await api.comparisons();
    let shadowLoad = startLoad(ctx, api, () => shadowPhase);
    await ctx.sleep(3_000);
    await shadowLoad.stop();
    const clean = delta(await api.comparisons(), c0);
    ctx.log(`${summary(shadowPhase)}; comparisons ${JSON.stringify(clean)}`);

    ctx.step(`seed a difference: native quotes + ${SEED_CENTS} cents`);
    await api.update({ nativeQuoteSkewCents: SEED_CENTS });
    const seeded = newPhase('shadow, seeded');
    const c1 = await api.comparisons();
    shadowLoad = startLoad(ctx, api, () => seeded);
    await ctx.sleep(3_000);
    await shadowLoad.stop();
    const caught = delta(await api.comparisons(), c1);
    ctx.log(`${summary(seeded)}; comparisons ${JSON.stringify(caught)}`);

    ctx.step('roll back: every quote to the legacy system at once');
    // One load through the rollback: a quote is counted where it started, so every quote
    // counted after the call returned was sent after the rollback.
    const rolledBack = newPhase('during the rollback');
    let during = rolledBack;
    const rollbackLoad = startLoad(ctx, api, () => during);
    await ctx.sleep(1_000);
    const rolled = await api.rollback();
    const tail = newPhase('after the rollback');
    during = tail;
    await ctx.sleep(3_000);
    await rollbackLoad.stop();
    await api.update({ nativeQuoteSkewCents: 0 });
    ctx.log(`${summary(rolledBack)}; ${summary(tail)}`);
    const tailAgreement = [...tail.prices.entries()].every(([k]) => k.endsWith(' legacy'));

    return [
      check(
        'a SOAP fault crosses the adapter as a problem with a stable code (422 SHOP_SHIPPING_DESTINATION_UNSUPPORTED, E101)',
        refusal.startsWith('422 SHOP_SHIPPING_DESTINATION_UNSUPPORTED') && refusal.includes('E101'),
        `quote to ZZ → ${refusal || 'accepted'}`,
      ),
      check(
        'zero failed quotes across the traffic shift 0 → 50 → 100 %',
        failed === 0 && total > 0,
        `${total - failed} of ${total} quotes answered, ${failed} failed`,
        ...phases.map(summary),
      ),
      check(
        'each share is honoured: 0 % all legacy, 50 % both, 100 % all native',
        zero.byBackend.native === 0 &&
          zero.byBackend.legacy > 0 &&
          half.byBackend.native > 0 &&
          half.byBackend.legacy > 0 &&
          full.byBackend.legacy === 0 &&
          full.byBackend.native > 0,
        ...phases.map((p) => `${p.name}: legacy ${p.byBackend.legacy}, native ${p.byBackend.native}`),
      ),
      check(
        'the native implementation quotes what the legacy system quotes',
        agreement.agree,
        `differences: ${agreement.agree ? 'none' : agreement.evidence}`,
      ),
      check(
        'shadow mode finds no difference while they agree, and counts the seeded one',
        clean.same > 0 &&
          clean.different === 0 &&
          caught.different > 0 &&
          seeded.failed === 0 &&
          shadowPhase.failed === 0,
        `no seed: ${clean.same} same, ${clean.different} different, ${clean.shadow_failed} shadow failed`,
        `seed +${SEED_CENTS} cents: ${caught.same} same, ${caught.different} different (shipping_shadow_comparisons_total)`,
      ),
      check(
        'the rollback is instant: every later quote is the legacy system’s, none failed',
        rolled.nativeShare.quote === 0 &&
          !rolled.shadow &&
          tail.ok > 0 &&
          tail.byBackend.native === 0 &&
          tailAgreement &&
          tail.failed === 0 &&
          rolledBack.failed === 0,
        `after the rollback: ${tail.ok} quotes, legacy ${tail.byBackend.legacy}, native ${tail.byBackend.native}, ${tail.failed} failed`,
      ),
    ];
  },
});
