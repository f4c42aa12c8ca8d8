// End to end: one fenced, gated way to start anything (docs/design.md 2 and 4). Each test is
// a fault as it shows in production, over the real simulator, real SQLite files and `gtr` as real child
// processes: a second process whose clock is ahead (Debian's faketime) or that runs under another host
// name (a container sharing the database: unshare --uts), a session that expires on the attach's job
// while a proxy holds the login and `rollout pause` lands, a crash followed by polls that fail, an MN
// that answers SYS.1001, an MN restart with attaches in flight. Waits are bounded polls, never sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { SimOptions, Simulator } from '../src/sim/index.js';
import { exited, GTR, cleanEnv, gtr, simConfig, spawnGtr, waitFor, type Workspace, withSimSetup } from './helpers/cli.js';
import { withLedger } from './helpers/rollout.js';
import { HEX, testFleet } from './helpers/fleet.js';

interface Report {
  status: string;
  counts: Record<string, number>;
  actions: { vmUuid: string; action: string; reason: string; outcome: string | null; error: { code: string } | null }[];
}

function withSetup(simOpts: SimOptions, extra: Parameters<typeof simConfig>[2], fn: (sim: Simulator, ws: Workspace, config: string) => Promise<void>): Promise<void> {
  return withSimSetup({ jobDurationMs: 5, ...simOpts }, extra, (s) => fn(s.sim, s.ws, s.config));
}

/** How many attach jobs reached each VM (the MN's view). */
function attachesPerVm(sim: Simulator): Map<string, number> {
  const n = new Map<string, number>();
  for (const a of sim.attachesStarted()) n.set(a.vmUuid, (n.get(a.vmUuid) ?? 0) + 1);
  return n;
}

function twice(sim: Simulator): string[] {
  return [...attachesPerVm(sim)].filter(([, n]) => n > 1).map(([vm]) => vm);
}


/** `gtr` as a child under `wrapper` (faketime, unshare), collecting its output. */
function spawnWrapped(wrapper: string[], args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(wrapper[0], [...wrapper.slice(1), process.execPath, GTR, ...args], {
    env: { ...cleanEnv(), FAKETIME_DONT_FAKE_MONOTONIC: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return Object.assign(child, { output: () => ({ stdout, stderr }) });
}

const CLOCK_AHEAD = ['faketime', '-f', '+120s'];

describe('one fenced, gated way to start anything', () => {
  it('a second gtr whose clock is 120 s ahead does not take the lease of a live run on this host (exit 5), and nothing is attached twice', async () => {
    await withSetup({ fleet: testFleet(40) }, { policy: { maxConcurrency: 4, maxPerHost: 1, maxErrors: '50%' } }, async (sim, _ws, config) => {
      sim.holdAttachJobs();
      const a = spawnGtr(['reconcile', '--config', config, '--json']);
      await waitFor('run A to have attaches in flight', () => sim.attachInFlight >= 4);
      const b = spawnWrapped(CLOCK_AHEAD, ['reconcile', '--config', config, '--json']);
      const bDone = await exited(b);
      assert.equal(bDone.code, 5, `B: ${b.output().stderr}`);
      assert.match(b.output().stderr, /another run holds the lease/);
      sim.releaseAttachJobs();
      const aDone = await exited(a);
      assert.equal(aDone.code, 0, a.output().stderr);
      assert.deepEqual(twice(sim), [], 'no VM attached twice');
      assert.equal(attachesPerVm(sim).size, 40);
    });
  });

  it('a takeover fences the old holder at once: a process under another host name and a clock ahead takes the expired lease; the old run starts nothing more and exits 5', async () => {
    await withSetup({ fleet: testFleet(60) }, { policy: { maxConcurrency: 3, maxPerHost: 1, maxErrors: '50%' } }, async (sim, ws, config) => {
      sim.holdAttachJobs();
      const a = spawnGtr(['reconcile', '--config', config, '--json']);
      await waitFor('run A to have attaches in flight', () => sim.attachInFlight >= 3);
      // B shares the database from "another node" (its own UTS namespace) whose clock is 120 s ahead:
      // the lease looks expired and its holder cannot be seen from there, so B takes it over.
      const b = spawnWrapped(['unshare', '--uts', 'sh', '-c', 'hostname gtr-other-node && exec "$@"', 'sh', ...CLOCK_AHEAD], ['reconcile', '--config', config, '--json']);
      const aRun = await waitFor('B to hold the lease', () => withLedger(ws.database, (l) => {
        const h = l.leaseHolder(Date.now() + 90_000); // past A's expiry, before B's (its clock is 120 s ahead)
        return h?.host === 'gtr-other-node' ? l.listRuns(5).find((r) => r.host !== 'gtr-other-node') : undefined;
      }));
      sim.releaseAttachJobs();
      const [aDone, bDone] = await Promise.all([exited(a), exited(b)]);
      assert.equal(aDone.code, 5, `A exits 5 after losing its lease: ${a.output().stderr}`);
      assert.equal(bDone.code, 0, `B: ${b.output().stderr}`);
      const reportA = JSON.parse(a.output().stdout) as Report;
      assert.ok((reportA.counts['defer/lease-lost'] ?? 0) > 0, 'A deferred the rest as lease-lost');
      const startedByA = withLedger(ws.database, (l) => l.getRun(aRun.id)?.actions.filter((x) => x.jobUuid !== null).length);
      assert.ok(startedByA !== undefined && startedByA >= 3 && startedByA < 60, `A started ${startedByA}`);
      assert.deepEqual(twice(sim), [], 'no VM attached twice');
      assert.equal(attachesPerVm(sim).size, 60, 'B attached the rest');
    });
  });

  it('the re-send after ID.1001 asks every gate again: a rollout paused while the login was held stops it', async () => {
    const vm = HEX(1);
    await withSetup({ fleet: testFleet(1) }, { policy: { maxErrors: 0 } }, async (sim, ws, config) => {
      const r = await gtr(['rollout', 'start', '--json', '--waves', '100%', '--soak', '0', '--config', config]);
      assert.equal(r.code, 0, r.stderr);
      const started = JSON.parse(r.stdout) as { id: number };
      const attach = sim.holdRequest({ api: 'AttachGuestToolsIsoToVm', match: (c) => c.vmUuid === vm });
      const run = spawnGtr(['reconcile', '--config', config, '--json']);
      await attach.reached;
      // The session expires under the attach (its job answers ID.1001), and a proxy holds the next login.
      sim.expireSessions();
      const login = sim.holdRequest({ api: 'LogInByAccount' });
      attach.release();
      await login.reached;
      const paused = await gtr(['rollout', 'pause', String(started.id), '--config', config]);
      assert.equal(paused.code, 0, paused.stderr);
      login.release();
      const done = await exited(run);
      assert.equal(done.code, 0, run.output().stderr);
      const report = JSON.parse(run.output().stdout) as Report;
      assert.deepEqual(report.actions.map((x) => `${x.action}/${x.reason}`), ['defer/not-in-wave']);
      assert.deepEqual(sim.attachesStarted(), [], 'the attach never ran: rejected unrun, and not sent again after the pause');
      assert.equal(sim.calls.filter((c) => c.api === 'AttachGuestToolsIsoToVm' && c.method === 'PUT').length, 1, 'one PUT');
      // Resumed, the next run attaches it: the refused re-send left nothing waiting.
      assert.equal((await gtr(['rollout', 'resume', String(started.id), '--config', config])).code, 0);
      assert.equal((await gtr(['reconcile', '--config', config])).code, 0);
      assert.equal(attachesPerVm(sim).get(vm), 1);
      void ws;
    });
  });

  it('a crash whose job cannot be polled, on a VM that failed before, is not attached again', async () => {
    const vm = HEX(1);
    await withSetup({ fleet: testFleet(1), faults: { failVmUuids: [vm] } }, { policy: { maxErrors: 5, quarantineAfter: 10 } }, async (sim, _ws, config) => {
      assert.equal((await gtr(['reconcile', '--config', config])).code, 1, 'run 1: the attach fails (SYS.1006)');
      sim.setFaults({});
      sim.holdAttachJobs();
      const run2 = spawnGtr(['reconcile', '--config', config]);
      await waitFor('run 2 attach to reach the MN', () => sim.attachesStarted().filter((x) => !x.failedWith).length === 1);
      run2.kill('SIGKILL');
      await exited(run2);
      sim.setFaults({ proxyErrorRates: { QueryJob: 1 } });
      const run3 = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(run3.code, 0, run3.stderr);
      const report = JSON.parse(run3.stdout) as Report;
      assert.deepEqual(report.actions.map((x) => `${x.action}/${x.reason}`), ['defer/awaiting-install']);
      assert.equal(sim.calls.filter((c) => c.api === 'AttachGuestToolsIsoToVm' && c.method === 'PUT').length, 2, 'no third PUT');
    });
  });

  it('SYS.1001 from an attach job is in doubt: not a failure, not in the budget, not attached again', async () => {
    const vms = [HEX(1), HEX(2)];
    await withSetup({ fleet: testFleet(2), faults: { timeoutVmUuids: vms } }, { policy: { maxErrors: 0 } }, async (sim, _ws, config) => {
      const first = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(first.code, 0, `in doubt is not failed, and not halted by maxErrors 0: ${first.stderr}`);
      const r1 = JSON.parse(first.stdout) as Report;
      assert.equal(r1.counts['in-doubt'], 2);
      assert.equal(r1.counts.failed, 0);
      assert.notEqual(r1.status, 'halted');
      assert.deepEqual(r1.actions.map((x) => `${x.outcome}:${x.error?.code}`), ['in-doubt:SYS.1001', 'in-doubt:SYS.1001']);
      const runs = await gtr(['runs', 'show', '1', '--config', config]);
      assert.match(runs.stdout, /in-doubt/);
      const second = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual((JSON.parse(second.stdout) as Report).actions.map((x) => x.reason), ['awaiting-install', 'awaiting-install']);
      assert.deepEqual([...attachesPerVm(sim).values()], [1, 1]);
    });
  });

  it('an MN restart with attaches in flight: in doubt, the run is not halted (exit 0), and the next run waits', async () => {
    await withSetup({ fleet: testFleet(4) }, { policy: { maxErrors: 0, maxConcurrency: 4 } }, async (sim, _ws, config) => {
      sim.holdAttachJobs();
      const run = spawnGtr(['reconcile', '--config', config, '--json']);
      await waitFor('4 attaches in flight', () => sim.attachInFlight === 4);
      sim.restart();
      const done = await exited(run);
      assert.equal(done.code, 0, run.output().stderr);
      const report = JSON.parse(run.output().stdout) as Report;
      assert.equal(report.counts['in-doubt'], 4);
      assert.equal(report.counts.failed, 0);
      assert.equal(report.status, 'succeeded');
      sim.releaseAttachJobs();
      const next = await gtr(['reconcile', '--config', config, '--json']);
      assert.deepEqual((JSON.parse(next.stdout) as Report).actions.map((x) => x.reason), Array(4).fill('awaiting-install'));
      assert.deepEqual([...attachesPerVm(sim).values()], [1, 1, 1, 1]);
    });
  });
});
