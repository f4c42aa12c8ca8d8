// "Recently attached" does not depend on this database alone: the MN writes guestToolsHasAttached on a
// VM when an attach succeeds, and a VM whose tag is younger than policy.reattachAfter is
// defer/awaiting-install even when this ledger never attached it (the other management node did, or
// the database was replaced). Two databases, one simulator, the CLI as child processes. Whether a later
// attach recreates the tag (a new createDate) or keeps the first is not known (zstack-api.md 4.1): the
// simulator does either, and both are run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSimulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { fastClient } from './helpers/zstack.js';
import { gtr, simConfig, workspace } from './helpers/cli.js';
import { parseZStackDate } from '../src/zstack/zstack-date.js';

interface Report {
  counts: Record<string, number>;
  actions: { vmUuid: string; action: string; reason: string; detail?: string }[];
}

async function attachedTags(sim: { endpoint: string; accountName: string; password: string }): Promise<Map<string, { uuid: string; createDate: string }>> {
  const client = fastClient(sim);
  try {
    const out = new Map<string, { uuid: string; createDate: string }>();
    for await (const page of client.queryPages('system-tags', ['resourceType=VmInstanceVO', 'tag=guestToolsHasAttached'])) {
      for (const row of page) out.set(String(row.resourceUuid), { uuid: String(row.uuid), createDate: String(row.createDate) });
    }
    return out;
  } finally {
    await client.close();
  }
}

for (const recreateAttachedTag of [false, true]) {
  describe(`attached by another database (the MN ${recreateAttachedTag ? 'recreates' : 'keeps'} guestToolsHasAttached on a later attach)`, () => {
    it('a second database right after the first attached: awaiting-install, no second attach; after reattachAfter it attaches', async () => {
      const sim = await startSimulator({ fleet: testFleet(3), jobDurationMs: 5, recreateAttachedTag, password: 'Elsewhere-Secret-3' });
      const ws = await workspace();
      try {
        const first = ws.writeConfig(simConfig(ws, sim));
        const r1 = await gtr(['reconcile', '--config', first, '--json']);
        assert.equal(r1.code, 0, r1.stderr);
        assert.equal((JSON.parse(r1.stdout) as Report).counts.attached, 3);
        assert.equal(sim.attachesStarted().length, 3);

        // The other node (or a fresh database): no attach of its own on record.
        ws.writeConfig(simConfig(ws, sim, { database: join(ws.dir, 'other.db') }));
        const r2 = await gtr(['reconcile', '--config', ws.configPath, '--json']);
        assert.equal(r2.code, 0, r2.stderr);
        const report = JSON.parse(r2.stdout) as Report;
        assert.equal(report.counts.attach, 0);
        assert.equal(report.counts['defer/awaiting-install'], 3);
        for (const a of report.actions) assert.match(a.detail ?? '', /^attached at \S+ \(the MN's guestToolsHasAttached tag\), not by this database$/);
        assert.equal(sim.attachesStarted().length, 3, 'no VM attached twice');

        // A day later on the MN (reattachAfter is 24 h), the tags no longer hold the VMs back.
        const tags = await attachedTags(sim);
        for (const t of tags.values()) assert.ok(Math.abs(Date.now() - (parseZStackDate(t.createDate) ?? 0)) < 60_000, `createDate ${t.createDate} is now`);
        sim.ageTags(25 * 3_600_000);
        const r3 = await gtr(['reconcile', '--config', ws.configPath, '--json']);
        assert.equal(r3.code, 0, r3.stderr);
        assert.equal((JSON.parse(r3.stdout) as Report).counts.attached, 3);
        assert.equal(sim.attachesStarted().length, 6);

        // What the MN does with the tag on the later attach: keep the first row, or write a new one.
        const after = await attachedTags(sim);
        for (const [vm, tag] of tags) {
          if (recreateAttachedTag) assert.notEqual(after.get(vm)?.uuid, tag.uuid, 'a new tag row, created now');
          else assert.equal(after.get(vm)?.uuid, tag.uuid, 'the first tag row kept, with its (aged) createDate');
        }
        // And so what a third database sees: with a renewed tag the VMs wait; with the first one kept they
        // are attached a third time (the limit of this evidence when the MN keeps the tag, see docs/ha.md).
        ws.writeConfig(simConfig(ws, sim, { database: join(ws.dir, 'third.db') }));
        const r4 = JSON.parse((await gtr(['plan', '--config', ws.configPath, '--json'])).stdout) as Report;
        assert.equal(r4.counts['defer/awaiting-install'] ?? 0, recreateAttachedTag ? 3 : 0);
        assert.equal(r4.counts.attach, recreateAttachedTag ? 0 : 3);
      } finally {
        await sim.close();
        ws.cleanup();
      }
    });
  });
}
