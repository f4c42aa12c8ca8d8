// The link check of the documentation: every relative link and image of README.md and docs/**/*.md
// points at a file of the repository, and every #anchor at a heading (or an <a id>) of its target, as
// GitHub renders them. Links with a scheme (https:, mailto:) are not followed: no network. Code blocks
// and code spans are not links. Run by `npm run lint` (and test/check-links.test.ts, so `npm test` too).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The text outside fenced code blocks and inline code spans, line by line (code replaced by spaces). */
function prose(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence !== null) {
      if (opener && opener[1].startsWith(fence)) fence = null;
      lines.push('');
      continue;
    }
    if (opener) {
      fence = opener[1];
      lines.push('');
      continue;
    }
    lines.push(line.replace(/(`+)[^`]*?\1/g, (m) => ' '.repeat(m.length)));
  }
  return lines;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/\s/g, '-');
}

/** The anchors a Markdown file defines: its headings' slugs (repeats get -1, -2 ...) and <a id|name>. */
export function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(`{3,}|~{3,})/.test(line)) fence = !fence;
    if (fence) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      found.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(a[1]);
  }
  return found;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** The links and images of a Markdown text: `[text](target)`, `![alt](target "title")`. */
export function links(file: string, markdown: string): Link[] {
  const out: Link[] = [];
  prose(markdown).forEach((text, i) => {
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ file, line: i + 1, target: m[1].replace(/^<|>$/g, '') });
    }
  });
  return out;
}

/** What is wrong with one link, or null when it resolves. */
export function problem(link: Link, root: string = ROOT): string | null {
  const { target } = link;
  if (target === '') return 'empty link';
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null;
  const hash = target.indexOf('#');
  const path = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = path === '' ? link.file : resolve(dirname(link.file), decodeURIComponent(path));
  if (path.startsWith('/')) return `${target}: an absolute path (links must be relative to the file)`;
  if (!existsSync(resolved)) return `${target}: no such file (${relative(root, resolved) || '.'})`;
  if (anchor === null) return null;
  if (!resolved.endsWith('.md') || statSync(resolved).isDirectory()) return `${target}: an anchor into a file that is not Markdown`;
  const text = readOrNull(resolved);
  if (text === null) return `${target}: cannot read ${relative(root, resolved)}`;
  if (!anchors(text).has(anchor)) return `${target}: ${relative(root, resolved)} has no heading or <a id> "${anchor}"`;
  return null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** README.md and every .md under docs/ of a repository root. */
export function documents(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
  return [join(root, 'README.md'), ...(existsSync(join(root, 'docs')) ? walk(join(root, 'docs')) : [])].filter((f) => existsSync(f)).sort();
}

/** Every broken link of the documents of a root, as "file:line: problem". */
export function checkLinks(root: string): { files: number; links: number; problems: string[] } {
  const files = documents(root);
  const problems: string[] = [];
  let count = 0;
  for (const file of files) {
    for (const link of links(file, readFileSync(file, 'utf8'))) {
      count++;
      const p = problem(link, root);
      if (p) problems.push(`${relative(root, file)}:${link.line}: ${p}`);
    }
  }
  return { files: files.length, links: count, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, links: count, problems } = checkLinks(ROOT);
  if (problems.length > 0) {
    console.error(`check-links: ${problems.length} broken link(s) in README.md and docs/:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`check-links: ${files} files, ${count} links: every relative link and anchor resolves`);
  }
}
