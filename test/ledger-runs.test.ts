import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import Database from 'better-sqlite3';
import { processStartTime } from '../src/ledger/process-alive.js';
import { Ledger, type DecisionRow } from '../src/ledger/index.js';
import { tempLedger, type TempLedger } from './helpers/ledger.js';

let t: TempLedger;
let ledger: Ledger;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const Q = { afterFailures: 3, baseMs: 60_000, maxMs: 3_600_000 };

function decision(i: number, over: Partial<DecisionRow> = {}): DecisionRow {
  return {
    vmUuid: `vm-${String(i).padStart(6, '0')}`,
    vmName: `vm ${i}`,
    action: 'attach',
    reason: 'outdated',
    current: '1.0.0',
    target: '1.2.0',
    agentType: 'LinuxOnKvm',
    architecture: 'x86_64',
    hostUuid: `host-${i % 7}`,
    ...over,
  };
}

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  assert.ok(pid);
  await once(child, 'exit');
  return pid;
}

/** Pretends another process on this host wrote the run (a second connection, as that process would). */
function setRunPid(runId: number, pid: number): void {
  const db = new Database(t.file);
  try {
    // The run's identity becomes that process's: its pid and start time (same host and boot).
    db.prepare('UPDATE runs SET pid = ?, start_time = ? WHERE id = ?').run(pid, processStartTime(pid), runId);
  } finally {
    db.close();
  }
}

beforeEach(() => {
  t = tempLedger('gtr-ledger-runs-');
  ledger = t.ledger;
});

afterEach(() => {
  t.cleanup();
});

describe('run lifecycle', () => {
  test('start, plan, decisions, attach outcomes, verify, finish; getRun returns it all', () => {
    const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 });
    const running = ledger.getRun(runId);
    assert.equal(running?.status, 'running');
    assert.equal(running?.startedAt, '2025-01-01T00:00:00.000Z');
    assert.equal(running?.finishedAt, null);
    assert.equal(running?.pid, process.pid);
    assert.equal(running?.host, os.hostname());

    const targets = [{ agentType: 'LinuxOnKvm', architecture: 'x86_64', version: '1.2.0', iso: '/opt/zstack-dvd/x.iso' }];
    ledger.setRunPlan(runId, { planHash: 'sha256:abc', targets });
    ledger.recordDecisions(runId, [
      decision(1),
      decision(2),
      decision(3),
      decision(4, { action: 'skip', reason: 'up-to-date', current: '1.2.0', message: 'already there' }),
    ]);
    ledger.beginAttach(runId, 'vm-000001', 'job-1', '1.2.0', T0 + 1000);
    ledger.replaceJobUuid(runId, 'vm-000001', 'job-1b');
    ledger.beginAttach(runId, 'vm-000002', 'job-2', '1.2.0', T0 + 1000);
    ledger.finishAttach(runId, 'vm-000001', { outcome: 'attached', error: null, now: T0 + 2000, quarantine: Q });
    const error = { code: 'VM.1003', description: 'no cdrom', details: 'the VM has no free CD-ROM' };
    ledger.finishAttach(runId, 'vm-000002', { outcome: 'failed', error, now: T0 + 2000, quarantine: Q });
    ledger.deferDecisions(runId, ['vm-000003', 'vm-000001'], 'budget-halted'); // vm-000001 already ran: stays attach
    ledger.markVerified(runId, ['vm-000001', 'vm-000002']); // a failed attach is never verified
    ledger.finishRun(runId, { status: 'partial', counts: { vms: 4, attach: 2, failed: 1 }, now: T0 + 5000, message: 'one failed' });

    const run = ledger.getRun(runId);
    assert.ok(run);
    assert.equal(run.status, 'partial');
    assert.equal(run.dryRun, false);
    assert.equal(run.trigger, 'cli');
    assert.equal(run.planHash, 'sha256:abc');
    assert.deepEqual(run.targets, targets);
    assert.deepEqual(run.counts, { vms: 4, attach: 2, failed: 1 });
    assert.equal(run.finishedAt, '2025-01-01T00:00:05.000Z');
    assert.equal(run.message, 'one failed');
    const by = new Map(run.actions.map((a) => [a.vmUuid, a]));
    assert.deepEqual(run.actions.map((a) => a.vmUuid), ['vm-000001', 'vm-000002', 'vm-000003', 'vm-000004']);
    assert.deepEqual(by.get('vm-000001'), {
      ...decision(1), message: null, outcome: 'verified', resolution: null, resolvedBy: null, verifiedBy: 'guest', jobUuid: 'job-1b', error: null,
      startedAt: '2025-01-01T00:00:01.000Z', finishedAt: '2025-01-01T00:00:02.000Z',
    });
    assert.equal(by.get('vm-000002')?.outcome, 'failed');
    assert.deepEqual(by.get('vm-000002')?.error, error);
    assert.equal(by.get('vm-000003')?.action, 'defer');
    assert.equal(by.get('vm-000003')?.reason, 'budget-halted');
    assert.equal(by.get('vm-000003')?.outcome, null);
    assert.equal(by.get('vm-000004')?.message, 'already there');

    const states = ledger.vmStates();
    assert.equal(states.get('vm-000001')?.lastAttachTarget, '1.2.0');
    assert.equal(states.get('vm-000001')?.lastAttachAt, T0 + 1000);
    assert.equal(states.get('vm-000002')?.consecutiveFailures, 1);
    assert.equal(states.has('vm-000003'), false);
  });

  test('listRuns is newest first and lastRun is the newest; unknown ids give null', () => {
    const ids = [0, 1, 2].map((i) => ledger.startRun({ trigger: 'schedule', dryRun: i === 1, now: T0 + i }));
    assert.deepEqual(ledger.listRuns(10).map((r) => r.id), [...ids].reverse());
    assert.deepEqual(ledger.listRuns(2).map((r) => r.id), [ids[2], ids[1]]);
    assert.equal(ledger.listRuns(10)[1].dryRun, true);
    assert.equal(ledger.lastRun()?.id, ids[2]);
    assert.equal(ledger.getRun(9999), null);
  });

  test('an attach without a recorded attach decision is refused', () => {
    const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 });
    ledger.recordDecisions(runId, [decision(1, { action: 'skip', reason: 'no-cdrom' })]);
    assert.throws(() => ledger.beginAttach(runId, 'vm-000001', 'job', '1.2.0', T0));
    assert.throws(() => ledger.beginAttach(runId, 'vm-unknown', 'job', '1.2.0', T0));
    ledger.recordDecisions(runId, [decision(2)]);
    ledger.beginAttach(runId, 'vm-000002', 'job-a', '1.2.0', T0);
    assert.throws(() => ledger.beginAttach(runId, 'vm-000002', 'job-b', '1.2.0', T0), /no unstarted attach/);
    assert.equal(ledger.getRun(runId)?.actions[1].jobUuid, 'job-a');
    assert.throws(() => ledger.finishAttach(runId, 'vm-000001', { outcome: 'attached', error: null, now: T0, quarantine: Q }));
  });

  test('100k decisions in one call are all stored', () => {
    const runId = ledger.startRun({ trigger: 'schedule', dryRun: true, now: T0 });
    const rows = Array.from({ length: 100_000 }, (_, i) => decision(i, i % 3 ? {} : { action: 'skip', reason: 'up-to-date' }));
    ledger.recordDecisions(runId, rows);
    const run = ledger.getRun(runId);
    assert.equal(run?.actions.length, 100_000);
    assert.equal(run?.actions.filter((a) => a.action === 'skip').length, 33_334);
    assert.equal(run?.actions[99_999].vmUuid, 'vm-099999');
  });

  test('a failed batch stores nothing', () => {
    const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 });
    assert.throws(() => ledger.recordDecisions(runId, [decision(1), decision(2), decision(1)]));
    assert.deepEqual(ledger.getRun(runId)?.actions, []);
  });

  test('pruneRuns keeps the newest and every recent run, with their decisions', () => {
    const ids = [0, 1, 2, 3].map((i) => {
      const id = ledger.startRun({ trigger: 'schedule', dryRun: false, now: T0 + i * 86_400_000 });
      ledger.recordDecisions(id, [decision(i)]);
      ledger.finishRun(id, { status: 'noop', counts: {}, now: T0 + i * 86_400_000 });
      return id;
    });
    assert.equal(ledger.pruneRuns({ olderThan: T0 + 2 * 86_400_000, keep: 3 }), 1);
    assert.deepEqual(ledger.listRuns(10).map((r) => r.id), [ids[3], ids[2], ids[1]]);
    assert.equal(ledger.getRun(ids[0]), null);
  });
});

describe('interrupted runs', () => {
  test('a run whose process died becomes interrupted; its pending attaches are returned', async () => {
    const pid = await deadPid();
    const runId = ledger.startRun({ trigger: 'schedule', dryRun: false, now: T0 });
    ledger.setRunPlan(runId, { planHash: 'sha256:x', targets: [], counts: { vms: 3, attach: 2, defer: 1, 'attach/outdated': 2, 'defer/not-running': 1 } });
    ledger.recordDecisions(runId, [decision(1), decision(2), decision(3, { action: 'defer', reason: 'not-running' })]);
    ledger.beginAttach(runId, 'vm-000001', 'job-1', '1.2.0', T0 + 10);
    setRunPid(runId, pid);

    const result = ledger.markInterruptedRuns(T0 + 60_000);
    assert.deepEqual(result.runIds, [runId]);
    assert.deepEqual(result.pendingJobs, [{ runId, vmUuid: 'vm-000001', jobUuid: 'job-1', target: '1.2.0' }]);
    const run = ledger.getRun(runId);
    assert.equal(run?.status, 'interrupted');
    // Finished when last seen alive (its last write, the attach's start), marked when the next process found it dead.
    assert.equal(run?.finishedAt, '2025-01-01T00:00:00.010Z');
    assert.equal(run?.interruptedAt, '2025-01-01T00:01:00.000Z');
    assert.match(run?.message ?? '', new RegExp(`process ${pid}`));
    // What it planned and did, although it never wrote its end.
    assert.deepEqual(run?.counts, { vms: 3, attach: 2, defer: 1, 'attach/outdated': 2, 'defer/not-running': 1, interrupted: 1, 'not-started': 1, succeeded: 0 });
    const outcomes = Object.fromEntries(run?.actions.map((a) => [a.vmUuid, a.outcome]) ?? []);
    assert.deepEqual(outcomes, { 'vm-000001': 'interrupted', 'vm-000002': 'not-started', 'vm-000003': null });

    // Still in doubt at the next start until resolved; resolving is idempotent.
    assert.deepEqual(ledger.markInterruptedRuns(T0 + 70_000).pendingJobs.length, 1);
    const lost = { code: 'GTR_JOB_LOST', description: 'job unknown', details: 'the job has been expired' };
    ledger.resolvePendingJob(runId, 'vm-000001', { outcome: 'in-doubt', error: lost, now: T0 + 80_000, resolvedBy: runId + 1 });
    ledger.resolvePendingJob(runId, 'vm-000001', { outcome: 'attached', error: null, now: T0 + 90_000, resolvedBy: runId + 2 });
    assert.deepEqual(ledger.markInterruptedRuns(T0 + 100_000), { runIds: [], pendingJobs: [] });
    const resolved = ledger.getRun(runId)?.actions[0];
    assert.deepEqual([resolved?.outcome, resolved?.resolution, resolved?.resolvedBy, resolved?.error], ['interrupted', 'in-doubt', runId + 1, lost]);
    assert.equal(resolved?.finishedAt, '2025-01-01T00:01:20.000Z');
    // Unknown to the MN is not proof it never ran: the VM keeps waiting for reattachAfter, no failure counted.
    assert.equal(ledger.vmStates().get('vm-000001')?.lastAttachTarget, '1.2.0');
    assert.equal(ledger.vmStates().get('vm-000001')?.consecutiveFailures, 0);
  });

  test('a run whose process is alive is left running, as is this process\'s own run', () => {
    const own = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 });
    const other = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 });
    const seen: [number, string][] = [];
    const result = ledger.markInterruptedRuns(T0 + 1, ({ pid, host }) => {
      seen.push([pid, host]);
      return true;
    });
    assert.deepEqual(result, { runIds: [], pendingJobs: [] });
    assert.deepEqual(seen, []); // both are this process's runs: never probed
    assert.equal(ledger.getRun(own)?.status, 'running');
    assert.equal(ledger.getRun(other)?.status, 'running');
  });

  test('the default liveness probe keeps a run of a live process on this host', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const runId = ledger.startRun({ trigger: 'schedule', dryRun: false, now: T0 });
      assert.ok(child.pid);
      setRunPid(runId, child.pid);
      assert.deepEqual(ledger.markInterruptedRuns(T0 + 1).runIds, []);
      assert.equal(ledger.getRun(runId)?.status, 'running');
      child.kill();
      await once(child, 'exit');
      assert.deepEqual(ledger.markInterruptedRuns(T0 + 2).runIds, [runId]);
    } finally {
      child.kill();
    }
  });

  test('resolving a pending attach as failed counts a failure', () => {
    const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: T0 });
    ledger.recordDecisions(runId, [decision(1)]);
    ledger.beginAttach(runId, 'vm-000001', 'job-1', '1.2.0', T0);
    const error = { code: 'GTR_JOB_LOST', description: 'job lost', details: 'unknown job job-1' };
    ledger.resolvePendingJob(runId, 'vm-000001', { outcome: 'failed', error, now: T0 + 5, resolvedBy: null });
    assert.deepEqual(ledger.getRun(runId)?.actions[0].error, error);
    assert.equal(ledger.vmStates().get('vm-000001')?.consecutiveFailures, 1);
    assert.equal(ledger.vmStates().get('vm-000001')?.lastAttachTarget, '1.2.0');
  });
});
