// A bounded ledger: steady-state decisions are stored as counts only, a defer or skip only when it
// changed since the VM's last stored one, and retention (ledger.retainDays / ledger.retainRuns) deletes
// old runs with their decisions. Real SQLite files.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { Ledger, type DecisionRow } from '../src/ledger/index.js';
import { countDecisions } from '../src/plan/plan.js';
import { runJson } from '../src/views/history.js';
import { applyRetention } from '../src/reconcile/retention.js';
import { decisionTrim } from '../src/reconcile/stored-decisions.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';
import { tempLedger, type TempLedger } from './helpers/ledger.js';

const DAY = 86_400_000;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const Q = { afterFailures: 3, baseMs: 60_000, maxMs: 3_600_000 };

function row(i: number, action: DecisionRow['action'], reason: string): DecisionRow {
  return {
    vmUuid: `vm-${String(i).padStart(6, '0')}`, vmName: `vm ${i}`, action, reason, current: '1.0.0', target: '1.2.0',
    agentType: 'LinuxOnKvm', architecture: 'x86_64', hostUuid: 'host-1',
  };
}

/** A fleet of 10: 6 steady-state skips, one of each decision that needs a row. */
function fleet(): DecisionRow[] {
  return [
    row(0, 'skip', 'up-to-date'), row(1, 'skip', 'up-to-date'), row(2, 'skip', 'up-to-date'),
    row(3, 'skip', 'ahead'), row(4, 'skip', 'not-user-vm'), row(5, 'skip', 'excluded'),
    row(6, 'attach', 'outdated'), row(7, 'defer', 'not-running'), row(8, 'skip', 'no-cdrom'), row(9, 'skip', 'untagged'),
  ];
}

let t: TempLedger;
let ledger: Ledger;

function countRows(table: 'runs' | 'decisions'): number {
  const db = new Database(t.file, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Records one finished run the way the reconciler does: trimmed rows, full counts. */
function recordRun(at: number, decisions = fleet(), regressions: string[] = []): number {
  const runId = ledger.startRun({ trigger: 'schedule', dryRun: false, now: at });
  ledger.recordDecisions(runId, decisions, decisionTrim(new Set(regressions)));
  for (const d of decisions.filter((x) => x.action === 'attach')) {
    ledger.beginAttach(runId, d.vmUuid, 'a'.repeat(32), '1.2.0', at);
    ledger.finishAttach(runId, d.vmUuid, { outcome: 'attached', error: null, now: at + 10, quarantine: Q });
  }
  ledger.finishRun(runId, { status: 'succeeded', counts: { ...countDecisions(decisions as Parameters<typeof countDecisions>[0]), succeeded: 1, failed: 0, verified: 0 }, now: at + 20 });
  return runId;
}

describe('ledger retention', () => {
  beforeEach(() => {
    t = tempLedger('gtr-retention-');
    ledger = t.ledger;
  });
  afterEach(() => {
    t.cleanup();
  });

  test('runs show lists the stored decisions and says how many were counted only', () => {
    const id = recordRun(T0);
    const run = ledger.getRun(id);
    assert.ok(run);
    const json = runJson(run);
    assert.equal(json.actions.length, 4);
    assert.equal(json.counts.vms, 10);
    assert.deepEqual(json.countedOnly, { 'skip/up-to-date': 3, 'skip/ahead': 1, 'skip/excluded': 1, 'skip/not-user-vm': 1 });
    assert.deepEqual(json.unchanged, {});
    const attach = json.actions.find((a) => a.action === 'attach');
    assert.equal(attach?.outcome, 'attached');
    assert.equal(attach?.jobUuid, 'a'.repeat(32));
  });

  test('retainRuns keeps the newest N runs and deletes the decisions of the others', () => {
    const ids = [0, 1, 2, 3, 4].map((i) => recordRun(T0 + i * 1_800_000));
    // The first run stores the attach, the defer and two actionable skips; later runs only the attach.
    assert.equal(countRows('decisions'), 4 + 4 * 1);
    const deleted = applyRetention(ledger, { retainDays: 0, retainRuns: 2 }, T0 + DAY);
    assert.equal(deleted, 3);
    assert.deepEqual(ledger.listRuns(10).map((r) => r.id), [ids[4], ids[3]]);
    assert.equal(countRows('decisions'), 2);
    assert.equal(ledger.getRun(ids[0]), null);
    // The rows of the unchanged defer and skips went with run 0: the next run stores them again.
    const next = recordRun(T0 + DAY + 1);
    assert.equal(ledger.getRun(next)?.actions.length, 4);
  });

  test('retainDays deletes runs started before the cut-off, whatever their number', () => {
    const old = recordRun(T0);
    const recent = recordRun(T0 + 10 * DAY);
    assert.equal(applyRetention(ledger, { retainDays: 7, retainRuns: 10_000 }, T0 + 12 * DAY), 1);
    assert.equal(ledger.getRun(old), null);
    assert.ok(ledger.getRun(recent));
  });

  test('0 means keep forever / no limit', () => {
    for (let i = 0; i < 5; i++) recordRun(T0 + i * DAY);
    assert.equal(applyRetention(ledger, { retainDays: 0, retainRuns: 0 }, T0 + 1000 * DAY), 0);
    assert.equal(countRows('runs'), 5);
  });

  test('a running run and a run with an attach still in doubt are never deleted', () => {
    const inDoubt = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 });
    ledger.recordDecisions(inDoubt, [row(6, 'attach', 'outdated')]);
    ledger.beginAttach(inDoubt, 'vm-000006', 'b'.repeat(32), '1.2.0', T0);
    ledger.finishRun(inDoubt, { status: 'interrupted', counts: {}, now: T0 + 10 });
    const running = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 + 1 });
    recordRun(T0 + 2 * DAY);
    assert.equal(applyRetention(ledger, { retainDays: 1, retainRuns: 1 }, T0 + 3 * DAY), 0);
    assert.equal(ledger.getRun(inDoubt)?.actions[0]?.outcome, 'interrupted', 'its PUT went out, its job was unresolved when the run stopped');
    assert.equal(ledger.getRun(running)?.status, 'running');
  });

  test('a long history stays bounded: rows grow with what needs attention, not with the fleet', () => {
    // 300 runs over a fleet of 1,000 where 950 are up to date and 50 stay stopped: the 50 defers are
    // stored once, and again only when retention deleted the run that held them; never 50 per run.
    const decisions = Array.from({ length: 1000 }, (_, i) => (i < 950 ? row(i, 'skip', 'up-to-date') : row(i, 'defer', 'not-running')));
    for (let i = 0; i < 300; i++) {
      recordRun(T0 + i * 1_800_000, decisions);
      applyRetention(ledger, { retainDays: 90, retainRuns: 100 }, T0 + i * 1_800_000);
    }
    assert.equal(countRows('runs'), 100);
    assert.equal(countRows('decisions'), 50);
    // Every stopped VM still has its decision among the kept runs.
    const kept = ledger.listRuns(100).flatMap((r) => ledger.getRun(r.id)?.actions ?? []);
    assert.equal(new Set(kept.map((a) => a.vmUuid)).size, 50);
  });
});

describe('gtr reconcile with retention (CLI, simulator)', () => {
  let sim: Simulator;
  let ws: Workspace;
  before(async () => {
    sim = await startSimulator({ fleet: { vms: 200, seed: 3 }, jobDurationMs: 1, guests: { installShare: 1 } });
    ws = await workspace();
    ws.writeConfig(simConfig(ws, sim, { policy: { maxConcurrency: 20, maxPerHost: 20, maxErrors: '100%' }, ledger: { retainDays: 90, retainRuns: 2 } }));
  });
  after(async () => {
    await sim.close();
    ws.cleanup();
  });

  test('--json lists every decision; history keeps rows for what needs attention and only retainRuns runs', async () => {
    type Report = { runId: number; counts: Record<string, number>; actions: { action: string; reason: string }[] };
    const ids: number[] = [];
    let first: Report | null = null;
    for (let i = 0; i < 3; i++) {
      const r = await gtr(['reconcile', '--json', '--config', ws.configPath]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as Report;
      assert.equal(report.actions.length, 200);
      ids.push(report.runId);
      first ??= report;
    }
    assert.ok(first && first.counts['skip/up-to-date'] > 0);

    const runs = await gtr(['runs', '--json', '--config', ws.configPath]);
    assert.deepEqual((JSON.parse(runs.stdout) as { runs: { id: number }[] }).runs.map((r) => r.id), [ids[2], ids[1]]);

    const shown = await gtr(['runs', 'show', String(ids[1]), '--json', '--config', ws.configPath]);
    assert.equal(shown.code, 0, shown.stderr);
    type Shown = { counts: Record<string, number>; countedOnly: Record<string, number>; unchanged: Record<string, number>; actions: { action: string; reason: string }[] };
    const run = JSON.parse(shown.stdout) as Shown;
    assert.ok(!run.actions.some((a) => a.action === 'skip' && a.reason === 'up-to-date'));
    assert.equal(run.countedOnly['skip/up-to-date'], run.counts['skip/up-to-date']);
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    assert.equal(run.actions.length + sum(run.countedOnly) + sum(run.unchanged), run.counts.vms);
    // The second run repeats the first one's defers and actionable skips: they are not listed again.
    assert.ok(sum(run.unchanged) > 0);
    assert.ok(!run.actions.some((a) => a.action !== 'attach'));

    const text = await gtr(['runs', 'show', String(ids[1]), '--config', ws.configPath]);
    assert.match(text.stdout, /not listed \(stored as counts only\): .*skip\/up-to-date=\d+/);
    assert.match(text.stdout, /not listed \(unchanged since the VM's last listed decision, see earlier runs\): .*=\d+/);
  });
});
