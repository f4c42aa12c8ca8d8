// Older management nodes (zstack-api.md 10.2) against the simulator over real sockets: before 4.6.11
// there is no QueryGuestToolsState and the GuestTools:: tags alone decide (one warning per process,
// recorded in the run, shown by `gtr status`); 4.6.11-4.6.20 call the state field `state` and refuse
// `qgaState` in a query; later ones `qgaState`. The guest's report decides wherever there is one.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/log.js';
import { readInventory } from '../src/observe/inventory.js';
import { startSimulator } from '../src/sim/index.js';
import { gtr, simConfig, workspace } from './helpers/cli.js';
import { logLines } from './helpers/daemon.js';
import { testVm } from './helpers/fleet.js';
import { clientHarness } from './helpers/zstack.js';

// Tagged 1.0.0, but the guest reports 1.2.0 (the catalog target): up to date where the MN can say so.
const REPORTED = testVm(1, { guest: { qgaState: 'Running', version: '1.2.0' } });
// A state row that says nothing is installed: its version must not count.
const NOT_INSTALLED = testVm(2, { guest: { qgaState: 'NotInstalled', version: '1.2.0' } });
const TAG_ONLY = testVm(3);
const FLEET = [REPORTED, NOT_INSTALLED, TAG_ONLY];

const h = clientHarness({ fleet: FLEET });

/** The warning that the MN has no QueryGuestToolsState, by its fields. */
const isAbsentWarning = (l: Record<string, unknown>) => l.api === 'QueryGuestToolsState' && l.support === 'absent' && l.level === 40;

function logSink(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { text += chunk.toString(); done(); } });
  const logger = createLogger({ level: 'warn', destination: stream as unknown as NodeJS.WritableStream });
  return { logger, lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('older management nodes: the inventory', () => {
  for (const [version, field] of [['4.6.20', 'state'], ['4.6.21', 'qgaState'], ['5.3.0', 'qgaState']] as const) {
    it(`${version}: reads the guest reports through \`${field}\`, filtering NotInstalled on the client`, async () => {
      const sim = await h.sim({ mnVersion: version });
      const client = h.client(sim);
      const vms = await readInventory(client, { selectorTags: [] });
      const reported = Object.fromEntries(vms.map((vm) => [vm.name, vm.reportedVersion]));
      assert.deepEqual(reported, { 'vm-1': '1.2.0', 'vm-2': null, 'vm-3': null });
      assert.equal(await client.guestToolsStateSupport(), field);
      const stateQueries = sim.calls.filter((c) => c.api === 'QueryGuestToolsState');
      assert.ok(stateQueries.every((c) => c.status === 200), JSON.stringify(stateQueries));
      // Found out once: a second read asks the MN only for the rows.
      await readInventory(client, { selectorTags: [] });
      assert.equal(sim.calls.filter((c) => c.api === 'QueryGuestToolsState').length, stateQueries.length + 1);
    });
  }

  it('4.6.10: no QueryGuestToolsState, the tags alone decide, and the client warns once however often it reads', async () => {
    const sim = await h.sim({ mnVersion: '4.6.10' });
    const sink = logSink();
    const client = h.client(sim, { logger: sink.logger });
    for (let i = 0; i < 3; i++) {
      const vms = await readInventory(client, { selectorTags: [] });
      assert.deepEqual(vms.map((vm) => [vm.name, vm.reportedVersion, vm.tagVersions]), [
        ['vm-1', null, ['1.0.0']], ['vm-2', null, ['1.0.0']], ['vm-3', null, ['1.0.0']],
      ]);
    }
    assert.equal(await client.guestToolsStateSupport(), 'absent');
    const warnings = sink.lines().filter(isAbsentWarning);
    assert.equal(warnings.length, 1, JSON.stringify(sink.lines()));
    assert.equal(sim.calls.filter((c) => c.api === 'Unknown' && c.status === 404).length, 1, 'probed once');
  });
});

describe('older management nodes: the CLI', () => {
  it('4.6.10: reconcile works from tags (exit 0), warns once, and the run, runs show and status say so', async () => {
    const sim = await startSimulator({ fleet: FLEET, mnVersion: '4.6.10', jobDurationMs: 5, guests: { installDelayMs: 5 } });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim));
      const run = await gtr(['reconcile', '--json', '--config', config]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { runId: number; counts: Record<string, number> };
      // All three carry tag 1.0.0 and nothing else is known: all three are attached.
      assert.equal(report.counts.attach, 3);
      assert.equal(logLines(run.stderr).filter(isAbsentWarning).length, 1, run.stderr);

      const shown = JSON.parse((await gtr(['runs', 'show', String(report.runId), '--json', '--config', config])).stdout) as { warnings: { code: string }[] };
      assert.deepEqual(shown.warnings.map((w) => w.code), ['guest-tools-state-absent']);
      const human = await gtr(['runs', 'show', String(report.runId), '--config', config]);
      assert.match(human.stdout, /warning: the management node has no QueryGuestToolsState \(it is older than 4\.6\.11\)/);
      const status = JSON.parse((await gtr(['status', '--json', '--config', config])).stdout) as { lastRun: { warnings: { code: string }[] } };
      assert.deepEqual(status.lastRun.warnings.map((w) => w.code), ['guest-tools-state-absent']);
      assert.match((await gtr(['status', '--config', config])).stdout, /warning: .*GuestTools versions come from GuestTools:: tags alone/);
    } finally {
      ws.cleanup();
      await sim.close();
    }
  });

  it('4.6.20: the guest report decides (vm-1 is up to date), and the run has no warning', async () => {
    const sim = await startSimulator({ fleet: FLEET, mnVersion: '4.6.20' });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim));
      const plan = await gtr(['plan', '--json', '--config', config]);
      assert.equal(plan.code, 0, plan.stderr);
      const report = JSON.parse(plan.stdout) as { runId: number; actions: { vmName: string; action: string; reason: string }[]; counts: Record<string, number> };
      assert.equal(report.counts.attach, 2);
      assert.equal(report.counts['skip/up-to-date'], 1);
      const shown = JSON.parse((await gtr(['runs', 'show', String(report.runId), '--json', '--config', config])).stdout) as { warnings: unknown[] };
      assert.deepEqual(shown.warnings, []);
    } finally {
      ws.cleanup();
      await sim.close();
    }
  });
});
