// End to end: the built CLI as a child process against the simulator and a temp SQLite file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type SimOptions, type SimVm, type Simulator } from '../src/sim/index.js';
import { HEX, testVm } from './helpers/fleet.js';
import { gtr, simConfig, waitFor, workspace, type Workspace } from './helpers/cli.js';

const vm = testVm;

interface Setup {
  sim: Simulator;
  ws: Workspace;
  config: string;
}

async function setup(simOpts: SimOptions, extra: Parameters<typeof simConfig>[2] = {}): Promise<Setup> {
  const sim = await startSimulator({ jobDurationMs: 10, guests: { installShare: 1 }, ...simOpts });
  const ws = await workspace();
  const config = ws.writeConfig(simConfig(ws, sim, extra));
  return { sim, ws, config };
}

async function teardown(s: Setup): Promise<void> {
  await s.sim.close();
  s.ws.cleanup();
}

type Report = {
  runId: number;
  status: string;
  dryRun: boolean;
  planHash: string;
  counts: Record<string, number>;
  actions: { vmUuid: string; action: string; reason: string; outcome: string | null; target: string | null; error: { code: string } | null }[];
  message: string | null;
};

async function reconcileJson(config: string, ...args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const r = await gtr(['reconcile', '--config', config, '--json', ...args]);
  assert.ok(r.stdout.trim().startsWith('{'), `expected JSON on stdout, got: ${r.stdout.slice(0, 300)}\nstderr: ${r.stderr.slice(0, 500)}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

const reasonOf = (report: Report, uuid: string) => {
  const a = report.actions.find((x) => x.vmUuid === uuid);
  return a ? `${a.action}/${a.reason}` : 'missing';
};

describe('gtr reconcile end to end', () => {
  describe('one VM per reason code', () => {
    let s: Setup;
    const fleet: SimVm[] = [
      vm(1), // attach/outdated
      vm(2, { tags: ['GuestTools::1.2.0'] }), // skip/up-to-date
      vm(3, { tags: ['GuestTools::9.0.0'] }), // skip/ahead
      vm(4, { tags: ['GuestTools::not-a-version'] }), // skip/unparseable-tag
      vm(5, { tags: [] }), // skip/untagged
      vm(6, { type: 'ApplianceVm' }), // skip/not-user-vm
      vm(7, { hypervisorType: 'ESX' }), // skip/unsupported-hypervisor
      vm(8, { platform: 'Windows', architecture: 'mips64el' }), // skip/no-iso
      vm(9, { cdRoms: 0 }), // skip/no-cdrom
      vm(10, { state: 'Stopped', hostUuid: null }), // defer/not-running
      vm(11), // skip/excluded (policy.exclude)
      vm(12, { guest: { qgaState: 'Running', version: '1.2.0' } }), // guest report wins: skip/up-to-date
    ];
    before(async () => {
      s = await setup({ fleet }, { policy: { exclude: { vmUuids: [HEX(11)] } } });
    });
    after(() => teardown(s));

    it('plans every VM with the documented reason and changes nothing', async () => {
      const r = await gtr(['plan', '--config', s.config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as Report;
      assert.equal(report.status, 'dry-run');
      assert.equal(report.dryRun, true);
      assert.match(report.planHash, /^sha256:[0-9a-f]{64}$/);
      const want: Record<number, string> = {
        1: 'attach/outdated', 2: 'skip/up-to-date', 3: 'skip/ahead', 4: 'skip/unparseable-tag', 5: 'skip/untagged',
        6: 'skip/not-user-vm', 7: 'skip/unsupported-hypervisor', 8: 'skip/no-iso', 9: 'skip/no-cdrom',
        10: 'defer/not-running', 11: 'skip/excluded', 12: 'skip/up-to-date',
      };
      for (const [n, reason] of Object.entries(want)) assert.equal(reasonOf(report, HEX(Number(n))), reason, `vm-${n}`);
      assert.equal(s.sim.attachesStarted().length, 0, 'a plan never attaches');
    });

    it('reconciles: attaches only the outdated VM without a version tag, verified by the tag its installer reported; a second run is a no-op', async () => {
      const first = await reconcileJson(s.config);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.report.status, 'succeeded');
      assert.deepEqual(s.sim.attachesStarted().map((a) => [a.vmUuid, a.systemTags]), [[HEX(1), []]]);
      const action = first.report.actions.find((a) => a.vmUuid === HEX(1)) as (Report['actions'][number] & { verifiedBy?: string }) | undefined;
      assert.equal(action?.outcome, 'verified');
      assert.equal(action?.verifiedBy, 'tag', 'no QGA: the installer report wrote the tag, which we did not send');
      assert.equal(first.report.counts.succeeded, 1);
      const second = await reconcileJson(s.config);
      assert.equal(second.code, 0);
      assert.equal(second.report.status, 'noop');
      assert.equal(reasonOf(second.report, HEX(1)), 'skip/up-to-date');
      assert.equal(s.sim.attachesStarted().length, 1, 'no second attach');
    });
  });

  describe('history', () => {
    let s: Setup;
    before(async () => {
      s = await setup({ fleet: [vm(1), vm(2), vm(3, { tags: ['GuestTools::1.2.0'] })] });
    });
    after(() => teardown(s));

    it('records runs and decisions that gtr runs and gtr runs show report', async () => {
      const run = await reconcileJson(s.config);
      assert.equal(run.code, 0, run.stderr);
      const list = await gtr(['runs', '--config', s.config, '--json']);
      assert.equal(list.code, 0, list.stderr);
      const runs = (JSON.parse(list.stdout) as { runs: { id: number; status: string; trigger: string; dryRun: boolean; counts: Record<string, number> }[] }).runs;
      assert.equal(runs[0].id, run.report.runId);
      assert.equal(runs[0].trigger, 'cli');
      assert.equal(runs[0].status, 'succeeded');
      assert.equal(runs[0].counts.attach, 2);
      const show = await gtr(['runs', 'show', String(run.report.runId), '--config', s.config, '--json']);
      assert.equal(show.code, 0, show.stderr);
      const detail = JSON.parse(show.stdout) as { actions: { vmUuid: string; action: string; outcome: string; jobUuid: string }[] };
      const attached = detail.actions.filter((a) => a.action === 'attach');
      assert.equal(attached.length, 2);
      const jobs = new Set(s.sim.attachesStarted().map((a) => a.jobUuid));
      for (const a of attached) assert.ok(jobs.has(a.jobUuid), 'the recorded job uuid is the one the MN saw');
      const missing = await gtr(['runs', 'show', '999', '--config', s.config]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no run with id 999/);
    });

    it('gtr status shows the fleet by version, platform and architecture', async () => {
      const r = await gtr(['status', '--config', s.config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const status = JSON.parse(r.stdout) as { fleet: { version: string; platform: string; architecture: string; count: number }[]; lastRun: { status: string }; lease: unknown };
      const total = status.fleet.reduce((n, f) => n + f.count, 0);
      assert.equal(total, 3);
      assert.ok(status.fleet.some((f) => f.platform === 'Linux' && f.architecture === 'x86_64'));
      assert.equal(status.lease, null);
      const human = await gtr(['status', '--config', s.config]);
      assert.match(human.stdout, /Fleet \(3 VMs/);
    });
  });

  describe('history-driven deferrals', () => {
    it('a VM that keeps failing is quarantined; a VM whose guest never installs is awaiting-install', async () => {
      const fleet = [vm(1), vm(2), vm(3, { installs: false })];
      const s = await setup(
        { fleet, recordVersionTag: false, faults: { failVmUuids: [HEX(1)] } },
        { zstack: { recordVersionTag: false }, policy: { maxErrors: 5, quarantineAfter: 2, quarantineBase: '1h' } },
      );
      try {
        const first = await reconcileJson(s.config);
        assert.equal(first.code, 1, first.stderr);
        assert.equal(first.report.actions.find((a) => a.vmUuid === HEX(1))?.outcome, 'failed');
        await waitFor('the installing guest reports 1.2.0', () => s.sim.vm(HEX(2))?.tags.includes('GuestTools::1.2.0'));
        const second = await reconcileJson(s.config);
        assert.equal(reasonOf(second.report, HEX(1)), 'attach/outdated', 'one failure is below quarantineAfter');
        assert.equal(reasonOf(second.report, HEX(2)), 'skip/up-to-date', 'the guest installed and reported');
        assert.equal(reasonOf(second.report, HEX(3)), 'defer/awaiting-install', 'attached for this target already');
        const third = await reconcileJson(s.config);
        assert.equal(reasonOf(third.report, HEX(1)), 'defer/quarantined', 'two failures in a row');
        assert.equal(reasonOf(third.report, HEX(3)), 'defer/awaiting-install');
        const attachesOf = (uuid: string) => s.sim.attachesStarted().filter((a) => a.vmUuid === uuid).length;
        assert.equal(attachesOf(HEX(1)), 2);
        assert.equal(attachesOf(HEX(3)), 1, 'never attached twice for the same target within reattachAfter');
      } finally {
        await teardown(s);
      }
    });
  });
});
