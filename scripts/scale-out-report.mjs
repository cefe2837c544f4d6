// One run of scripts/scale-out-bench.sh, one line per P3 step: the bench's figures (from its
// --json) and the CPU order's and catalog's processes and the whole machine used over the step
// (from the per-second /proc samples, cut at the bench's own "P3: …" log lines).
//   node scripts/scale-out-report.mjs <one|two> <round> <files prefix>
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const [mode, round, prefix] = process.argv.slice(2);
const HZ = 100; // clock ticks a second (getconf CLK_TCK on Linux)
const lines = (file) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const samples = lines(`${prefix}.cpu`).map((l) => l.split(' ').map((v, i) => (i === 5 ? v : Number(v))));
const log = lines(`${prefix}.log`).map((l) => {
  const i = l.indexOf(' ');
  return { t: Number(l.slice(0, i)), text: l.slice(i + 1) };
});
let report;
try {
  report = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'));
} catch {
  console.log(`${mode} round ${round}: no bench report (see ${prefix}.log)`);
  process.exit(0);
}
const ms = (v) => (typeof v === 'number' ? `${v.toFixed(0)} ms` : 'n/a');
const at = (t, after) => {
  const s = after ? samples.find((x) => x[0] >= t) : samples.findLast((x) => x[0] <= t);
  return s ?? (after ? samples.at(-1) : samples[0]);
};
for (const step of report.p3.steps) {
  const start = log.find((l) => l.text.includes(`P3: ${step.rate} checkouts/s for`));
  const end = log.find((l) => l.text.includes(`P3: ${step.rate}/s:`));
  let cpu = 'CPU not sampled';
  if (start && end && samples.length > 1) {
    const a = at(start.t, false);
    const b = at(end.t, true);
    const pids = new Set(samples.filter((x) => x[0] >= a[0] && x[0] <= b[0]).map((x) => x[5]));
    const secs = (b[0] - a[0]) / 1000;
    const cores = (i) => (b[i] - a[i]) / HZ / secs;
    const perCheckout = step.accepted ? (((b[1] - a[1]) / HZ) * 1000) / step.accepted : Number.NaN;
    cpu = pids.size > 1 ? `a service restarted during the step (${[...pids].join(' → ')}): ` : '';
    cpu +=
      `order ${cores(1).toFixed(2)} cores, catalog ${cores(2).toFixed(2)} cores, ` +
      `machine ${(((b[3] - a[3]) / (b[4] - a[4])) * cpus().length).toFixed(2)} of ${cpus().length} cores busy over ${secs.toFixed(0)} s; ` +
      `order ${perCheckout.toFixed(0)} ms CPU per accepted checkout`;
    // The bench's own CPU accounting (when this build of it has one) counts the shop by its pid
    // files, so a second instance's CPU lands under "other": it is moved back into the shop's
    // share here, from the samples above scaled to the bench's window.
    const acct = step.cpu;
    if (acct?.parts && acct.checkouts > 0) {
      const part = (n) => acct.parts.find((p) => p.name === n)?.cpuMs ?? 0;
      const ours = (cores(1) + cores(2)) * acct.seconds * 1000;
      const extra = mode === 'two' ? Math.max(0, ours - part('order') - part('catalog')) : 0;
      const shopMs = acct.shopPerCheckoutMs + extra / acct.checkouts;
      const otherCores = (acct.otherCpuMs - extra) / 1000 / acct.seconds;
      cpu +=
        `; the shop ${shopMs.toFixed(0)} ms CPU per accepted checkout` +
        `${extra ? ` (${(extra / acct.checkouts).toFixed(0)} of it the second instances)` : ''}, ` +
        `so ${acct.cores} cores hold at most ${((acct.cores * 1000) / shopMs).toFixed(1)}/s; ` +
        `other work on the machine ${otherCores.toFixed(2)} cores`;
    }
  }
  console.log(
    `${mode} round ${round} ${step.rate}/s: ${step.accepted}/${step.sent} accepted ` +
      `(${(step.accepted / step.seconds).toFixed(1)}/s), ${step.sustained ? 'sustained' : 'NOT sustained'}, ` +
      `POST p99 ${ms(step.checkoutMs.p99)}, ${step.accepted - step.notConfirmed} confirmed within the bench's wait ` +
      `(→CONFIRMED p99 ${ms(step.toConfirmedMs.p99)}), ` +
      `errors ${JSON.stringify(step.errors)}; ${cpu}`,
  );
}
