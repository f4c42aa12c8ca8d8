// Fault suite, end to end through the CLI: a management node restart in the middle of a run (sessions
// and jobs gone, job polls answer 404) and jobs stuck past zstack.jobTimeoutMs. The outcome is recorded
// as in doubt with the client code (never a failure, never in the error budget), nothing is re-sent
// blindly, and the next run re-reads the world.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type SimOptions } from '../src/sim/index.js';
import { exited, gtr, simConfig, spawnGtr, waitFor, workspace, type Workspace } from './helpers/cli.js';
import { checkExit, checkInvariants, outdatedFleet } from './helpers/fault.js';

type Report = { status: string; actions: { vmUuid: string; action: string; reason: string; outcome: string | null; error: { code: string } | null }[] };

async function setup(simOpts: SimOptions, extra: Parameters<typeof simConfig>[2]) {
  const sim = await startSimulator({ guests: { installShare: 1 }, ...simOpts });
  const ws: Workspace = await workspace();
  const config = ws.writeConfig(simConfig(ws, sim, extra));
  return { sim, ws, config, done: async () => { await sim.close(); ws.cleanup(); } };
}

describe('fault suite: management node restart mid-run', () => {
  it('lost jobs are recorded as GTR_JOB_LOST, never re-sent; the next run defers them, one after reattachAfter re-attaches', async () => {
    const s = await setup({ fleet: outdatedFleet(8, 8), jobDurationMs: 1500 }, { policy: { maxConcurrency: 4, maxPerHost: 1, maxErrors: '100%' } });
    try {
      const child = spawnGtr(['reconcile', '--config', s.config, '--json']);
      await waitFor('4 attaches in flight', () => s.sim.attachesStarted().length >= 4);
      const inFlight = s.sim.attachesStarted().map((a) => a.vmUuid);
      s.sim.restart(); // sessions and jobs gone: polls answer 404
      await exited(child);
      const first = { code: child.exitCode, ...child.output() };
      assert.equal(checkExit(first), 'succeeded', `an MN restart is no failure: ${first.stderr}`);
      const report = JSON.parse(first.stdout) as Report;
      const lost = report.actions.filter((a) => a.error?.code === 'GTR_JOB_LOST').map((a) => a.vmUuid);
      assert.deepEqual(lost.sort(), inFlight.sort(), 'exactly the jobs dropped by the restart are reported lost');
      for (const a of report.actions.filter((x) => lost.includes(x.vmUuid))) assert.equal(a.outcome, 'in-doubt');
      assert.equal(report.actions.filter((a) => a.outcome === 'verified' || a.outcome === 'attached').length, 4, 'the others finish on the restarted MN');
      assert.deepEqual(checkInvariants(s.sim.attachesStarted(), s.ws.database).duplicates, [], 'no lost job was re-sent in the run');
      const sent = s.sim.attachesStarted().length;

      const second = await gtr(['reconcile', '--config', s.config, '--json']);
      assert.equal(checkExit(second), 'noop');
      const again = JSON.parse(second.stdout) as Report;
      for (const a of again.actions.filter((x) => lost.includes(x.vmUuid))) {
        assert.equal(`${a.action}/${a.reason}`, 'defer/awaiting-install', `${a.vmUuid}: not re-sent within reattachAfter`);
      }
      assert.equal(s.sim.attachesStarted().length, sent, 'nothing sent again within reattachAfter');

      // Level-triggered: once reattachAfter has passed, the next run re-reads the world and attaches
      // exactly the VMs still out of date (the lost ones), not those the restarted MN finished.
      const later = s.ws.writeConfig(simConfig(s.ws, s.sim, { policy: { maxConcurrency: 4, maxPerHost: 1, reattachAfter: '1ms' } }));
      const third = await gtr(['reconcile', '--config', later, '--json']);
      assert.equal(checkExit(third), 'succeeded');
      const resent = s.sim.attachesStarted().slice(sent).map((a) => a.vmUuid);
      assert.deepEqual(resent.sort(), lost.sort());
      assert.deepEqual(checkInvariants(s.sim.attachesStarted(), s.ws.database).nonTerminalRuns, []);
    } finally {
      await s.done();
    }
  });
});

describe('fault suite: stuck jobs', () => {
  it('jobs that never finish end as GTR_JOB_TIMEOUT at zstack.jobTimeoutMs; the next run does not re-send them', async () => {
    const s = await setup(
      { fleet: outdatedFleet(10, 5), jobDurationMs: 10, faults: { seed: 5, stuckJobRate: 0.4 } },
      { zstack: { jobTimeoutMs: 400 }, policy: { maxConcurrency: 5, maxPerHost: 1, maxErrors: '100%' } },
    );
    try {
      const first = await gtr(['reconcile', '--config', s.config, '--json']);
      assert.equal(checkExit(first), 'succeeded', `a job that never ends is in doubt, not failed: ${first.stderr}`);
      const report = JSON.parse(first.stdout) as Report;
      const stuck = report.actions.filter((a) => a.error?.code === 'GTR_JOB_TIMEOUT').map((a) => a.vmUuid);
      for (const a of report.actions.filter((x) => stuck.includes(x.vmUuid))) assert.equal(a.outcome, 'in-doubt');
      assert.ok(stuck.length > 0 && stuck.length < 10, `some jobs stuck (${stuck.length})`);
      assert.equal(s.sim.faultsInjected()['stuck-job'], stuck.length, 'each stuck job is reported as a timeout');
      const sent = s.sim.attachesStarted().length;
      const second = await gtr(['reconcile', '--config', s.config, '--json']);
      assert.equal(checkExit(second), 'noop');
      for (const a of (JSON.parse(second.stdout) as Report).actions.filter((x) => stuck.includes(x.vmUuid))) {
        assert.equal(`${a.action}/${a.reason}`, 'defer/awaiting-install');
      }
      assert.equal(s.sim.attachesStarted().length, sent, 'a stuck job is never re-sent within reattachAfter');
      const inv = checkInvariants(s.sim.attachesStarted(), s.ws.database);
      assert.deepEqual([inv.duplicates, inv.nonTerminalRuns, inv.unrecorded, inv.pending], [[], [], [], 0]);
    } finally {
      await s.done();
    }
  });
});
