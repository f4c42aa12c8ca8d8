// Every run ends, and its record tells the truth (docs/design.md 1 and 6): the pass
// over the real simulator and a real SQLite file, with the database locked by another connection at
// the run's end, and bookkeeping after the run that throws.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pino from 'pino';
import { startSimulator } from '../src/sim/index.js';
import { Ledger } from '../src/ledger/index.js';
import { loadConfig } from '../src/config/load.js';
import { withLease } from '../src/reconcile/lease.js';
import { reconcile } from '../src/reconcile/run.js';
import type { PassHook } from '../src/reconcile/hooks.js';
import { fastClient } from './helpers/zstack.js';
import { simConfig, waitFor, workspace } from './helpers/cli.js';
import { testFleet } from './helpers/fleet.js';

const silent = pino({ level: 'silent' });

async function setup(vms: number, maxConcurrency = vms) {
  const sim = await startSimulator({ fleet: testFleet(vms), jobDurationMs: 5 });
  const ws = await workspace();
  const file = ws.writeConfig(simConfig(ws, sim, { policy: { maxConcurrency, maxPerHost: 1, maxErrors: '50%' } }));
  const { config } = loadConfig({ file, env: {} });
  const ledger = Ledger.open(ws.database);
  const client = fastClient(sim);
  const deps = { config, client, ledger, logger: silent, now: Date.now };
  return {
    sim, ws, ledger, client, deps,
    async done() {
      ledger.close();
      await client.close();
      await sim.close();
      ws.cleanup();
    },
  };
}

/** The next real pass of this process (its first step is the recovery). */
async function nextRun(s: Awaited<ReturnType<typeof setup>>) {
  const { report } = await withLease(s.ledger, { purpose: 'test', now: Date.now }, (fence) =>
    reconcile(s.deps, { trigger: 'schedule', dryRun: false, fence }));
  return report;
}

describe('every run ends', () => {
  it('bookkeeping after the run that throws never rewrites it: status and counts stay, the failure is a warning of the run', async () => {
    const s = await setup(3);
    try {
      const broken: PassHook = {
        name: 'broken-hook',
        plugIn: () => ({ gates: [], observers: [] }),
        afterRun: () => {
          throw new Error('disk I/O error while observing rollout members');
        },
      };
      const { report, exitCode } = await withLease(s.ledger, { purpose: 'test', now: Date.now }, (fence) =>
        reconcile(s.deps, { trigger: 'cli', dryRun: false, fence, hooks: [broken] }));
      assert.equal(exitCode, 0);
      assert.equal(report.status, 'succeeded');
      assert.deepEqual(report.bookkeepingFailures, ['broken-hook: disk I/O error while observing rollout members']);
      const run = s.ledger.getRun(report.runId);
      assert.equal(run?.status, 'succeeded', 'the record is the run\'s own, not "failed"');
      assert.equal(run?.counts.attach, 3);
      assert.equal(run?.counts.attached, 3);
      assert.deepEqual(run?.warnings.map((w) => w.code), ['bookkeeping-failed']);
      assert.equal(s.sim.attachesStarted().length, 3);
    } finally {
      await s.done();
    }
  });

  it('a database locked at the run\'s end: the run is closed by its own process at its next start, and its attaches are replayed, never sent again', async () => {
    const s = await setup(3);
    try {
      s.sim.holdAttachJobs();
      const running = withLease(s.ledger, { purpose: 'test', now: Date.now }, (fence) =>
        reconcile(s.deps, { trigger: 'schedule', dryRun: false, fence }));
      await waitFor('3 attaches in flight', () => s.sim.attachInFlight === 3);
      // Another process holds the write lock for longer than the busy timeout while the jobs finish.
      const other = new Database(s.ws.database);
      other.exec('BEGIN IMMEDIATE');
      s.sim.releaseAttachJobs();
      const outcome = await running.then(() => 'returned', (e: unknown) => (e instanceof Error ? e.message : String(e)));
      assert.match(outcome, /locked/i, 'the run reports the locked database');
      const runId = (other.prepare("SELECT id FROM runs ORDER BY id DESC LIMIT 1").get() as { id: number }).id;
      assert.equal((other.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string }).status, 'running', 'not written yet');
      other.exec('ROLLBACK');
      other.close();
      // The next tick: its recovery first closes this process's own run, then replays its attaches.
      await nextRun(s);
      const run = s.ledger.getRun(runId);
      assert.equal(run?.status, 'failed');
      assert.match(run?.message ?? '', /locked/i);
      assert.deepEqual(run?.actions.filter((a) => a.action === 'attach').map((a) => a.outcome), ['attached', 'attached', 'attached'], 'the replay polled the jobs');
      assert.equal(s.sim.attachesStarted().length, 3, 'nothing sent again');
    } finally {
      await s.done();
    }
  });

  it('a run stopped by a ledger write failure records not-started for every attach it never sent', async () => {
    const s = await setup(4, 1);
    try {
      const running = withLease(s.ledger, { purpose: 'test', now: Date.now }, (fence) =>
        reconcile(s.deps, { trigger: 'cli', dryRun: false, fence, limit: 4 }));
      void running.catch(() => undefined);
      // Lock the database as soon as the first attach reached the MN: the next starts cannot be written.
      const held = s.sim.holdRequest({ api: 'AttachGuestToolsIsoToVm' });
      await held.reached;
      const other = new Database(s.ws.database);
      other.exec('BEGIN IMMEDIATE');
      held.release();
      await running.catch(() => undefined);
      other.exec('ROLLBACK');
      other.close();
      const next = await nextRun(s);
      const run = s.ledger.getRun(next.runId - 1);
      assert.ok(run && run.status !== 'running');
      const outcomes = s.ledger.getRun(run.id)?.actions.filter((a) => a.action === 'attach').map((a) => a.outcome) ?? [];
      assert.equal(outcomes.length, 4);
      assert.deepEqual(outcomes, ['attached', 'not-started', 'not-started', 'not-started'], 'the one sent is replayed; the rest never started');
      // The next run attached the three never sent, and not the one its replay found attached.
      const sent = s.sim.attachesStarted().map((a) => a.vmUuid);
      assert.equal(sent.length, 4);
      assert.equal(new Set(sent).size, 4, 'no VM attached twice');
      assert.equal(next.counts.resolved, 1, 'the next run says it resolved the earlier attach');
    } finally {
      await s.done();
    }
  });
});
