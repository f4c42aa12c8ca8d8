// The leader check in the daemon and `gtr reconcile`, as real child processes against the simulator.
// The check is a command (`test -e FLAG`), so the test moves leadership by creating and removing a
// file: a standby's ticks read and record nothing and its role changes are logged once each; a leader
// attaches; a leader that loses leadership mid-run defers the rest (defer/not-leader).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { gtr, simConfig, waitFor, workspace, type Workspace } from './helpers/cli.js';
import { startDaemon, type LogLine } from './helpers/daemon.js';

const EVERY_SECOND = '* * * * * *';

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await request(url);
  return JSON.parse(await res.body.text()) as Record<string, unknown>;
}

async function gtrLeader(url: string): Promise<string | undefined> {
  const text = await (await request(`${url}/metrics`)).body.text();
  return /^gtr_leader (\d)$/m.exec(text)?.[1];
}

// Log levels: a standby's line is a warning, a leader's info, a failed check's an error.
const WARN = 40;
const INFO = 30;

/** The leadership's log lines (one per role change) by their fields: the role, the one before it, the level. */
const roleLines = (lines: LogLine[]) => lines.filter((l) => typeof l.leaderCheck === 'string').map((l) => ({ role: l.role, was: l.was, level: l.level }));

interface Setup {
  sim: Simulator;
  ws: Workspace;
  config: string;
  flag: string;
  /** How many times the leader check ran so far (the command counts itself). */
  checks: () => number;
}

async function withLeaderSetup(vms: number, policy: Record<string, unknown>, fn: (s: Setup) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ fleet: testFleet(vms), jobDurationMs: 10, guests: { installShare: 1 }, password: 'Leader-Secret-1' });
  const ws = await workspace();
  const flag = join(ws.dir, 'i-lead');
  const counter = join(ws.dir, 'checks');
  const config = ws.writeConfig(simConfig(ws, sim, {
    schedule: { cron: EVERY_SECOND },
    http: { listen: '127.0.0.1:0' },
    log: { level: 'info' },
    policy,
    ha: { leaderCheck: { command: ['/bin/sh', '-c', `echo . >> ${counter}; test -e ${flag}`] } },
  }));
  const checks = () => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').length - 1 : 0);
  try {
    await fn({ sim, ws, config, flag, checks });
  } finally {
    await sim.close();
    ws.cleanup();
  }
}

describe('leader check: the daemon', () => {
  it('a standby skips every tick (no inventory read, no run) with one log line; once it leads it attaches', async () => {
    await withLeaderSetup(4, {}, async ({ sim, config, flag, checks }) => {
      const d = startDaemon(config);
      try {
        const url = await d.url();
        await waitFor('the first role line', () => roleLines(d.lines()).length > 0);
        // Ticks every second each start with a fresh check: wait until several have passed.
        const seen = checks();
        await waitFor('several ticks as standby', () => checks() >= seen + 6, 30_000);
        assert.deepEqual(roleLines(d.lines()), [{ role: 'standby', was: undefined, level: WARN }]);
        assert.equal(sim.attachesStarted().length, 0);
        assert.equal(sim.calls.filter((c) => c.api === 'QueryVmInstance').length, 0, 'a standby reads no inventory');
        assert.deepEqual((await getJson(`${url}/api/runs`)).runs, [], 'and records no run');

        const health = await getJson(`${url}/healthz`);
        assert.equal(health.ok, true, 'standby is a healthy state');
        assert.equal(health.role, 'standby');
        const ha = health.ha as Record<string, unknown>;
        assert.equal(ha.leaderCheck, 'command');
        assert.match(String(ha.reason), /exited 1/);
        assert.ok(typeof ha.checkedAt === 'string');
        assert.equal(((await getJson(`${url}/api/status`)).ha as { role: string }).role, 'standby');
        assert.equal(await gtrLeader(url), '0');
        const page = await (await request(`${url}/`)).body.text();
        assert.match(page, /role: standby/);

        writeFileSync(flag, '');
        await waitFor('all VMs attached by the new leader', () => sim.attachesStarted().length === 4, 30_000);
        await waitFor('a finished run', async () => ((await getJson(`${url}/api/runs`)).runs as { finishedAt: string | null }[]).some((r) => r.finishedAt));
        assert.deepEqual(roleLines(d.lines()), [{ role: 'standby', was: undefined, level: WARN }, { role: 'leader', was: 'standby', level: INFO }]);
        assert.equal((await getJson(`${url}/healthz`)).role, 'leader');
        assert.equal(await gtrLeader(url), '1');
      } finally {
        const { code } = await d.stop();
        assert.equal(code, 0);
      }
    });
  });

  it('leadership lost during a run: attaches in flight finish, the rest are defer/not-leader, later ticks skip', async () => {
    await withLeaderSetup(3, { maxConcurrency: 1, maxPerHost: 1 }, async ({ sim, config, flag, checks }) => {
      writeFileSync(flag, '');
      // The first attach stays in flight until released, so leadership is lost while it runs.
      sim.holdAttachJobs();
      const release = () => sim.releaseAttachJobs();
      const d = startDaemon(config);
      try {
        const url = await d.url();
        await waitFor('the first attach in flight', () => sim.attachInFlight === 1, 30_000);
        rmSync(flag);
        await waitFor('the daemon noticed', () => roleLines(d.lines()).some((l) => l.role === 'standby' && l.was === 'leader' && l.level === WARN), 30_000);
        release();
        const run = await waitFor('the run finished', async () => ((await getJson(`${url}/api/runs`)).runs as { id: number; finishedAt: string | null; status: string; counts: Record<string, number> }[]).find((r) => r.finishedAt), 30_000);
        assert.equal(sim.attachesStarted().length, 1, 'no attach started after leadership was lost');
        assert.equal(run.status, 'interrupted');
        assert.equal(run.counts['defer/not-leader'], 2);
        assert.equal(run.counts.succeeded, 1);
        const shown = await getJson(`${url}/api/runs/${run.id}`);
        const notLeader = (shown.actions as { action: string; reason: string }[]).filter((a) => a.reason === 'not-leader');
        assert.deepEqual(notLeader.map((a) => a.action), ['defer', 'defer']);

        // Later ticks, as standby, record nothing more.
        const calls = sim.calls.length;
        const seen = checks();
        await waitFor('more ticks as standby', () => checks() >= seen + 4, 30_000);
        assert.equal(((await getJson(`${url}/api/runs`)).runs as unknown[]).length, 1);
        assert.equal(sim.calls.filter((c, i) => i >= calls && c.api === 'QueryVmInstance').length, 0);
        assert.equal(await gtrLeader(url), '0');
      } finally {
        release();
        await d.stop();
      }
    });
  });
});

describe('leader check: gtr reconcile, plan and status', () => {
  it('on a standby reconcile exits 5 attaching nothing, plan still works, status shows the role', async () => {
    await withLeaderSetup(2, {}, async ({ sim, config, flag }) => {
      const refused = await gtr(['reconcile', '--config', config]);
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, /this node is the standby \(ha\.leaderCheck command: .*exited 1\); nothing was attached/);
      assert.match(refused.stderr, /Run it on the leader; gtr plan works here/);
      assert.equal(sim.attachesStarted().length, 0);

      const plan = await gtr(['plan', '--config', config, '--json']);
      assert.equal(plan.code, 0, plan.stderr);
      assert.equal((JSON.parse(plan.stdout) as { counts: { attach: number } }).counts.attach, 2);

      const status = await gtr(['status', '--config', config, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const ha = (JSON.parse(status.stdout) as { ha: Record<string, unknown> }).ha;
      assert.equal(ha.role, 'standby');
      assert.equal(ha.leaderCheck, 'command');
      const text = await gtr(['status', '--config', config]);
      assert.match(text.stdout, /^Role: standby \(ha\.leaderCheck command: .*exited 1\), checked /m);

      writeFileSync(flag, '');
      const ran = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(sim.attachesStarted().length, 2);
      const leaderStatus = await gtr(['status', '--config', config, '--json']);
      assert.equal((JSON.parse(leaderStatus.stdout) as { ha: { role: string } }).ha.role, 'leader');
    });
  });
});
