// The Chinese documentation follows the English one: docs/zh-CN/ holds a twin of README.md
// (docs/zh-CN/README.md) and of every docs/<topic>.md (docs/zh-CN/<topic>.md), with the same section
// structure (the same headings, level by level), the same tables (the same keys in each table's first
// column: its code spans and numbers) and the same named facts (every config key, error code, metric
// and reason code written as code), in ZStack's own Chinese terms (加载 for attach, 卸载 for detach, 云主机
// for VM, 管理节点 for MN). docs/dev-notes/ (development history) has no twin. When this fails
// after you changed an English document, make the same change to its Chinese twin.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REASONS } from '../src/plan/reasons.js';
import { ROOT } from './helpers/cli.js';

const DOCS = join(ROOT, 'docs');
const ZH = join(DOCS, 'zh-CN');

function markdownFiles(dir: string, skip: string[]): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return skip.includes(path) ? [] : markdownFiles(path, skip).map((f) => join(e.name, f));
    return e.name.endsWith('.md') ? [relative(dir, path)] : [];
  });
}

/** English documents (relative to the repository) -> their Chinese twins. */
function pairs(): [string, string][] {
  const english = markdownFiles(DOCS, [ZH, join(DOCS, 'dev-notes')]).map((f) => join('docs', f));
  return [['README.md', join('docs', 'zh-CN', 'README.md')], ...english.sort().map((f): [string, string] => [f, join('docs', 'zh-CN', relative('docs', f))])];
}

/** The lines of a document, those of fenced code blocks blanked (so indexes stay line numbers - 1). */
function prose(markdown: string): string[] {
  let fence = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fence = !fence;
      return '';
    }
    return fence ? '' : line;
  });
}

/** Heading levels in order, e.g. "1 2 2 3 2". */
function sections(markdown: string): string {
  return prose(markdown)
    .map((l) => /^(#{1,6})\s/.exec(l)?.[1].length)
    .filter((n) => n !== undefined)
    .join(' ');
}

/** Every table's first-column keys: per row, the code spans and numbers of its first cell. */
function tableKeys(markdown: string): string[][] {
  const tables: string[][] = [];
  let current: string[] | null = null;
  for (const line of prose(markdown)) {
    if (!line.startsWith('|')) {
      current = null;
      continue;
    }
    if (/^\|[\s:|-]+\|$/.test(line)) continue; // the separator row
    if (current === null) {
      current = [];
      tables.push(current);
      continue; // the header row: its words are the language's
    }
    const first = line.slice(1).split(/(?<!\\)\|/)[0];
    const keys = [...first.matchAll(/`([^`]+)`|\b(\d+(?:\.\d+)*)\b/g)].map((m) => m[1] ?? m[2]);
    current.push(keys.join(' '));
  }
  return tables;
}

const REASON_CODES = new Set(Object.keys(REASONS).map((k) => k.split('/')[1]));
const NAMED =
  /^(GTR_[A-Z_]+|gtr_[a-z_]+(\{.*\})?|(zstack|schedule|policy|ledger|http|log|rollout|ha|notify)\.[A-Za-z][A-Za-z0-9.]*|isoDir|database|(run|rollout|catalog|vm)\.[a-z-]+|[A-Z]{2,}\.\d{4})$/;

/** The named facts of a document: config keys, error codes, metrics, events, ZStack error codes and reason codes, written as code. */
function facts(markdown: string): string[] {
  const spans = prose(markdown).flatMap((l) => [...l.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]));
  return [...new Set(spans.filter((s) => NAMED.test(s) || REASON_CODES.has(s)))].sort();
}

describe('docs/zh-CN follows the English documentation', () => {
  const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

  it('has a twin of every English document, and nothing else', () => {
    const want = pairs().map(([, zh]) => relative(ZH, join(ROOT, zh))).sort();
    assert.ok(want.length > 10, `found ${want.length} documents`);
    assert.deepEqual(markdownFiles(ZH, []).sort(), want);
  });

  for (const [en, zh] of pairs()) {
    describe(`${zh} follows ${en}`, () => {
      it('has the same section structure', () => {
        assert.ok(existsSync(join(ROOT, zh)), `${zh} is missing`);
        assert.equal(sections(read(zh)), sections(read(en)), 'heading levels, in order');
      });
      it("has the same tables with the same keys in each table's first column", () => {
        assert.deepEqual(tableKeys(read(zh)), tableKeys(read(en)));
      });
      it('names the same config keys, error codes, metrics, events and reason codes', () => {
        const english = facts(read(en));
        const chinese = facts(read(zh));
        assert.deepEqual(english.filter((f) => !chinese.includes(f)), [], `in ${en}, not in ${zh}`);
        assert.deepEqual(chinese.filter((f) => !english.includes(f)), [], `in ${zh}, not in ${en}`);
      });
    });
  }

  it("says ZStack's own Chinese terms: 加载, 卸载, 云主机, 管理节点 (never attach, detach, VM or MN outside code)", () => {
    const english = /\b(attach|attached|attaches|attaching|detach|detaches|VMs?|MNs?)\b/g;
    const found = pairs().flatMap(([, zh]) =>
      prose(read(zh))
        .map((line, i) => ({ line: i + 1, text: line.replace(/`[^`]*`/g, '').replace(/\]\([^)]*\)/g, ']') }))
        .flatMap(({ line, text }) => [...text.matchAll(english)].map((m) => `${zh}:${line}: ${m[0]} in "${text.trim().slice(0, 80)}"`)),
    );
    assert.deepEqual(found, []);
  });

  it('finds what it compares (the extraction works)', () => {
    assert.equal(sections('# a\n```\n# not a heading\n```\n## b\n### c'), '1 2 3');
    assert.deepEqual(tableKeys('| k | v |\n|---|---|\n| `a.b` | x |\n| 130 / 143 | y |\n| word | `z` |\n'), [['a.b', '130 143', '']]);
    assert.deepEqual(facts('`policy.maxErrors`, `GTR_USAGE`, `gtr_leader`, `outdated`, `SYS.1006`, `run.failed`, `npm test`'), ['GTR_USAGE', 'SYS.1006', 'gtr_leader', 'outdated', 'policy.maxErrors', 'run.failed']);
  });
});
