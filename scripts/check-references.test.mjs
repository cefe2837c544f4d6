// The reference check against small repositories made for each case: every rule fails on a
// broken reference and passes once it is fixed. Run: node --test scripts/check-references.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { anchorsOf, checkReferences, commentOf, headingText, slugOf } from './check-references.mjs';

const roots = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A git repository holding `files` (path → content), as `git ls-files` sees it. */
function repo(files) {
  const root = mkdtempSync(path.join(tmpdir(), 'check-refs-'));
  roots.push(root);
  execFileSync('git', ['init', '-q'], { cwd: root });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  return root;
}

// Built from parts so that this file does not itself cite the pages it tests for.
const ARCH = ['ARCHITECTURE', 'md'].join('.');
const STYLE = ['STYLE', 'md'].join('.');
const UP_SHARED = ['..', 'shared'].join('/');
const SECTION = '\u00a7';

const reference = '# Reference\n\n## Services and ports\n\n## The audit: invariants\n\n## 3. Numbered\n';

test('headings get GitHub’s slugs, duplicates numbered, HTML ids kept', () => {
  assert.equal(
    slugOf(headingText('The audit: `processed_events` and **invariants**')),
    'the-audit-processed_events-and-invariants',
  );
  assert.equal(slugOf(headingText('Who talks how — REST vs. gRPC')), 'who-talks-how--rest-vs-grpc');
  assert.equal(slugOf(headingText('[Links](x.md) _stay_ text')), 'links-stay-text');
  const anchors = anchorsOf('# A\n## A\n```\n# not a heading\n```\n<a id="custom"></a>\n');
  assert.deepEqual([...anchors].sort(), ['a', 'a-1', 'custom']);
});

test('the comment of a line of code is what follows //, # or a block comment’s *', () => {
  assert.equal(commentOf('const x = 1; // see docs/a.md').trim(), 'see docs/a.md');
  assert.equal(commentOf(' * the audit (docs/a.md)').trim(), 'the audit (docs/a.md)');
  assert.equal(commentOf('# shell comment').trim(), 'shell comment');
  assert.equal(commentOf("const url = 'http://x/docs/a.md';"), '');
});

test('a repository whose references all resolve passes', () => {
  const root = repo({
    'README.md':
      '# ReadMe\n[ref](docs/reference.md#services-and-ports) [dir](docs) [self](#readme) [web](https://example.com/x.md)\n',
    'docs/reference.md': reference,
    'src/a.ts': '// the audit (docs/reference.md#the-audit-invariants; RFC 9457 §3.1.1)\nconst f = "docs/none.md";\n',
    'docs/b.md': `See [numbered](reference.md#3-numbered) and reference.md ${SECTION}3.\n`,
  });
  assert.deepEqual(checkReferences(root), []);
});

test('a link to a missing file fails', () => {
  const root = repo({ 'README.md': 'see [x](docs/missing.md)\n' });
  assert.deepEqual(checkReferences(root), ['README.md:1: link docs/missing.md: docs/missing.md does not exist']);
});

test('a link to a missing anchor fails, in markdown and in code', () => {
  const root = repo({
    'README.md': '[x](docs/reference.md#no-such-section)\n',
    'docs/reference.md': reference,
    'src/a.ts': '// docs/reference.md#audit\n',
  });
  assert.deepEqual(checkReferences(root), [
    'README.md:1: link docs/reference.md#no-such-section: docs/reference.md has no anchor #no-such-section',
    'src/a.ts:1: docs/reference.md#audit: docs/reference.md has no anchor #audit',
  ]);
});

test('a link that leaves the repository fails', () => {
  const root = repo({ 'docs/a.md': '[x](../../notes.md)\n' });
  const problems = checkReferences(root);
  assert.ok(problems.some((p) => p.startsWith('docs/a.md:1: link') && p.includes('leaves the repository')));
});

test('the starting design’s pages and the shared folder fail wherever they are cited', () => {
  const root = repo({
    'src/a.ts': `// the saga (${ARCH} ${SECTION}3)\n`,
    Makefile: `audit: ## the invariants of ${STYLE} ${SECTION}11\n`,
    'docs/a.md': `Same shape (${UP_SHARED}/${ARCH}).\n`,
  });
  const problems = checkReferences(root);
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems[0], new RegExp(`^Makefile:1: ${STYLE.replace('.', '\\.')} is not in the repository`));
  assert.match(problems[1], /^docs\/a\.md:1: .*shared.* is outside the repository/);
  assert.match(problems[2], new RegExp(`^src/a\\.ts:1: ${ARCH.replace('.', '\\.')} is not in the repository`));
});

test('a § that names no document, or a section the document lacks, fails', () => {
  const root = repo({
    'docs/reference.md': reference,
    'src/a.ts': `// invariant 7 (${SECTION}8)\n// docs/reference.md ${SECTION}4\n// RFC 9110 ${SECTION}15\n`,
  });
  assert.deepEqual(checkReferences(root), [
    `src/a.ts:1: ${SECTION}8 names no document of the repository (write a link: docs/<page>.md#<anchor>)`,
    `src/a.ts:2: docs/reference.md ${SECTION}4: docs/reference.md has no section numbered 4`,
  ]);
});

test('a markdown path named in prose or a comment must exist; fixtures in code may not', () => {
  const root = repo({
    'docs/a.md': 'Read `docs/gone.md` first.\n',
    'src/a.ts': '// see docs/gone.md\nconst fixture = { doc: "docs/gone.md" };\n',
  });
  assert.deepEqual(checkReferences(root), [
    'docs/a.md:1: docs/gone.md: no such file in the repository',
    'src/a.ts:1: docs/gone.md: no such file in the repository',
  ]);
});

test('files marked linguist-generated and package-lock.json are not read', () => {
  const root = repo({
    '.gitattributes': 'gen/** linguist-generated\n',
    'gen/a.ts': `// ${ARCH} ${SECTION}1\n`,
    'package-lock.json': `{"x": "${STYLE}"}\n`,
  });
  assert.deepEqual(checkReferences(root), []);
});
