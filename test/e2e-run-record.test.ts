// The record of an interrupted run tells what it did and what became of it (docs/design.md 3
// and 6), from the outside: a real `gtr reconcile` process killed with SIGKILL or stopped with SIGINT
// while its attaches are in flight on the simulator (their jobs held there), then the next real run,
// and `gtr runs show` before and after it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { Simulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { exited, gtr, spawnGtr, waitFor, withSimSetup, type Workspace } from './helpers/cli.js';
import { logLines } from './helpers/daemon.js';

type Action = { vmUuid: string; outcome: string | null; resolution?: string; resolvedBy?: number; jobUuid: string | null };
type Shown = { status: string; startedAt: string; finishedAt: string | null; interruptedAt?: string; counts: Record<string, number>; actions: Action[] };

function withFleet(vms: number, fn: (sim: Simulator, ws: Workspace, config: string) => Promise<void>): Promise<void> {
  const policy = { maxConcurrency: vms, maxPerHost: vms, maxErrors: '50%' };
  return withSimSetup({ fleet: testFleet(vms), jobDurationMs: 5 }, { policy }, async (s) => {
    try {
      await fn(s.sim, s.ws, s.config);
    } finally {
      s.sim.releaseAttachJobs();
    }
  });
}

async function show(config: string, id: number): Promise<Shown> {
  const r = await gtr(['runs', 'show', String(id), '--config', config, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Shown;
}

async function nextRun(config: string): Promise<Record<string, number>> {
  const r = await gtr(['reconcile', '--config', config, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { counts: Record<string, number> }).counts;
}

describe('the record of an interrupted run', () => {
  it('SIGKILL with 5 attaches in flight: the run says what it planned and sent; the next run marks it, resolves each attach on its row, and sends none again', async () => {
    await withFleet(5, async (sim, _ws, config) => {
      sim.holdAttachJobs();
      const child = spawnGtr(['reconcile', '--config', config, '--json']);
      await waitFor('5 attaches in flight', () => sim.attachInFlight === 5, 60_000);
      child.kill('SIGKILL');
      await exited(child);

      // Before anyone cleans up: still `running` (its process cannot say otherwise), but its plan is on record.
      const killed = await show(config, 1);
      assert.equal(killed.status, 'running');
      assert.equal(killed.counts.attach, 5, 'what it planned, although it never wrote its end');
      assert.deepEqual(killed.actions.map((a) => a.outcome), ['pending', 'pending', 'pending', 'pending', 'pending']);

      sim.releaseAttachJobs();
      const counts = await nextRun(config);
      assert.equal(counts.resolved, 5, 'the next run says it learned their results');
      assert.equal(counts.attach, 0, 'and attaches none of them again');
      assert.equal(sim.attachesStarted().length, 5);

      const after = await show(config, 1);
      assert.equal(after.status, 'interrupted');
      assert.equal(after.counts.attach, 5);
      assert.equal(after.counts.interrupted, 5);
      assert.ok(after.interruptedAt, 'when it was found dead');
      assert.ok(after.finishedAt && after.finishedAt >= after.startedAt && after.finishedAt <= after.interruptedAt,
        `finished when last seen alive (${after.finishedAt}), not when the next run cleaned up (${after.interruptedAt})`);
      for (const a of after.actions) {
        assert.deepEqual([a.outcome, a.resolution, a.resolvedBy], ['interrupted', 'attached', 2], JSON.stringify(a));
      }
      const text = await gtr(['runs', 'show', '1', '--wide', '--config', config]);
      assert.match(text.stdout, /interrupted -> attached, resolved by run 2/);
      assert.match(text.stdout, /last seen alive; found stopped and marked interrupted at /);
    });
  });

  it('SIGINT with attaches in flight: the summary counts what was sent and says what the next run does; the next run resolves them on the old rows', async () => {
    await withFleet(3, async (sim, _ws, config) => {
      sim.holdAttachJobs();
      const child = spawnGtr(['reconcile', '--config', config], { GTR_SHUTDOWN_GRACE_MS: '300' });
      await waitFor('3 attaches in flight', () => sim.attachInFlight === 3, 60_000);
      child.kill('SIGINT');
      const end = await exited(child);
      assert.equal(end.code, 130, child.output().stderr);
      const summary = child.output().stdout;
      assert.match(summary, /Run #1: interrupted/);
      assert.match(summary, /Outcomes: verified 0, attached \(awaiting install\) 0, failed 0, interrupted 3 \(sent, result unknown\)/);
      assert.match(summary, /The next run polls the jobs of the 3 sent \(never sends them again\)\./);

      const stopped = await show(config, 1);
      assert.equal(stopped.status, 'interrupted');
      assert.equal(stopped.counts.interrupted, 3);
      assert.ok(stopped.actions.every((a) => a.outcome === 'interrupted' && a.resolution === undefined));
      assert.match((await gtr(['runs', 'show', '1', '--wide', '--config', config])).stdout, /interrupted \(job not resolved yet: the next run polls it\)/);

      sim.releaseAttachJobs();
      assert.equal((await nextRun(config)).resolved, 3);
      const after = await show(config, 1);
      assert.equal(after.status, 'interrupted', 'the stopped run keeps its status');
      assert.deepEqual(after.actions.map((a) => `${a.outcome} -> ${a.resolution} by ${a.resolvedBy}`), Array(3).fill('interrupted -> attached by 2'));
      assert.equal(sim.attachesStarted().length, 3, 'nothing sent again');
    });
  });

  it('a database locked by another process at the end of a gtr reconcile: the CLI writes the end itself once the lock goes, before it exits; the next run replays the attaches', async () => {
    await withFleet(3, async (sim, ws, config) => {
      sim.holdAttachJobs();
      const child = spawnGtr(['reconcile', '--config', config]);
      await waitFor('3 attaches in flight', () => sim.attachInFlight === 3, 60_000);
      // Another process takes the write lock while the jobs end: their outcomes and then the run's end cannot be written.
      const other = new Database(ws.database);
      other.exec('BEGIN IMMEDIATE');
      sim.releaseAttachJobs();
      // The line that the run's end could not be written: the status it holds back, and the ledger's error.
      const unwritten = (l: Record<string, unknown>) => l.level === 50 && typeof l.status === 'string' && (l.error as { code?: string } | undefined)?.code === 'GTR_LEDGER_UNUSABLE';
      const held = await waitFor('the run says it could not write its end', () => logLines(child.output().stderr).find(unwritten), 60_000);
      assert.equal(held.status, 'failed');
      other.exec('ROLLBACK');
      other.close();
      const end = await exited(child);
      assert.notEqual(end.code, 0, 'the run failed on the locked database');
      assert.match(child.output().stderr, /locked/i);
      assert.doesNotMatch(child.output().stderr, /^\s+at /m, 'no stack trace');

      // Written by the CLI itself before it exited: no later process was needed to close it.
      const closed = await show(config, 1);
      assert.equal(closed.status, 'failed');
      assert.equal(closed.interruptedAt, undefined);
      assert.equal(closed.counts.attach, 3, 'it keeps what it planned');

      const counts = await nextRun(config);
      assert.equal(counts.resolved, 3);
      assert.deepEqual((await show(config, 1)).actions.map((a) => a.outcome), ['attached', 'attached', 'attached'], 'replayed from their job uuids');
      assert.equal(sim.attachesStarted().length, 3, 'nothing sent again');
    });
  });
});
