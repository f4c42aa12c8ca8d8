// Where the install shows (issue 23 step 7): `gtr status` (text and JSON) and the daemon's status page
// over the real simulator, real SQLite and the built CLI as child processes. A fleet of Linux VMs with
// agents (installed, verified, detached), one whose installer fails and whose scripts print on stderr
// (the detail fails: install-failed with its cause and stderr tail), one without an agent and a Windows VM without
// install.windows.command (awaiting a person, with the Linux command to paste); and an older MN without
// the script library and without detach. Evidence comes from a later run (install.settle 0); the only
// waits are bounded polls on what the simulated guests did.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SimOptions, SimVm, Simulator } from '../src/sim/index.js';
import { gtr, waitFor, type Workspace, withSimSetup } from './helpers/cli.js';
import { HEX, testVm } from './helpers/fleet.js';
import { startDaemon } from './helpers/daemon.js';

const withAgent = (n: number, patch: Partial<SimVm> = {}): SimVm => testVm(n, { guest: { qgaState: 'Running', version: '1.0.0' }, ...patch });
const INSTALL = { mode: 'qga', settle: '0', timeout: '30m', maxConcurrency: 10 };
const NEVER = '0 0 1 1 *';
const STDERR = 'mount: /mnt/gtr-install: permission denied\nzs-tools-install.sh: cannot mount the GuestTools ISO';

type Funnel = { agentType: string | null; architecture: string | null; target: string; attached: number; installing: number; verified: number; detached: number; awaiting: number; installFailed: number; noEvidence: number; detachFailed: number };
interface InstallStatus {
  mode: string;
  funnel: Funnel[];
  failures: { total: number; vms: { vmUuid: string; vmName: string | null; state: string; reason: string | null; errCause: string | null; stderrTail: string | null; fix: string }[] };
  awaitingPerson: { runId: number | null; total: number; linuxCommand: string | null; vms: { vmUuid: string; platform: string; why: string }[] };
  unavailable: { runId: number | null; scriptLibrary: string | null; detach: string | null };
}

function withSetup(simOpts: SimOptions, fn: (sim: Simulator, ws: Workspace, config: string) => Promise<void>): Promise<void> {
  const extra = { install: INSTALL, schedule: { cron: NEVER }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' } };
  return withSimSetup({ jobDurationMs: 2, guests: { installMs: 1, agentRestartMs: 1 }, ...simOpts }, extra, (s) => fn(s.sim, s.ws, s.config));
}

async function reconcile(config: string): Promise<{ runId: number }> {
  const r = await gtr(['reconcile', '--config', config, '--json']);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { runId: number };
}

async function status(config: string): Promise<{ install: InstallStatus; lastRun: { id: number } }> {
  const r = await gtr(['status', '--config', config, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { install: InstallStatus; lastRun: { id: number } };
}

const group = (s: InstallStatus, agentType: string) => s.funnel.find((g) => g.agentType === agentType);
const partsAddUp = (g: Funnel) => assert.equal(g.attached, g.awaiting + g.installing + g.verified + g.installFailed + g.noEvidence, `the stages add up: ${JSON.stringify(g)}`);

describe('the install in gtr status and on the status page', () => {
  it('a funnel per group, install failures with their cause and stderr tail, VMs awaiting a person with the command to paste', async () => {
    const fleet = [
      withAgent(1), withAgent(2),
      withAgent(3, { scriptStderr: STDERR, installer: 'fails' }),
      testVm(4),
      withAgent(5, { platform: 'Windows', tags: ['GuestTools::1.0.0'] }),
    ];
    await withSetup({ fleet }, async (sim, _ws, config) => {
      // Run 1 as an operator reads it: the outcomes with the installs started, and the stages.
      const summary = await gtr(['reconcile', '--config', config]);
      assert.equal(summary.code, 0, summary.stderr);
      assert.match(summary.stdout, /^Outcomes: verified 0, installing 3, attached \(awaiting install\) 2, failed 0$/m);
      assert.match(summary.stdout, /^Stages:\n {2}attach: started 5, attached 5, verified 0, failed 0, in doubt 0\n {2}install: started 3 in 1 batches, .*attach only 2$/m);
      assert.match(summary.stdout, /^2 VMs with the GuestTools ISO attached await a person's install in the guest/m);
      const { install: during, lastRun: first } = await status(config);
      const linux = group(during, 'LinuxOnKvm');
      assert.ok(linux, JSON.stringify(during.funnel));
      assert.deepEqual([linux.attached, linux.installing, linux.awaiting, linux.verified], [4, 3, 1, 0], 'run 1: four Linux VMs attached, three installers started');
      partsAddUp(linux);
      assert.deepEqual(during.awaitingPerson.vms.map((v) => [v.vmUuid, v.why]), [[HEX(4), 'no-agent'], [HEX(5), 'no-command']]);
      await waitFor('the installers to have run in the guests', () => [1, 2, 3].every((n) => sim.installerRuns().some((r) => r.vmUuid === HEX(n) && r.outcome !== undefined)));

      const second = await reconcile(config);
      const { install, lastRun } = await status(config);
      assert.equal(lastRun.id, second.runId);
      const after = group(install, 'LinuxOnKvm');
      assert.ok(after);
      assert.deepEqual(
        [after.architecture, after.attached, after.installing, after.verified, after.detached, after.installFailed, after.noEvidence, after.awaiting],
        ['x86_64', 4, 0, 2, 2, 1, 0, 1],
        'run 2: two verified and detached, one install-failed, one awaiting a person',
      );
      partsAddUp(after);
      const windows = group(install, 'WindowsOnKvm');
      assert.deepEqual([windows?.attached, windows?.awaiting, windows?.installing], [1, 1, 0], 'Windows without a command: attach only');

      assert.equal(install.failures.total, 1);
      const failure = install.failures.vms[0];
      assert.deepEqual([failure.vmUuid, failure.vmName, failure.state, failure.reason, failure.fix], [HEX(3), 'vm-3', 'install-failed', 'detail-failed', `gtr retry --vm ${HEX(3)}`]);
      assert.ok(failure.errCause, 'the cause is kept');
      assert.match(failure.stderrTail ?? '', /cannot mount the GuestTools ISO/);

      // Listed again by run 2 (attached in run 1, still awaiting), with the command to paste.
      assert.equal(install.awaitingPerson.runId, second.runId);
      assert.deepEqual(install.awaitingPerson.vms.map((v) => [v.vmUuid, v.platform, v.why]), [[HEX(4), 'Linux', 'no-agent'], [HEX(5), 'Windows', 'no-command']]);
      assert.match(install.awaitingPerson.linuxCommand ?? '', /zs-tools-install\.sh/);
      assert.deepEqual([install.unavailable.scriptLibrary, install.unavailable.detach], [null, null]);
      assert.notEqual(first.id, second.runId);

      const text = (await gtr(['status', '--config', config])).stdout;
      assert.match(text, /^Install in the guest \(install\.mode qga, policy\.detachAfterVerify on\):$/m);
      assert.match(text, /^LinuxOnKvm\s+x86_64\s+\S+\s+4\s+0\s+2\s+2\s+1\s+1\s+0\s+0$/m, text);
      assert.match(text, /^Install failures \(1 VMs/m);
      assert.match(text, /stderr \(tail\):\n\s+mount: \/mnt\/gtr-install: permission denied\n\s+zs-tools-install\.sh: cannot mount the GuestTools ISO/);
      assert.match(text, new RegExp(`^Awaiting a person's install \\(2 VMs, as of run #${second.runId}\\):`, 'm'));
      assert.match(text, new RegExp(`vm-4\\s+${HEX(4)}\\s+Linux\\s+no running guest agent`));
      assert.match(text, /^In each Linux guest, as root:\n( {2}.*\n)* {2}.*zs-tools-install\.sh/m);

      // The page shows the same numbers (it is built from the same JSON).
      const daemon = startDaemon(config);
      try {
        const base = await daemon.url();
        const page = await (await fetch(`${base}/`)).text();
        const row = new RegExp(`<tr data-funnel="LinuxOnKvm/x86_64/${after.target.replace(/\./g, '\\.')}">(.*?)</tr>`, 's').exec(page)?.[1] ?? '';
        assert.ok(row, 'the Linux group has a funnel row');
        const cell = (key: string) => new RegExp(`data-count="${key}">(\\d+)<`).exec(row)?.[1];
        assert.deepEqual(['attached', 'installing', 'verified', 'detached', 'install-failed', 'awaiting'].map(cell), ['4', '0', '2', '2', '1', '1']);
        assert.match(page, /<span data-failures-total>1<\/span>/);
        assert.match(page, /<pre data-stderr>[^<]*cannot mount the GuestTools ISO/);
        assert.match(page, /<span data-awaiting-total>2<\/span>/);
        assert.match(page, /<pre data-linux-command>[^<]*zs-tools-install\.sh/);
        const api = (await (await fetch(`${base}/api/status`)).json()) as { install: InstallStatus };
        assert.deepEqual(api.install.funnel, install.funnel, '/api/status carries the same funnel');
      } finally {
        await daemon.stop();
      }
    });
  });

  it('an older MN without the script library and without detach: gtr status says so, also after a dry run', async () => {
    // VM 2's guest installs the attached tools by itself (a person, autorun): verified in run 2, then its detach is asked.
    const fleet = [withAgent(1), withAgent(2, { installs: true })];
    await withSetup({ fleet, scriptLibrary: false, detachApi: false, guests: { installMs: 1, agentRestartMs: 1, installDelayMs: 0 } }, async (sim, _ws, config) => {
      await reconcile(config);
      await waitFor('VM 2 to report the attached version', () => sim.guestView(HEX(2))?.installedVersion !== '1.0.0');
      const run = await reconcile(config);
      const { install } = await status(config);
      assert.equal(install.unavailable.runId, run.runId);
      assert.match(install.unavailable.scriptLibrary ?? '', /no script library/);
      assert.match(install.unavailable.detach ?? '', /no DetachGuestToolsIsoFromVm/);
      const linux = group(install, 'LinuxOnKvm');
      assert.deepEqual(linux && [linux.attached, linux.awaiting, linux.verified, linux.detached], [2, 1, 1, 0], 'verified without an install, and kept attached');
      const text = (await gtr(['status', '--config', config])).stdout;
      assert.equal(text.match(/no script library/g)?.length, 1, `said once, under the last run: ${text}`);
      assert.match(text, /^\s+warning: the management node has no script library/m);
      assert.match(text, /^\s+warning: the management node has no DetachGuestToolsIsoFromVm/m);

      // A dry run is the last run now: the install section names the run that found it.
      assert.equal((await gtr(['plan', '--config', config])).code, 0);
      const later = (await gtr(['status', '--config', config])).stdout;
      assert.match(later, new RegExp(`^\\s+unavailable \\(run #${run.runId}\\): the management node has no script library`, 'm'));
    });
  });
});
