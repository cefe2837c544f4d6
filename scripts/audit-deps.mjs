// The dependency audit of `make check` (docs/adr/0043-dependency-audit.md): `npm audit` against the
// registry's advisories, failing on a high or critical advisory that has a fix available (an
// upgrade to make now); lower severities and advisories without a fix are listed, not failed.
// When the registry's audit endpoint does not answer (the registry this repository is built
// against refuses it with 405), the audit is SKIPPED and says so, with the endpoint's answer: it
// never reports "no advisories" for an audit that did not run. SHOPLAB_AUDIT_REQUIRED=1 turns
// that skip into a failure (for a CI whose registry answers).
// Usage: node scripts/audit-deps.mjs        Tests: node --test scripts/audit-deps.test.mjs
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FAILING = new Set(['high', 'critical']);

/**
 * Judges the JSON `npm audit --json` printed: `skipped` when it holds no audit (the endpoint's
 * error), `failed` when a high or critical advisory has a fix, `passed` otherwise.
 */
export function judgeReport(report) {
  if (!report || typeof report !== 'object' || !report.vulnerabilities || typeof report.vulnerabilities !== 'object') {
    const answer = report?.message ?? report?.error?.summary ?? 'no audit report in its answer';
    return {
      status: 'skipped',
      reason: `the registry's audit endpoint did not answer: ${answer}`,
      failing: [],
      others: [],
    };
  }
  const failing = [];
  const others = [];
  for (const [name, v] of Object.entries(report.vulnerabilities)) {
    const fix = v.fixAvailable;
    const entry = {
      name,
      severity: v.severity,
      range: v.range ?? '',
      fix: fix === false || fix === undefined ? null : fix === true ? 'npm audit fix' : `${fix.name}@${fix.version}`,
      advisories: (v.via ?? []).filter((via) => typeof via === 'object').map((via) => via.url ?? via.title),
    };
    (FAILING.has(v.severity) && entry.fix !== null ? failing : others).push(entry);
  }
  const audited = report.metadata?.dependencies?.total ?? Object.keys(report.vulnerabilities).length;
  return { status: failing.length > 0 ? 'failed' : 'passed', audited, failing, others };
}

/** Runs `npm audit --json` in `cwd` and returns what it printed, parsed (null when it is not JSON). */
export function runNpmAudit(cwd) {
  const run = spawnSync('npm', ['audit', '--json', '--audit=true'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  try {
    return JSON.parse(run.stdout);
  } catch {
    return { message: `npm audit printed no JSON (exit ${run.status}): ${String(run.stderr).trim().slice(0, 300)}` };
  }
}

const describe = (e) =>
  `  ${e.severity.padEnd(8)} ${e.name} ${e.range}${e.fix ? ` (fix: ${e.fix})` : ' (no fix available)'}` +
  (e.advisories.length > 0 ? `\n           ${e.advisories.join('\n           ')}` : '');

/** Prints the verdict and returns the exit code. */
export function main({ cwd, env = process.env, audit = runNpmAudit, out = console.log } = {}) {
  const verdict = judgeReport(audit(cwd));
  if (verdict.status === 'skipped') {
    out(`audit-deps: SKIPPED, no advisory was checked: ${verdict.reason}`);
    if (env.SHOPLAB_AUDIT_REQUIRED === '1') {
      out('audit-deps: SHOPLAB_AUDIT_REQUIRED=1: an audit that could not run fails');
      return 2;
    }
    out('audit-deps: this is not a pass; docs/adr/0043-dependency-audit.md says why and what would make it run');
    return 0;
  }
  if (verdict.others.length > 0) {
    out(`audit-deps: ${verdict.others.length} advisories below high or without a fix (listed, not failed):`);
    for (const e of verdict.others) out(describe(e));
  }
  if (verdict.status === 'failed') {
    out(`audit-deps: FAILED, ${verdict.failing.length} high or critical advisories with a fix available:`);
    for (const e of verdict.failing) out(describe(e));
    return 1;
  }
  out(`audit-deps: ${verdict.audited} dependencies audited: no high or critical advisory with a fix available`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main({ cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..') });
}
