// The reason catalog (src/plan/reasons.ts, REASONS) is the one source of what a reason means and how the
// code classifies it: the README's reason table and its precedence list are REASONS, checked here.
// When this fails after you changed a reason, paste the table the failure prints into README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFER_REASONS, INSTALL_REASONS, REASONS, SKIP_REASONS, ATTACH_REASONS, type ReasonKey } from '../src/plan/reasons.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const HEADER = '| action / reason | meaning |\n|---|---|\n';

function readmeTable(): string {
  const start = readme.indexOf(HEADER);
  assert.ok(start >= 0, 'README.md has no reason table (its header line is "| action / reason | meaning |")');
  const end = readme.indexOf('\n\n', start);
  return readme.slice(start + HEADER.length, end) + '\n';
}

function catalogTable(): string {
  return (Object.keys(REASONS) as ReasonKey[])
    .map((key) => {
      const [action, reason] = key.split('/');
      return `| ${action} / \`${reason}\` | ${REASONS[key].help} |\n`;
    })
    .join('');
}

test('reasons: REASONS has one entry per reason code, in the README order (attach, install, then skips and defers by precedence)', () => {
  const want = [...ATTACH_REASONS.map((r) => `attach/${r}`), ...INSTALL_REASONS.map((r) => `install/${r}`), ...SKIP_REASONS.map((r) => `skip/${r}`), ...DEFER_REASONS.map((r) => `defer/${r}`)];
  assert.deepEqual(Object.keys(REASONS), want);
});

test("reasons: the README's reason table is REASONS' help", () => {
  assert.equal(readmeTable(), catalogTable(), `README.md's reason table differs from src/plan/reasons.ts; the table from the catalog:\n${catalogTable()}`);
});

test("reasons: the README's precedence list is the skips, then the defers, in the catalog's order", () => {
  const line = /When several apply, the first in this order wins[^:]*:([^.]+)\./.exec(readme);
  assert.ok(line, 'README.md has no precedence list ("When several apply, the first in this order wins ...")');
  const listed = [...line[1].matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
  assert.deepEqual(listed, [...SKIP_REASONS, ...DEFER_REASONS]);
});

test('reasons: classifications are consistent (rollout roles by action, attention fixes name a step)', () => {
  for (const [key, entry] of Object.entries(REASONS)) {
    if (entry.rollout === 'final') assert.ok(key.startsWith('skip/'), `${key}: only a skip can be final`);
    if (entry.rollout === 'candidate') assert.ok(key.startsWith('defer/'), `${key}: only a defer can be a candidate`);
    if (entry.stored === 'count') assert.ok(key.startsWith('skip/') && entry.attention === undefined, `${key}: a counted-only reason is a steady skip`);
    if (entry.outOfDate) assert.ok(key.startsWith('skip/'), `${key}: every attach and defer is out of date already`);
    if (entry.attention) assert.ok(entry.attention('0'.repeat(32)).length > 0, key);
  }
});
