// End to end: installing in the guest and cleaning up (DESIGN.md 2.7, 2.8; issue 23). `gtr reconcile`
// as a real child process over the real simulator (its script library, guests and installers) and a
// real SQLite file. Short install.settle / install.timeout in the config instead of sleeps: a later run
// reads the evidence; the only waits are bounded polls on what the simulated guests did.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SimOptions, SimVm, Simulator } from '../src/sim/index.js';
import { exited, gtr, simConfig, spawnGtr, waitFor, type Workspace, withSimSetup } from './helpers/cli.js';
import { withLedger } from './helpers/rollout.js';
import { HEX, testVm } from './helpers/fleet.js';
import { RolloutStore } from '../src/rollout/store.js';

interface Report {
  runId: number;
  status: string;
  counts: Record<string, number>;
  actions: { vmUuid: string; action: string; reason: string; outcome: string | null; detail?: string }[];
  stages: {
    attach: Record<string, number>;
    install: { enabled: boolean; library: string | null; started: number; batches: number; inDoubt: number; deferred: number; verified: number; installFailed: number; noEvidence: number; attachOnly: number };
    detach: { enabled: boolean; api: string | null; detached: number; failed: number; inDoubt: number; deferred: number };
  };
  installs?: { vmUuid: string; outcome: string; reason: string | null; verifiedBy?: string; errCause?: string; startedBy: number }[];
  manualInstall?: { linuxCommand: string | null; vms: { vmUuid: string; platform: string; why: string }[] };
  warnings?: { code: string; message: string }[];
}

/** A Linux VM whose QEMU guest agent runs (its state row says Running) with tools 1.0.0. */
const withAgent = (n: number, patch: Partial<SimVm> = {}): SimVm => testVm(n, { guest: { qgaState: 'Running', version: '1.0.0' }, ...patch });

const INSTALL = { mode: 'qga', settle: '0', timeout: '30m', maxConcurrency: 2 };

function withSetup(simOpts: SimOptions, extra: Parameters<typeof simConfig>[2], fn: (sim: Simulator, ws: Workspace, config: string) => Promise<void>): Promise<void> {
  return withSimSetup({ jobDurationMs: 2, guests: { installMs: 1, agentRestartMs: 1 }, ...simOpts }, { install: INSTALL, ...extra }, (s) => fn(s.sim, s.ws, s.config));
}

async function reconcile(config: string, expectCode = 0): Promise<Report> {
  const r = await gtr(['reconcile', '--config', config, '--json']);
  assert.equal(r.code, expectCode, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

const actionOf = (report: Report, n: number) => report.actions.find((a) => a.vmUuid === HEX(n));
const attachesOf = (sim: Simulator, n: number) => sim.attachesStarted().filter((a) => a.vmUuid === HEX(n)).length;
const executionsOn = (sim: Simulator, n: number) => sim.scriptExecutions().filter((e) => e.vmUuids.includes(HEX(n))).length;
const installersDone = (sim: Simulator, vms: number[]) => vms.every((n) => sim.installerRuns().some((r) => r.vmUuid === HEX(n) && r.outcome !== undefined));


describe('installing in the guest', () => {
  for (const statuses of ['Succeed', 'Succeeded', 'Completed'] as const) {
    it(`a Linux fleet with agents: attached and installed in run 1, verified and detached in run 2 (statuses ${statuses})`, async () => {
      await withSetup({ fleet: [withAgent(1), withAgent(2), withAgent(3)], scripts: { statuses } }, {}, async (sim, _ws, config) => {
        const first = await reconcile(config);
        for (const n of [1, 2, 3]) assert.equal(actionOf(first, n)?.outcome, 'installing', JSON.stringify(actionOf(first, n)));
        assert.equal(first.counts.installing, 3);
        assert.deepEqual([first.stages.install.started, first.stages.install.batches, first.stages.install.library], [3, 2, 'present'], 'install.maxConcurrency 2: two batches');
        assert.equal(sim.scriptExecutions().length, 2);
        assert.deepEqual(sim.scriptOverlaps(), [], 'never two scripts at once on a VM');
        await waitFor('the installers to finish in the guests', () => installersDone(sim, [1, 2, 3]));

        const second = await reconcile(config);
        assert.deepEqual(second.installs?.map((i) => [i.vmUuid, i.outcome, i.verifiedBy, i.startedBy]).sort(),
          [1, 2, 3].map((n) => [HEX(n), 'verified', 'guest', first.runId]));
        for (const n of [1, 2, 3]) assert.equal(actionOf(second, n)?.reason, 'up-to-date');
        assert.equal(second.stages.detach.detached, 3);
        for (const n of [1, 2, 3]) assert.equal(sim.guestView(HEX(n))?.cdRom0, 'empty', 'the GuestTools ISO is detached');

        const third = await reconcile(config);
        assert.equal(sim.scriptExecutions().length, 2, 'nothing installed again');
        assert.deepEqual([third.stages.install.started, third.stages.detach.detached], [0, 0]);
        assert.deepEqual([1, 2, 3].map((n) => attachesOf(sim, n)), [1, 1, 1]);
        assert.equal(sim.requestsByApi().CreateGuestVmScript, 1, 'one script, created once and found by its name since');
        assert.deepEqual(withLedger(_ws.database, (l) => l.installs.open()), [], 'no install is open any more');
      });
    });
  }

  it('an installer that fails in the guest: install-failed with its cause, never attached or installed again until gtr retry', async () => {
    await withSetup({ fleet: [withAgent(1, { installer: 'fails' })] }, {}, async (sim, ws, config) => {
      await reconcile(config);
      await waitFor('the installer to fail', () => installersDone(sim, [1]));
      const second = await reconcile(config);
      assert.deepEqual(second.installs?.map((i) => [i.outcome, i.reason]), [['install-failed', 'InstallFailed']]);
      assert.match(second.installs?.[0].errCause ?? '', /GuestTools::InstallFailed/);
      assert.deepEqual([actionOf(second, 1)?.action, actionOf(second, 1)?.reason], ['skip', 'install-failed']);
      assert.equal(second.stages.detach.detached, 0, 'not verified: the ISO stays for a person to look at');
      const third = await reconcile(config);
      assert.equal(actionOf(third, 1)?.reason, 'install-failed');
      assert.deepEqual([attachesOf(sim, 1), executionsOn(sim, 1)], [1, 1], 'not attached again, not installed again');
      const show = await gtr(['runs', 'show', String(second.runId), '--config', config]);
      assert.match(show.stdout, /install-failed/);
      // The operator fixes the guest a while later and retries. GuestTools::InstallFailed stays on the VM
      // until the installer reports again: it must not fail the new install.
      sim.ageTags(10 * 60_000);
      sim.updateVm(HEX(1), { installer: 'succeeds' });
      const retry = await gtr(['retry', '--vm', HEX(1), '--config', config]);
      assert.equal(retry.code, 0, retry.stderr);
      sim.holdInstalls();
      const fourth = await reconcile(config);
      assert.deepEqual([actionOf(fourth, 1)?.action, actionOf(fourth, 1)?.outcome], ['install', 'installing'], 'retry re-arms the install of the ISO still mounted');
      assert.deepEqual([attachesOf(sim, 1), executionsOn(sim, 1)], [1, 2]);
      await waitFor('the second installer to be running', () => sim.installerRuns().length === 2);
      const fifth = await reconcile(config);
      assert.deepEqual(fifth.installs ?? [], [], 'the old InstallFailed tag is not this install\'s evidence');
      assert.deepEqual([actionOf(fifth, 1)?.action, actionOf(fifth, 1)?.reason], ['defer', 'installing']);
      sim.releaseInstalls();
      await waitFor('the second installer to finish', () => sim.installerRuns().every((r) => r.outcome !== undefined));
      const sixth = await reconcile(config);
      assert.deepEqual(sixth.installs?.map((i) => [i.outcome, i.verifiedBy]), [['verified', 'guest']]);
      assert.equal(sixth.stages.detach.detached, 1);
      assert.ok(ws.database);
    });
  });

  it('install off: a person runs the installer and it fails: install-failed, not attached again until gtr retry', async () => {
    await withSetup({ fleet: [withAgent(1, { installer: 'fails' })] }, { install: { mode: 'off' }, policy: { reattachAfter: '1ms' } }, async (sim, _ws, config) => {
      const first = await reconcile(config);
      assert.deepEqual([actionOf(first, 1)?.action, actionOf(first, 1)?.outcome], ['attach', 'attached']);
      // The person's install: the installer on the ISO reports GuestTools::InstallFailed.
      sim.installByHand(HEX(1));
      await waitFor('the installer to fail', () => installersDone(sim, [1]));
      const second = await reconcile(config);
      assert.deepEqual([actionOf(second, 1)?.action, actionOf(second, 1)?.reason], ['skip', 'install-failed'], JSON.stringify(actionOf(second, 1)));
      assert.match(actionOf(second, 1)?.detail ?? '', /installer reported GuestTools::InstallFailed/);
      assert.equal(attachesOf(sim, 1), 1, 'reattachAfter passed, yet not attached again');
      const retry = await gtr(['retry', '--vm', HEX(1), '--config', config]);
      assert.equal(retry.code, 0, retry.stderr);
      const third = await reconcile(config);
      assert.deepEqual([actionOf(third, 1)?.action, actionOf(third, 1)?.reason], ['attach', 'outdated'], 'retry forgets the failure it was shown');
    });
  });

  it('a guest that never reports: installing until install.timeout, then failed with no-evidence, and no second install', async () => {
    await withSetup({ fleet: [withAgent(1, { installer: 'hangs' })] }, { install: { ...INSTALL, timeout: '1ms' } }, async (sim, _ws, config) => {
      const first = await reconcile(config);
      assert.equal(actionOf(first, 1)?.outcome, 'installing');
      await waitFor('the launcher to have run', () => sim.installerRuns().length === 1);
      const second = await reconcile(config);
      assert.deepEqual(second.installs?.map((i) => [i.outcome, i.reason]), [['failed', 'no-evidence']]);
      assert.deepEqual([actionOf(second, 1)?.action, actionOf(second, 1)?.reason], ['defer', 'awaiting-install']);
      await reconcile(config);
      assert.deepEqual([attachesOf(sim, 1), executionsOn(sim, 1)], [1, 1], 'within reattachAfter: neither attached nor installed again');
    });
  });

  it('before install.timeout the VM is defer/installing, and a second run starts nothing on it', async () => {
    await withSetup({ fleet: [withAgent(1, { installer: 'hangs' })] }, {}, async (sim, _ws, config) => {
      await reconcile(config);
      const second = await reconcile(config);
      assert.deepEqual([actionOf(second, 1)?.action, actionOf(second, 1)?.reason], ['defer', 'installing']);
      assert.equal(executionsOn(sim, 1), 1);
    });
  });

  it('a VM without a running agent and a Windows VM without install.windows.command stay attach-only and are listed for a person', async () => {
    const fleet = [testVm(1), withAgent(2, { platform: 'Windows', tags: ['GuestTools::1.0.0'] })];
    await withSetup({ fleet }, {}, async (sim, _ws, config) => {
      const report = await reconcile(config);
      assert.deepEqual([actionOf(report, 1)?.outcome, actionOf(report, 2)?.outcome], ['attached', 'attached']);
      assert.match(actionOf(report, 1)?.detail ?? '', /no guest agent runs/);
      assert.deepEqual(report.manualInstall?.vms.map((v) => [v.vmUuid, v.platform, v.why]), [[HEX(1), 'Linux', 'no-agent'], [HEX(2), 'Windows', 'no-command']]);
      assert.match(report.manualInstall?.linuxCommand ?? '', /zs-tools-install\.sh/);
      assert.equal(report.stages.install.attachOnly, 2);
      assert.equal(sim.scriptExecutions().length, 0, 'nothing runs in a guest the operator did not turn on');
      const show = await gtr(['runs', 'show', String(report.runId), '--config', config]);
      assert.match(show.stdout, /await a person's install/);
      assert.match(show.stdout, /zs-tools-install\.sh/);
      const json = JSON.parse((await gtr(['runs', 'show', String(report.runId), '--config', config, '--json'])).stdout) as { stages: Report['stages'] & { manualInstall: { vms: unknown[] } } };
      assert.equal(json.stages.manualInstall.vms.length, 2);
    });
  });

  it('an MN without the script library: one warning, recorded in the run, attach goes on', async () => {
    await withSetup({ fleet: [withAgent(1), withAgent(2)], scriptLibrary: false }, { log: { level: 'warn' } }, async (sim, _ws, config) => {
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as Report;
      assert.deepEqual([actionOf(report, 1)?.outcome, actionOf(report, 2)?.outcome], ['attached', 'attached']);
      assert.deepEqual(report.warnings?.map((w) => w.code), ['install-unavailable']);
      assert.equal(report.stages.install.library, 'absent');
      assert.equal(r.stderr.split('\n').filter((l) => l.includes('no script library')).length, 1, r.stderr);
      const runs = JSON.parse((await gtr(['runs', 'show', String(report.runId), '--config', config, '--json'])).stdout) as { warnings: { code: string }[] };
      assert.ok(runs.warnings.some((w) => w.code === 'install-unavailable'));
      assert.equal(sim.attachesStarted().length, 2);
    });
  });

  it('an MN without DetachGuestToolsIsoFromVm: installs and verifies, warns that clean-up is unavailable, exits 0', async () => {
    await withSetup({ fleet: [withAgent(1)], detachApi: false }, {}, async (sim, _ws, config) => {
      await reconcile(config);
      await waitFor('the installer', () => installersDone(sim, [1]));
      const second = await reconcile(config);
      assert.deepEqual(second.installs?.map((i) => i.outcome), ['verified']);
      assert.deepEqual(second.warnings?.map((w) => w.code), ['detach-unavailable']);
      assert.equal(second.stages.detach.api, 'absent');
      assert.equal(sim.guestView(HEX(1))?.cdRom0, 'GuestTools');
    });
  });

  it("a user's ISO is never detached: not an ISO of ours, and an ISO of ours replaced by the user's is left alone", async () => {
    const fleet = [withAgent(1, { cdRomIsoUuid: HEX(0xf1), tags: ['GuestTools::1.2.0'], guest: { qgaState: 'Running', version: '1.2.0' } }), withAgent(2)];
    await withSetup({ fleet }, {}, async (sim, _ws, config) => {
      await reconcile(config);
      await waitFor('the installer', () => installersDone(sim, [2]));
      // The user puts their own ISO into VM 2's CD-ROM 0 before the next run.
      sim.updateVm(HEX(2), { cdRomIsoUuid: HEX(0xf2) });
      const second = await reconcile(config);
      assert.equal(second.installs?.[0]?.outcome, 'verified');
      assert.equal(second.stages.detach.detached, 0);
      assert.equal(sim.guestView(HEX(1))?.cdRom0, 'user-iso');
      assert.equal(sim.requestsByApi().DetachGuestToolsIsoFromVm ?? 0, 0, 'no detach was sent at all');
    });
  });

  it('SIGKILL during an install batch: the next run polls the recorded job, and the target is never installed twice', async () => {
    await withSetup({ fleet: [withAgent(1), withAgent(2)] }, { install: { ...INSTALL, maxConcurrency: 10 } }, async (sim, ws, config) => {
      const held = sim.holdRequest({ api: 'ExecuteGuestVmScript' });
      const child = spawnGtr(['reconcile', '--config', config, '--json']);
      await held.reached;
      child.kill('SIGKILL');
      await exited(child);
      // The request reaches the MN after its sender died: it runs; nobody read the answer.
      held.release();
      await waitFor('the installers started by the dead run', () => installersDone(sim, [1, 2]));
      const open = withLedger(ws.database, (l) => l.installs.open());
      assert.deepEqual(open.map((r) => [r.vmUuid, r.recordUuid]), [[HEX(1), null], [HEX(2), null]], 'recorded before the call, its answer never read');
      const second = await reconcile(config);
      assert.deepEqual(second.installs?.map((i) => i.outcome), ['verified', 'verified']);
      await reconcile(config);
      assert.equal(sim.scriptExecutions().length, 1, 'one execute in all: never sent again');
      assert.deepEqual([1, 2].map((n) => sim.installerRuns().filter((r) => r.vmUuid === HEX(n)).length), [1, 1]);
    });
  });

  it('rollout start --install: a pause while installs are queued stops every execute after it returned; members are done only on evidence', async () => {
    const fleet = [1, 2, 3, 4].map((n) => withAgent(n));
    // install.mode off: only the rollout installs; one VM per batch, so the batches queue.
    await withSetup({ fleet }, { install: { ...INSTALL, mode: 'off', maxConcurrency: 1 } }, async (sim, ws, config) => {
      const started = await gtr(['rollout', 'start', '--install', '--agent-type', 'LinuxOnKvm', '--waves', '4,100%', '--soak', '0', '--config', config, '--json']);
      assert.equal(started.code, 0, started.stderr);
      const id = (JSON.parse(started.stdout) as { id: number }).id;
      const held = sim.holdRequest({ api: 'ExecuteGuestVmScript' });
      const run = spawnGtr(['reconcile', '--config', config, '--json']);
      await held.reached;
      const pause = await gtr(['rollout', 'pause', String(id), '--config', config]);
      assert.equal(pause.code, 0, pause.stderr);
      held.release();
      assert.equal((await exited(run)).code, 0, run.output().stderr);
      const report = JSON.parse(run.output().stdout) as Report;
      assert.equal(sim.scriptExecutions().length, 1, 'only the batch permitted before the pause went out');
      assert.equal(report.stages.install.started, 1);
      assert.equal(report.stages.install.deferred, 3);
      assert.deepEqual([...new Set(report.actions.filter((a) => a.outcome === 'attached').map((a) => a.outcome))], ['attached'], 'the others stay attached, their install waits');
      const members = () => withLedger(ws.database, (l) => new RolloutStore(l).get(id)?.members ?? []);
      assert.deepEqual(members().map((m) => m.status).sort(), ['attached', 'attached', 'attached', 'installing']);
      const status = await gtr(['rollout', 'status', String(id), '--config', config]);
      assert.match(status.stdout, /installing/);
      // Resumed: the ISOs still mounted are installed (install/attached), one batch each.
      assert.equal((await gtr(['rollout', 'resume', String(id), '--config', config])).code, 0);
      const resumed = await reconcile(config);
      assert.equal(resumed.actions.filter((a) => a.action === 'install' && a.outcome === 'installing').length, 3);
      assert.equal(sim.scriptExecutions().length, 4);
      assert.deepEqual(sim.scriptOverlaps(), []);
      assert.ok(members().every((m) => m.status === 'installing' || m.status === 'verified'), 'never done without evidence');
      await waitFor('the installers', () => installersDone(sim, [1, 2, 3, 4]));
      await reconcile(config);
      assert.deepEqual(members().map((m) => m.status), ['verified', 'verified', 'verified', 'verified']);
      assert.equal(withLedger(ws.database, (l) => new RolloutStore(l).get(id)?.state), 'completed');
    });
  });
});
