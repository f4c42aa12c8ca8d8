// End to end: rollouts over Windows and Linux VMs whose tools have separate version lines, and pause,
// abort and the error budget acting inside a running run. Real simulator, real CLI processes, real
// SQLite; waits are on events (an attach in flight, a process exit), never sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SimIso, SimOptions } from '../src/sim/index.js';
import { exited, spawnGtr, waitFor } from './helpers/cli.js';
import { attachedVms, reconcileUntil, startRolloutCli, withLedger, withRolloutSetup, type RolloutSetup as Setup } from './helpers/rollout.js';
import { HEX, testFleet, testVm } from './helpers/fleet.js';

const ISOS: SimIso[] = [
  { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.10.0' },
  { agentType: 'LinuxOnKvm', architecture: 'general', version: '4.10.0' },
];

/** A guest that reports its tools: verified once it installs the attached ISO. */
const windowsVm = (n: number) => testVm(n, { platform: 'Windows', tags: ['GuestTools::1.0.0'], guest: { qgaState: 'Running', version: '1.0.0' } });
const linuxVm = (n: number) => testVm(n, { tags: ['GuestTools::4.0.0'], guest: { qgaState: 'Running', version: '4.0.0' } });

type Counts = Record<string, number>;
type RolloutOut = {
  id: number; state: string; stateReason: string | null; target: string; counts: Counts;
  targets: { agentType: string; architecture: string; version: string }[];
  groups: (Counts & { agentType: string; architecture: string; target: string })[];
  waveProgress: (Counts & { number: number })[];
  members: { vmUuid: string; agentType: string; target: string; wave: number; canary: boolean; status: string }[];
};

const start = (s: Setup, args: string[]) => startRolloutCli<RolloutOut>(s, args);
const withSetup = (simOpts: SimOptions, extra: Parameters<typeof withRolloutSetup>[1], fn: (s: Setup) => Promise<void>) => withRolloutSetup(simOpts, extra, fn, ISOS);

describe('rollouts per agent type and architecture', () => {
  it('rollout all takes each group to its own target, in waves; --target only asserts the catalog version', async () => {
    const fleet = [...[1, 2, 3, 4].map(windowsVm), ...[5, 6, 7, 8, 9, 10].map(linuxVm)];
    await withSetup({ fleet }, {}, async (s) => {
      for (const bad of [['--target', '4.10.0'], ['--target', 'LinuxOnKvm=4.9.0'], ['--target', 'Solaris=1.0'], ['--agent-type', 'LinuxOnKvm', '--target', '1.10.0']]) {
        const r = await s.rollout(['start', ...bad]);
        assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /--target/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      }
      assert.match((await s.rollout(['start', '--target', 'LinuxOnKvm=4.9.0'])).stderr, /it offers 4\.10\.0 \(LinuxOnKvm\/x86_64\)/);

      const started = await start(s, ['--waves', '2,100%', '--soak', '0', '--target', 'WindowsOnKvm=1.10.0', '--target', 'LinuxOnKvm=4.10.0']);
      assert.deepEqual(started.targets.map((t) => `${t.agentType}/${t.architecture}=${t.version}`), ['WindowsOnKvm/x86_64=1.10.0', 'LinuxOnKvm/x86_64=4.10.0']);
      assert.equal(started.counts.members, 10, 'every out-of-date VM of both agent types is a member');
      for (const m of started.members) assert.equal(m.target, m.agentType === 'WindowsOnKvm' ? '1.10.0' : '4.10.0');
      const waveOf = new Map(started.members.map((m) => [m.vmUuid, m.wave]));

      assert.equal((await s.reconcile()).code, 0);
      assert.deepEqual(attachedVms(s.sim).sort(), started.members.filter((m) => m.wave === 1).map((m) => m.vmUuid).sort(), 'the first run attaches wave 1 only');
      await reconcileUntil(s, 'rollout completed', () => s.read(started.id).state === 'completed');

      const attached = attachedVms(s.sim);
      assert.equal(new Set(attached).size, 10, 'each VM attached once');
      assert.equal(attached.length, 10);
      const waves = attached.map((uuid) => waveOf.get(uuid) ?? 0);
      assert.deepEqual(waves, [...waves].sort(), 'no VM of wave 2 before every VM of wave 1');
      for (const vm of s.sim.vms()) assert.equal(vm.guest?.version, vm.platform === 'Windows' ? '1.10.0' : '4.10.0', `${vm.name} runs its own group's target`);

      const status = await s.rollout(['status', String(started.id), '--json']);
      const done = JSON.parse(status.stdout) as RolloutOut;
      assert.deepEqual(done.groups.map((g) => [g.agentType, g.target, g.members, g.verified]), [['WindowsOnKvm', '1.10.0', 4, 4], ['LinuxOnKvm', '4.10.0', 6, 6]]);
      const human = await s.rollout(['status', String(started.id)]);
      assert.match(human.stdout, /WindowsOnKvm 1\.10\.0, LinuxOnKvm 4\.10\.0/);
      assert.match(human.stdout, /WindowsOnKvm\/x86_64\s+1\.10\.0\s+4\s+0\s+0\s+4/);
      assert.match(human.stdout, /LinuxOnKvm\/x86_64\s+4\.10\.0\s+6\s+0\s+0\s+6/);
    });
  });

  for (const action of ['pause', 'abort'] as const) {
    it(`after rollout ${action} returns during a slow wave, no further member attach starts; the command does not wait for the run`, async () => {
      const fleet = testFleet(12, { patch: () => ({ tags: ['GuestTools::4.0.0'], guest: { qgaState: 'Running', version: '4.0.0' } }) });
      // One 4 s attach at a time: the whole wave would take 48 s, far longer than the command needs.
      await withSetup({ fleet, jobDurationMs: 4000 }, { policy: { maxConcurrency: 1 } }, async (s) => {
        const started = await start(s, ['--agent-type', 'LinuxOnKvm', '--waves', '100%', '--soak', '0']);
        const run = spawnGtr(['reconcile', '--config', s.config, '--json']);
        await waitFor('an attach in flight', () => s.sim.attachInFlight > 0, 30_000);

        const command = await s.rollout([action, String(started.id), '--reason', 'BSOD on a canary']);
        assert.equal(command.code, 0, command.stderr);
        // The run still holds the lease: the command did not wait for it.
        const { holder, recorded } = withLedger(s.database, (ledger) => {
          const runId = ledger.lastRun()?.id as number;
          const actions = ledger.getRun(runId)?.actions ?? [];
          return { holder: ledger.leaseHolder(Date.now()), recorded: new Set(actions.filter((a) => a.jobUuid !== null).map((a) => a.vmUuid)) };
        });
        assert.equal(holder?.purpose, 'reconcile', 'the run holds the lease while the command returned');
        assert.equal(run.exitCode, null, 'the run is still going');

        const end = await exited(run);
        assert.equal(end.code, 0, run.output().stderr);
        const attached = attachedVms(s.sim);
        assert.ok(attached.length < 12, `the wave stopped (${attached.length} attached)`);
        for (const vm of attached) assert.ok(recorded.has(vm), `${vm} was attached after ${action} returned without having been recorded before`);
        const report = JSON.parse(run.output().stdout) as { counts: Counts };
        assert.equal(report.counts['defer/not-in-wave'], 12 - attached.length, 'the rest is deferred as not-in-wave');
        assert.equal(s.read(started.id).state, action === 'pause' ? 'paused' : 'aborted');
        await s.reconcile();
        assert.equal(attachedVms(s.sim).length, attached.length, `nothing more attached while ${action === 'pause' ? 'paused' : 'aborted'}`);
      });
    });
  }

  it('a failing canary (1 of 1) pauses the rollout with error-budget and holds it across runs; resume continues', async () => {
    const fleet = testFleet(8, { patch: () => ({ tags: ['GuestTools::4.0.0'], guest: { qgaState: 'Running', version: '4.0.0' } }) });
    await withSetup({ fleet }, { policy: { maxErrors: 10 } }, async (s) => {
      const canary = HEX(3);
      s.sim.setFaults({ failVmUuids: [canary] });
      const started = await start(s, ['--agent-type', 'LinuxOnKvm', '--waves', '1,100%', '--soak', '0', '--canary-vm', canary]);
      assert.deepEqual(started.members.filter((m) => m.wave === 1).map((m) => m.vmUuid), [canary]);

      assert.equal((await s.reconcile()).code, 1, 'the run reports the failed canary');
      for (let i = 0; i < 3; i++) {
        const r = s.read(started.id);
        assert.equal(r.state, 'paused');
        assert.equal(r.stateReason, 'error-budget');
        await s.reconcile();
      }
      assert.deepEqual(attachedVms(s.sim), [canary], 'nothing beyond the canary is attached while the budget holds the rollout');
      assert.match(s.read(started.id).transitions.find((t) => t.event === 'pause')?.why ?? '', /error-budget: 1 failed members in wave 1, more than max-errors 5% \(0\)/);

      s.sim.setFaults({});
      assert.equal((await s.rollout(['resume', String(started.id)])).code, 0);
      await reconcileUntil(s, 'rollout completed', () => s.read(started.id).state === 'completed');
      assert.equal(new Set(attachedVms(s.sim)).size, 8, 'after resume the next wave runs');
    });
  });

  it('stops starting member attaches within the run once the wave budget is exceeded', async () => {
    const fleet = testFleet(6, { patch: () => ({ tags: ['GuestTools::4.0.0'], guest: { qgaState: 'Running', version: '4.0.0' } }) });
    await withSetup({ fleet, jobDurationMs: 50 }, { policy: { maxConcurrency: 1, maxErrors: 10 } }, async (s) => {
      const started = await start(s, ['--agent-type', 'LinuxOnKvm', '--waves', '100%', '--soak', '0', '--max-errors', '0']);
      s.sim.setFaults({ failVmUuids: started.members.map((m) => m.vmUuid) });
      assert.equal((await s.reconcile()).code, 1);
      assert.equal(attachedVms(s.sim).length, 1, 'one attach at a time: the first failure pauses the rollout before the second starts');
      assert.equal(s.read(started.id).stateReason, 'error-budget');
    });
  });
});
