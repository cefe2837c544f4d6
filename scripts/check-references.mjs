#!/usr/bin/env node
// Fails when the repository points at something it does not contain (docs/adr/0018-reference-check.md):
//  - a markdown link or image whose path is not in the repository, or whose #anchor is not a
//    heading (GitHub-style slug) or an id of the target markdown file;
//  - a `<path>.md#anchor` or `<dir>/<file>.md` mentioned in any file (code comments included)
//    that does not resolve, from the repository root or from the file's folder;
//  - a `§` that does not name, right before it, a markdown file of the repository with that
//    numbered section, or a published standard (PUBLISHED_SPECS);
//  - a design page or folder that a clone does not contain: the upper-case architecture, style
//    and offline-notes pages of the starting design, or a relative path up and out of the
//    repository into a sibling `shared` folder.
// It reads every file git knows (tracked and new, not ignored), skipping package-lock.json,
// binary files, whatever .gitattributes marks linguist-generated, and this check's test fixtures.
//
// Usage: node scripts/check-references.mjs [--root <dir>]   (exit 1 and one line per problem)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Documents a `§` may cite although they are not files here: published standards. */
export const PUBLISHED_SPECS = [/\bRFC ?\d+$/, /\bkafka-protocol-binding$/];

/** Files that hold broken references on purpose: the fixtures of this check's own tests. */
const FIXTURE_FILES = new Set(['scripts/check-references.test.mjs']);

/** Pages of the starting design that were never part of a clone (upper-case names only). */
const OUTSIDE_PAGES = /\b(ARCHITECTURE|STYLE|OFFLINE-NOTES)\.md\b/g;
const OUTSIDE_PAGE = new RegExp(OUTSIDE_PAGES.source);
const SHARED = /(?:\.\.\/)+shared(?:\/[\w./-]*)?/g;
const MENTION = /(?:^|[\s(`'"[=:])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[\w.-]+\.md(?:#[\w-]+)?)(?![\w/])/g;

/** The comment part of a line of code (after `//`, `#`, or a block comment's `*`), or ''. */
export function commentOf(line) {
  const block = /^\s*(?:\/\*+|\*(?!\/)|<!--)(.*)$/.exec(line);
  if (block) return block[1];
  const m = /(?:^|[^:])\/\/(.*)$|(?:^|\s)#(.*)$/.exec(line);
  return m ? (m[1] ?? m[2]) : '';
}

/** GitHub's heading slug: lower case, punctuation and symbols dropped, spaces to hyphens. */
export function slugOf(text) {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The text GitHub shows for a heading's source: links and images as their text, no markup. */
export function headingText(source) {
  return source
    .split(/(`+[^`]*`+)/)
    .map((part, i) => {
      if (i % 2 === 1) return part.replace(/`/g, '');
      return part
        .replace(/<[^>]+>/g, '')
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/[*~]/g, '')
        .replace(/(^|[^\p{L}\p{N}])_+|_+(?=[^\p{L}\p{N}]|$)/gu, '$1');
    })
    .join('')
    .trim();
}

/** Lines outside fenced code blocks, as [lineNumber, text] (fenced lines become empty). */
export function proseLines(markdown) {
  const out = [];
  let fence = null;
  markdown.split('\n').forEach((line, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = null;
      out.push([i + 1, '']);
    } else if (m) {
      fence = m[1];
      out.push([i + 1, '']);
    } else {
      out.push([i + 1, line]);
    }
  });
  return out;
}

/** Every anchor a markdown file offers: heading slugs (duplicates numbered -1, -2…) and HTML ids. */
export function anchorsOf(markdown) {
  const anchors = new Set();
  const seen = new Map();
  for (const [, line] of proseLines(markdown)) {
    const h = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (h) {
      const base = slugOf(headingText(h[1]));
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<[a-z][^>]*?\s(?:id|name)="([^"]+)"/gi)) anchors.add(a[1]);
  }
  return anchors;
}

/** Numbered sections ("## 3. Checkout" → "3") of a markdown file. */
function numberedSections(markdown) {
  const out = new Set();
  for (const [, line] of proseLines(markdown)) {
    const h = /^\s{0,3}#{1,6}\s+(\d+(?:\.\d+)*)[.\s]/.exec(line);
    if (h) out.add(h[1]);
  }
  return out;
}

/** Link targets of one line of markdown prose (inline code spans skipped). */
export function linkTargets(line) {
  const text = line.replace(/`+[^`]*`+/g, (s) => ' '.repeat(s.length));
  const targets = [];
  for (const m of text.matchAll(/\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
    targets.push(m[1].replace(/^<|>$/g, ''));
  }
  const def = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(text);
  if (def) targets.push(def[1].replace(/^<|>$/g, ''));
  for (const m of text.matchAll(/<(?:a|img)\s[^>]*?(?:href|src)="([^"]*)"/gi)) targets.push(m[1]);
  return targets;
}

function gitFiles(root) {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = [...new Set(out.toString('utf8').split('\0').filter(Boolean))].filter((f) =>
    existsSync(path.join(root, f)),
  );
  files.sort();
  const attrs = execFileSync('git', ['check-attr', '-z', '--stdin', 'linguist-generated'], {
    cwd: root,
    input: files.join('\0'),
    maxBuffer: 64 * 1024 * 1024,
  })
    .toString('utf8')
    .split('\0');
  const generated = new Set();
  for (let i = 0; i + 2 < attrs.length; i += 3) {
    if (attrs[i + 2] === 'set' || attrs[i + 2] === 'true') generated.add(attrs[i]);
  }
  return { files, generated };
}

/** Checks the repository at `root`; returns the problems as `path:line: message` strings. */
export function checkReferences(root) {
  const { files, generated } = gitFiles(root);
  const fileSet = new Set(files);
  const dirSet = new Set(['']);
  for (const f of files) {
    for (let d = path.posix.dirname(f); d !== '.' && !dirSet.has(d); d = path.posix.dirname(d)) dirSet.add(d);
  }
  const textCache = new Map();
  const read = (f) => {
    if (!textCache.has(f)) textCache.set(f, readFileSync(path.join(root, f), 'utf8'));
    return textCache.get(f);
  };
  const anchorCache = new Map();
  const anchors = (f) => {
    if (!anchorCache.has(f)) anchorCache.set(f, anchorsOf(read(f)));
    return anchorCache.get(f);
  };
  const problems = [];
  const problem = (file, line, message) => problems.push(`${file}:${line}: ${message}`);

  /** A repository-relative path for `target` seen in `file`, or null when it leaves the repository. */
  const resolve = (file, target) => {
    const joined = target.startsWith('/')
      ? path.posix.normalize(target.slice(1))
      : path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
    if (joined === '.' || joined === '') return '';
    if (joined.startsWith('../') || joined === '..') return null;
    return joined.replace(/\/$/, '');
  };
  const exists = (p) => fileSet.has(p) || dirSet.has(p);

  /** Checks `target#anchor` (already resolved); returns a message or null. */
  const anchorProblem = (resolved, anchor, shown) => {
    if (!anchor) return null;
    let doc = resolved;
    if (dirSet.has(doc) && !fileSet.has(doc)) doc = doc ? `${doc}/README.md` : 'README.md';
    if (!doc.endsWith('.md')) {
      return /^L\d+(-L\d+)?$/.test(anchor) ? null : `${shown}: #${anchor} on a file that is not markdown`;
    }
    if (!fileSet.has(doc)) return `${shown}: ${doc} does not exist`;
    return anchors(doc).has(decodeURIComponent(anchor)) ? null : `${shown}: ${doc} has no anchor #${anchor}`;
  };

  const checkLink = (file, line, raw) => {
    if (!raw || /^[a-z][a-z0-9+.-]*:/i.test(raw) || raw.startsWith('//')) return;
    const [withoutQuery] = raw.split('?');
    const hash = withoutQuery.indexOf('#');
    const target = decodeURIComponent(hash >= 0 ? withoutQuery.slice(0, hash) : withoutQuery);
    const anchor = hash >= 0 ? withoutQuery.slice(hash + 1) : '';
    const resolved = target === '' ? file : resolve(file, target);
    if (resolved === null) return problem(file, line, `link ${raw} leaves the repository`);
    if (!exists(resolved)) return problem(file, line, `link ${raw}: ${resolved || '.'} does not exist`);
    const bad = anchorProblem(resolved, anchor, `link ${raw}`);
    if (bad) problem(file, line, bad);
  };

  /** A path mentioned in text: tried from the repository root, then from the file's folder. */
  const checkMention = (file, line, mention) => {
    const hash = mention.indexOf('#');
    const target = hash >= 0 ? mention.slice(0, hash) : mention;
    const anchor = hash >= 0 ? mention.slice(hash + 1) : '';
    const candidates = [resolve('', target), resolve(file, target)].filter((p) => p !== null && exists(p));
    if (candidates.length === 0) return problem(file, line, `${mention}: no such file in the repository`);
    const messages = candidates.map((c) => anchorProblem(c, anchor, mention));
    if (messages.every(Boolean)) problem(file, line, messages[0]);
  };

  const checkSection = (file, line, text, index, section) => {
    const before = text.slice(0, index).replace(/[\s"'`(),:]+$/, '');
    const doc = /([\w./-]+\.md)$/.exec(before);
    if (doc) {
      const resolved = [resolve('', doc[1]), resolve(file, doc[1])].find((p) => p !== null && fileSet.has(p));
      if (!resolved) {
        // The page itself is reported once by the OUTSIDE_PAGES rule.
        if (!OUTSIDE_PAGE.test(doc[1]))
          problem(file, line, `${doc[1]} §${section}: ${doc[1]} is not in the repository`);
        return;
      }
      if (!numberedSections(read(resolved)).has(section.replace(/\.$/, ''))) {
        problem(file, line, `${doc[1]} §${section}: ${resolved} has no section numbered ${section}`);
      }
      return;
    }
    if (PUBLISHED_SPECS.some((re) => re.test(before))) return;
    problem(file, line, `§${section} names no document of the repository (write a link: docs/<page>.md#<anchor>)`);
  };

  for (const file of files) {
    if (file.endsWith('package-lock.json') || generated.has(file) || FIXTURE_FILES.has(file)) continue;
    const stat = statSync(path.join(root, file));
    if (!stat.isFile() || stat.size > 2_000_000) continue;
    const buf = readFileSync(path.join(root, file));
    if (buf.includes(0)) continue;
    const content = buf.toString('utf8');
    textCache.set(file, content);
    const isMarkdown = file.endsWith('.md');
    const lines = isMarkdown ? proseLines(content) : content.split('\n').map((l, i) => [i + 1, l]);
    // Fenced code in markdown is still text a reader follows: the text rules see every line.
    const allLines = content.split('\n');
    if (isMarkdown) {
      for (const [n, line] of lines) for (const t of linkTargets(line)) checkLink(file, n, t);
    }
    allLines.forEach((line, i) => {
      const n = i + 1;
      for (const m of line.matchAll(OUTSIDE_PAGES)) {
        if (line.slice(0, m.index).endsWith('shared/')) continue; // reported as a path out of the repository
        if (![...fileSet].some((f) => path.posix.basename(f) === m[0])) {
          problem(file, n, `${m[0]} is not in the repository (docs/reference.md, docs/style.md are)`);
        }
      }
      for (const m of line.matchAll(SHARED)) {
        const resolved = resolve(file, m[0]);
        if (resolved === null || !exists(resolved)) problem(file, n, `${m[0]} is outside the repository`);
      }
      for (const m of line.matchAll(/§\s*(\d+(?:\.\d+)*)/g)) checkSection(file, n, line, m.index, m[1]);
      // Paths to markdown files: every `<file>.md#anchor`, and every `<dir>/<file>.md` in markdown
      // prose or a code comment (code itself may name files that do not exist on purpose: fixtures).
      const text = isMarkdown ? line.replace(/!?\[[^\]]*\]\([^)]*\)/g, ' ') : line;
      const prose = isMarkdown ? text : commentOf(line);
      const mentioned = new Set();
      for (const m of text.matchAll(MENTION)) if (m[1].includes('#')) mentioned.add(m);
      for (const m of prose.matchAll(MENTION)) mentioned.add(m);
      const checked = new Set();
      for (const m of mentioned) {
        const before = m.input.slice(0, m.index + m[0].length - m[1].length);
        const other = /([\w.-]+\/[\w.-]+) $/.exec(before); // `grpc/grpc doc/x.md`: another project's file
        if ((other && !exists(other[1])) || checked.has(m[1]) || /(^|\/)\.\.\/shared\//.test(m[1])) continue;
        if (OUTSIDE_PAGE.test(m[1])) continue;
        checked.add(m[1]);
        checkMention(file, n, m[1]);
      }
    });
  }
  return problems;
}

function main() {
  const args = process.argv.slice(2);
  const rootArg = args.indexOf('--root');
  const start = rootArg >= 0 ? args[rootArg + 1] : process.cwd();
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: start }).toString().trim();
  const problems = checkReferences(root);
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-references: ${problems.length} reference(s) do not resolve inside the repository`);
    process.exit(1);
  }
  console.log('check-references: every link, anchor and § reference resolves inside the repository');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
