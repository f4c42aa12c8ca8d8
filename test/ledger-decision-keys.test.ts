// The ledger stores a defer or skip row only when the VM's (action, reason, current, target) changed
// since its last stored decision; attaches and regressions always; steady-state skips never. The
// counts keep everything, and `runs show` says what is not listed. Real SQLite files.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger, type DecisionRow } from '../src/ledger/index.js';
import { countDecisions } from '../src/plan/plan.js';
import { runJson } from '../src/views/history.js';
import { decisionTrim } from '../src/reconcile/stored-decisions.js';
import { tempLedger, type TempLedger } from './helpers/ledger.js';

const T0 = Date.parse('2025-03-01T00:00:00.000Z');
const Q = { afterFailures: 3, baseMs: 60_000, maxMs: 3_600_000 };

function d(vm: string, action: DecisionRow['action'], reason: string, current: string | null = '1.0.0'): DecisionRow {
  return { vmUuid: vm, vmName: vm, action, reason, current, target: '1.2.0', agentType: 'LinuxOnKvm', architecture: 'x86_64', hostUuid: 'h1' };
}

let t: TempLedger;
let ledger: Ledger;
let at = T0;

/** One finished run recorded the way the reconciler records it; returns its listed actions. */
function run(decisions: DecisionRow[], regressions: string[] = []): { id: number; listed: string[] } {
  at += 1_800_000;
  const id = ledger.startRun({ trigger: 'schedule', dryRun: false, now: at });
  ledger.recordDecisions(id, decisions, decisionTrim(new Set(regressions)));
  for (const x of decisions.filter((y) => y.action === 'attach')) {
    ledger.beginAttach(id, x.vmUuid, `${x.vmUuid}-${id}`.padEnd(32, '0'), '1.2.0', at);
    ledger.finishAttach(id, x.vmUuid, { outcome: 'attached', error: null, now: at + 10, quarantine: Q });
  }
  const counts = { ...countDecisions(decisions as Parameters<typeof countDecisions>[0]), succeeded: 0, failed: 0, verified: 0 };
  ledger.finishRun(id, { status: 'succeeded', counts, now: at + 20 });
  const listed = ledger.getRun(id)?.actions.map((a) => `${a.vmUuid} ${a.action}/${a.reason}`) ?? [];
  return { id, listed };
}

describe('decisions stored only when they change', () => {
  beforeEach(() => {
    t = tempLedger('gtr-keys-');
    ledger = t.ledger;
    at = T0;
  });
  afterEach(() => {
    ledger.close(); // a test may have reopened it
    t.cleanup();
  });

  test('an unchanged defer or skip is listed once; a new reason or version lists it again', () => {
    assert.deepEqual(run([d('a', 'defer', 'not-running'), d('b', 'skip', 'untagged', null)]).listed, ['a defer/not-running', 'b skip/untagged']);
    assert.deepEqual(run([d('a', 'defer', 'not-running'), d('b', 'skip', 'untagged', null)]).listed, []);
    assert.deepEqual(run([d('a', 'defer', 'not-running', '1.1.0'), d('b', 'skip', 'untagged', null)]).listed, ['a defer/not-running']);
    assert.deepEqual(run([d('a', 'skip', 'no-cdrom', '1.1.0'), d('b', 'skip', 'untagged', null)]).listed, ['a skip/no-cdrom']);
  });

  test('attaches are always listed, and the decision after an attach is listed even if it repeats an older one', () => {
    assert.deepEqual(run([d('a', 'defer', 'awaiting-install')]).listed, ['a defer/awaiting-install']);
    assert.deepEqual(run([d('a', 'attach', 'outdated')]).listed, ['a attach/outdated']);
    assert.deepEqual(run([d('a', 'attach', 'outdated')]).listed, ['a attach/outdated']);
    assert.deepEqual(run([d('a', 'defer', 'awaiting-install')]).listed, ['a defer/awaiting-install']);
  });

  test('a steady-state skip is never listed and clears the last decision: a VM falling back is listed', () => {
    assert.deepEqual(run([d('a', 'defer', 'not-running')]).listed, ['a defer/not-running']);
    assert.deepEqual(run([d('a', 'skip', 'up-to-date', '1.2.0')]).listed, []);
    assert.deepEqual(run([d('a', 'skip', 'up-to-date', '1.2.0')]).listed, []);
    assert.deepEqual(run([d('a', 'defer', 'not-running')]).listed, ['a defer/not-running']);
  });

  test('a regression is listed whatever its decision', () => {
    run([d('a', 'defer', 'not-running')]);
    assert.deepEqual(run([d('a', 'defer', 'not-running')], ['a']).listed, ['a defer/not-running']);
    assert.deepEqual(run([d('b', 'skip', 'up-to-date', '1.2.0')], ['b']).listed, ['b skip/up-to-date']);
  });

  test('runs show explains every decision that has no row: counted only, or unchanged since an earlier run', () => {
    const fleet = [d('a', 'defer', 'not-running'), d('b', 'skip', 'no-cdrom'), d('c', 'skip', 'up-to-date', '1.2.0'), d('e', 'attach', 'outdated')];
    run(fleet);
    const second = run(fleet);
    const shown = ledger.getRun(second.id);
    assert.ok(shown);
    const json = runJson(shown);
    assert.deepEqual(json.actions.map((x) => x.vmUuid), ['e']);
    assert.deepEqual(json.countedOnly, { 'skip/up-to-date': 1 });
    assert.deepEqual(json.unchanged, { 'defer/not-running': 1, 'skip/no-cdrom': 1 });
    assert.equal(json.counts.vms, 4);
  });

  test('without a trim every decision is stored, as before', () => {
    at += 1;
    const id = ledger.startRun({ trigger: 'cli', dryRun: false, now: at });
    assert.equal(ledger.recordDecisions(id, [d('a', 'skip', 'up-to-date', '1.2.0'), d('b', 'defer', 'not-running')]), 2);
    assert.equal(ledger.getRun(id)?.actions.length, 2);
  });

  test('the last decision survives reopening the database', () => {
    run([d('a', 'defer', 'not-running')]);
    ledger.close();
    ledger = Ledger.open(t.file);
    assert.deepEqual(run([d('a', 'defer', 'not-running')]).listed, []);
  });
});
