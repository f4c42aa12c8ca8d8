// End to end: the fleet changes while `gtr` reads it (docs/design.md 1). Rows deleted on
// page 1 while page 2 is read must not hide a row of page 2 (a CD-ROM holding a user's ISO, a
// GuestTools:: tag, a VM), and a VM changed between the inventory and apply (a user inserts an ISO, the
// guest reports its install) is planned again on what it is now. The simulator holds the chosen request
// (holdRequest) while the test changes the world; the CLI runs as a child process on real SQLite.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SimOptions, SimVm, Simulator } from '../src/sim/index.js';
import { cdRomUuid } from '../src/sim/resources.js';
import { HEX, testFleet, testVm } from './helpers/fleet.js';
import { fastClient } from './helpers/zstack.js';
import { gtr, withSimSetup } from './helpers/cli.js';
import { queryConditions, uuidLists } from './helpers/query-lists.js';

const USER_ISO = 'f00dfeed'.repeat(4);
const PAGE = 5;

type Action = { vmUuid: string; action: string; reason: string; outcome: string | null };
type Report = { status: string; planHash: string; counts: Record<string, number>; actions: Action[] };

async function withSetup(
  simOpts: SimOptions,
  policy: Record<string, unknown>,
  fn: (s: { sim: Simulator; run: (command: 'reconcile' | 'plan') => Promise<Report>; config: string }) => Promise<void>,
  pageSize = PAGE,
): Promise<void> {
  await withSimSetup({ jobDurationMs: 5, ...simOpts }, { zstack: { pageSize }, policy }, async ({ sim, config }) => {
    const run = async (command: 'reconcile' | 'plan') => {
      const r = await gtr([command, '--config', config, '--json']);
      assert.ok(r.code === 0 || r.code === 1, `gtr ${command} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Report;
    };
    await fn({ sim, run, config });
  });
}

const decision = (report: Report, vm: string) => {
  const a = report.actions.find((x) => x.vmUuid === vm);
  return a ? `${a.action}/${a.reason}` : 'absent';
};
const attachedVms = (sim: Simulator) => new Set(sim.attachesStarted().map((a) => a.vmUuid));

/**
 * Up-to-date VMs and one out-of-date VM x with two CD-ROMs, a user's ISO in CD-ROM 0, placed so that
 * its CD-ROM 0 row is the first row of page 2 (rows sort by CD-ROM uuid); `pageOne` owns a row of page 1.
 */
function cdRomFleet(): { fleet: SimVm[]; x: string; pageOne: string } {
  for (let n = 8; n < 40; n++) {
    for (let xi = 1; xi <= n; xi++) {
      const x = HEX(xi);
      const fleet = testFleet(n, { patch: (i) => (i + 1 === xi ? { cdRoms: 2, cdRomIsoUuid: USER_ISO } : { tags: ['GuestTools::1.2.0'] }) });
      const rows = fleet
        .flatMap((vm) => Array.from({ length: vm.cdRoms }, (_, d) => ({ uuid: cdRomUuid(vm.uuid, d), vm: vm.uuid, d })))
        .sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
      const pageOne = rows.slice(0, PAGE).find((r) => r.vm !== x)?.vm;
      if (rows[PAGE].vm === x && rows[PAGE].d === 0 && pageOne) return { fleet, x, pageOne };
    }
  }
  throw new Error('no fleet puts the CD-ROM where the test needs it');
}

describe('consistent reads: rows deleted between pages hide nothing', () => {
  it('a CD-ROM holding a user\'s ISO, first on page 2, is seen when a page-1 CD-ROM goes: cdrom-busy, not ejected', async () => {
    const { fleet, x, pageOne } = cdRomFleet();
    await withSetup({ fleet }, {}, async ({ sim, run }) => {
      const held = sim.holdRequest({ api: 'QueryVmCdRom', skip: 1 });
      const reconcile = run('reconcile');
      await held.reached;
      sim.updateVm(pageOne, { cdRoms: 0 });
      held.release();
      const report = await reconcile;
      assert.equal(decision(report, x), 'defer/cdrom-busy');
      assert.ok(!attachedVms(sim).has(x), 'no attach reached the management node for the VM');
      assert.equal(sim.vm(x)?.cdRomIsoUuid, USER_ISO, "the user's ISO is still in CD-ROM 0");
    });
  });

  it('a GuestTools:: tag first on page 2 is seen when a page-1 tag goes: up-to-date, not attached as untagged', async () => {
    // HEX(0) has no tag at all: the first attach of the group, so the catalog probe asks about it (and
    // not about the VM that only looks untagged, which the MN knows better).
    const fleet = [testVm(0, { tags: [] }), ...testFleet(12, { patch: () => ({ tags: ['GuestTools::1.2.0'] }) })];
    await withSetup({ fleet }, { attachUntagged: true }, async ({ sim, run }) => {
      // Which VM's tag rows land where (tag uuids are the MN's): read them as the reconciler would.
      const client = fastClient(sim);
      const rows: Record<string, unknown>[] = [];
      try {
        for await (const page of client.queryPages('system-tags', ['resourceType=VmInstanceVO', 'tag~=GuestTools::%'], { fields: ['resourceUuid'] })) rows.push(...page);
      } finally {
        await client.close();
      }
      const y = String(rows[PAGE].resourceUuid);
      const z = String(rows[0].resourceUuid);
      const held = sim.holdRequest({ api: 'QuerySystemTag', skip: 1, match: (c) => queryConditions(c.query).includes('tag~=GuestTools::%') });
      const reconcile = run('reconcile');
      await held.reached;
      sim.updateVm(z, { tags: [] });
      held.release();
      const report = await reconcile;
      assert.equal(decision(report, y), 'skip/up-to-date');
      assert.ok(!attachedVms(sim).has(y), 'the up-to-date VM was not attached');
      assert.equal(decision(report, HEX(0)), 'attach/untagged');
    });
  });

  it('a VM first on page 2 is planned when a page-1 VM is deleted meanwhile', async () => {
    await withSetup({ fleet: testFleet(12) }, {}, async ({ sim, run }) => {
      const held = sim.holdRequest({ api: 'QueryVmInstance', skip: 1 });
      const plan = run('plan');
      await held.reached;
      sim.removeVm(HEX(1));
      held.release();
      const report = await plan;
      // VMs sort by uuid: HEX(6) is the sixth, the first of page 2.
      assert.equal(decision(report, HEX(PAGE + 1)), 'attach/outdated');
      for (let n = 2; n <= 12; n++) assert.notEqual(decision(report, HEX(n)), 'absent', `vm ${n} is in the plan`);
    });
  });
});

describe('consistent reads: the attach set is read again before apply', () => {
  it('a VM whose CD-ROM 0 got a user\'s ISO after the inventory is not attached (cdrom-busy), one reporting the target is up-to-date', async () => {
    await withSetup({ fleet: testFleet(3) }, {}, async ({ sim, run, config }) => {
      // The catalog probe comes after the inventory: the world changes while it is held.
      const held = sim.holdRequest({ api: 'GetLatestGuestToolsForVm' });
      const reconcile = run('reconcile');
      await held.reached;
      const inventoryReads = sim.calls.filter((c) => c.api === 'QueryVmCdRom').length;
      sim.updateVm(HEX(1), { cdRomIsoUuid: USER_ISO });
      sim.guestReport(HEX(2), '1.2.0');
      held.release();
      const report = await reconcile;
      assert.equal(decision(report, HEX(1)), 'defer/cdrom-busy');
      assert.equal(decision(report, HEX(2)), 'skip/up-to-date');
      assert.equal(decision(report, HEX(3)), 'attach/outdated');
      assert.deepEqual([...attachedVms(sim)], [HEX(3)], 'only the VM that is still out of date and free was attached');
      assert.equal(sim.vm(HEX(1))?.cdRomIsoUuid, USER_ISO);
      assert.equal(report.counts.attach, 1);

      // One batch: the attach set's uuids in one `?=` list per query, after the inventory.
      const reread = sim.calls.filter((c) => c.api === 'QueryVmCdRom').slice(inventoryReads);
      assert.ok(reread.length >= 1);
      assert.deepEqual(queryConditions(reread[0].query), [`vmInstanceUuid?=${[HEX(1), HEX(2), HEX(3)].join(',')}`]);

      // The ledger holds the decisions taken on the re-read, not the first ones.
      const shown = await gtr(['runs', 'show', '1', '--json', '--config', config]);
      const stored = JSON.parse(shown.stdout) as { actions: Action[] };
      assert.equal(stored.actions.find((a) => a.vmUuid === HEX(1))?.reason, 'cdrom-busy');
    });
  });

  it('re-reads 450 VMs in three batches of at most 200 uuids, four requests each', async () => {
    const fleet = testFleet(450, { patch: () => ({ guest: { qgaState: 'Running', version: '1.0.0' } }) });
    await withSetup({ fleet }, {}, async ({ sim, run }) => {
      const held = sim.holdRequest({ api: 'GetLatestGuestToolsForVm' });
      const plan = run('plan');
      await held.reached;
      const before = sim.calls.length;
      held.release();
      const report = await plan;
      assert.equal(report.counts.attach, 450);
      const reread = sim.calls.slice(before).filter((c) => c.api.startsWith('Query'));
      const batches = new Set(reread.flatMap((c) => uuidLists(c.query)));
      assert.deepEqual([...batches].map((b) => b.split(',').length).sort(), [200, 200, 50]);
      // Per batch one page each of CD-ROMs, GuestTools:: tags, guest reports, and the dated tags
      // (guestToolsHasAttached and GuestTools::InstallFailed in one query).
      const byApi: Record<string, number> = {};
      for (const c of reread) byApi[c.api] = (byApi[c.api] ?? 0) + 1;
      assert.deepEqual(byApi, { QueryVmCdRom: 3, QuerySystemTag: 6, QueryGuestToolsState: 3 });
    }, 1000);
  });
});
