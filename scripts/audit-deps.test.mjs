// The dependency audit's verdicts on reports shaped as `npm audit --json` prints them (npm 7 and
// later): the endpoint's refusal is a skip that says so, never a pass; a high or critical
// advisory with a fix fails; the rest is listed. Run: node --test scripts/audit-deps.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeReport, main } from './audit-deps.mjs';

// What npm 11 prints when the registry refuses the bulk advisory endpoint (as this one does).
const refused = {
  message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
  method: 'POST',
  uri: 'https://registry.example/-/npm/v1/security/advisories/bulk',
  statusCode: 405,
  body: '',
  error: { summary: '', detail: '' },
};

const advisory = (title, id) => ({
  source: id,
  name: 'x',
  title,
  url: `https://advisories.example/${id}`,
  severity: 'high',
});

function report(vulnerabilities, total = 120) {
  return { auditReportVersion: 2, vulnerabilities, metadata: { dependencies: { total } } };
}

const highWithFix = {
  name: 'tar',
  severity: 'high',
  isDirect: false,
  via: [advisory('Arbitrary file overwrite', 1)],
  range: '<6.2.1',
  fixAvailable: { name: 'tar', version: '6.2.1', isSemVerMajor: false },
};
const criticalNoFix = { name: 'old', severity: 'critical', via: [advisory('RCE', 2)], range: '*', fixAvailable: false };
const moderateWithFix = { name: 'mid', severity: 'moderate', via: ['tar'], range: '<2', fixAvailable: true };

function run(answer, env = {}) {
  const lines = [];
  const code = main({ cwd: '.', env, audit: () => answer, out: (line) => lines.push(line) });
  return { code, text: lines.join('\n') };
}

test("an endpoint that refuses is a skip that names its answer, and never reads as 'no advisories'", () => {
  const verdict = judgeReport(refused);
  assert.equal(verdict.status, 'skipped');
  assert.match(verdict.reason, /405 Method Not Allowed - POST .*advisories\/bulk/);
  const { code, text } = run(refused);
  assert.equal(code, 0);
  assert.match(text, /^audit-deps: SKIPPED, no advisory was checked/);
  assert.match(text, /this is not a pass/);
  assert.doesNotMatch(text, /no high or critical/);
  assert.equal(judgeReport(null).status, 'skipped', 'no JSON at all is a skip too');
});

test('SHOPLAB_AUDIT_REQUIRED=1 makes an audit that could not run fail', () => {
  const { code, text } = run(refused, { SHOPLAB_AUDIT_REQUIRED: '1' });
  assert.equal(code, 2);
  assert.match(text, /SKIPPED/);
});

test('a high or critical advisory with a fix available fails, naming the package, the fix and the advisory', () => {
  const verdict = judgeReport(report({ tar: highWithFix, old: criticalNoFix, mid: moderateWithFix }));
  assert.equal(verdict.status, 'failed');
  assert.deepEqual(
    verdict.failing.map((e) => [e.name, e.fix]),
    [['tar', 'tar@6.2.1']],
  );
  assert.deepEqual(verdict.others.map((e) => [e.name, e.severity, e.fix]).sort(), [
    ['mid', 'moderate', 'npm audit fix'],
    ['old', 'critical', null],
  ]);
  const { code, text } = run(report({ tar: highWithFix }));
  assert.equal(code, 1);
  assert.match(text, /FAILED, 1 high or critical advisories with a fix available/);
  assert.match(text, /tar <6\.2\.1 \(fix: tar@6\.2\.1\)/);
  assert.match(text, /advisories\.example\/1/);
});

test('advisories without a fix or below high are listed and pass; a clean answer says how much it audited', () => {
  const listed = run(report({ old: criticalNoFix, mid: moderateWithFix }));
  assert.equal(listed.code, 0);
  assert.match(listed.text, /2 advisories below high or without a fix/);
  assert.match(listed.text, /critical old \* \(no fix available\)/);
  const clean = run(report({}, 734));
  assert.equal(clean.code, 0);
  assert.equal(clean.text, 'audit-deps: 734 dependencies audited: no high or critical advisory with a fix available');
});
