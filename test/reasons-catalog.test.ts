// The reason catalog (src/plan/reasons.ts, REASONS) is the one source of what a reason means and how the
// code classifies it: the reason reference (docs/reference/reasons.md, generated) shows every entry and
// the precedence, checked here against the catalog. When this fails after you changed a reason, run
// npm run gen:docs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFER_REASONS, INSTALL_REASONS, REASONS, SKIP_REASONS, ATTACH_REASONS, type ReasonKey } from '../src/plan/reasons.js';

const reference = readFileSync(new URL('../docs/reference/reasons.md', import.meta.url), 'utf8');

/** The reference table's rows: action/reason -> its cells after the first. */
function referenceRows(): Map<string, string[]> {
  const rows = [...reference.matchAll(/^\| `(attach|install|skip|defer)` \/ `([a-z-]+)` \| (.*) \|$/gm)];
  return new Map(rows.map((m) => [`${m[1]}/${m[2]}`, m[3].split(' | ')]));
}

test('reasons: REASONS has one entry per reason code, attach and install first, then skips and defers by precedence', () => {
  const want = [...ATTACH_REASONS.map((r) => `attach/${r}`), ...INSTALL_REASONS.map((r) => `install/${r}`), ...SKIP_REASONS.map((r) => `skip/${r}`), ...DEFER_REASONS.map((r) => `defer/${r}`)];
  assert.deepEqual(Object.keys(REASONS), want);
});

test('reasons: the reference has one row per reason, in catalog order, with its help, precedence, storage, fix and rollout role', () => {
  const rows = referenceRows();
  assert.deepEqual([...rows.keys()], Object.keys(REASONS), 'docs/reference/reasons.md rows differ from REASONS: run npm run gen:docs');
  const ranked = [...SKIP_REASONS, ...DEFER_REASONS];
  for (const key of Object.keys(REASONS) as ReasonKey[]) {
    const entry = REASONS[key];
    const [help, rank, stored, fix, role] = rows.get(key) ?? [];
    const reason = key.split('/')[1];
    assert.equal(help, entry.help.replaceAll('|', '\\|'), key);
    assert.equal(rank, key.startsWith('attach/') || key.startsWith('install/') ? '-' : String(ranked.indexOf(reason as never) + 1), key);
    assert.equal(stored, entry.stored === 'count' ? 'a count' : 'a row per VM', key);
    assert.equal(fix === '-', entry.attention === undefined, key);
    if (entry.attention) assert.ok(fix.includes(entry.attention('UUID')), `${key}: ${fix}`);
    assert.equal(role === '-' ? undefined : role.split(':')[0], entry.rollout, key);
  }
});

test("reasons: the reference's precedence list is the skips, then the defers, in the catalog's order", () => {
  const line = /When several apply, the first in this order wins: ([^\n]+)\./.exec(reference);
  assert.ok(line, 'docs/reference/reasons.md has no precedence list ("When several apply, the first in this order wins: ...")');
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
