// Selecting VMs by the tags operators put on them in the ZStack UI (issue 13 part 2): the built CLI
// against the simulator. UI tags (tag patterns, legacy user tags) and system tags both match by name,
// excluded VMs say which tag excluded them, an exclude tag nobody has is a config error, and the tags
// are read in a fixed number of paged calls however many VMs carry them.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startSimulator, type SimOptions, type Simulator } from '../src/sim/index.js';
import { HEX, testFleet, testVm } from './helpers/fleet.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';

type Action = { vmUuid: string; action: string; reason: string; detail?: string };
type Report = { counts: Record<string, number>; actions: Action[] };

const FLEET = [
  testVm(1, { userTags: ['canary'] }),
  testVm(2, { userTags: ['no-auto-upgrade'] }), // UI tag (tag pattern)
  testVm(3, { userTags: [{ legacy: 'prod-db' }] }), // legacy user tag without a pattern
  testVm(4, { tags: ['GuestTools::1.0.0', 'ha::NeverStop'] }), // system tag
  testVm(5),
  testVm(6, { userTags: [{ pattern: 'owner', tag: 'owner::bob' }] }),
];

const opened: Array<{ sim: Simulator; ws: Workspace }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.sim.close();
    o.ws.cleanup();
  }
});

async function setup(simOpts: SimOptions, policy: Record<string, unknown>) {
  const sim = await startSimulator({ jobDurationMs: 5, guests: { installDelayMs: 5 }, ...simOpts });
  const ws = await workspace();
  opened.push({ sim, ws });
  const config = ws.writeConfig(simConfig(ws, sim, { policy, log: { level: 'info' } }));
  return { sim, config };
}

async function plan(config: string) {
  const r = await gtr(['plan', '--config', config, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const logs = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const report = JSON.parse(r.stdout) as Report;
  const of = (n: number) => report.actions.find((a) => a.vmUuid === HEX(n));
  return { report, logs, of };
}

describe('selecting VMs by UI tags', () => {
  it('excludes by UI tag, legacy user tag and system tag, naming the tag in detail, and logs the matches', async () => {
    const { config, sim } = await setup({ fleet: FLEET }, { exclude: { tags: ['no-auto-upgrade', 'prod-db', 'ha::NeverStop', 'owner'] } });
    const { report, logs, of } = await plan(config);
    assert.deepEqual(of(2), { ...of(2), action: 'skip', reason: 'excluded', detail: 'policy.exclude.tags: no-auto-upgrade' });
    assert.equal(of(3)?.detail, 'policy.exclude.tags: prod-db');
    assert.equal(of(4)?.detail, 'policy.exclude.tags: ha::NeverStop');
    assert.equal(of(6)?.detail, 'policy.exclude.tags: owner'); // a withToken pattern matches by its name
    for (const n of [1, 5]) assert.equal(`${of(n)?.action}/${of(n)?.reason}`, 'attach/outdated');
    assert.equal(of(1)?.detail, undefined);
    assert.equal(report.counts['skip/excluded'], 4);
    const matched = logs.find((l) => l.msg === 'selector matched VMs' && l.selector === 'policy.exclude');
    assert.deepEqual(matched?.tags, { 'no-auto-upgrade': 1, 'prod-db': 1, 'ha::NeverStop': 1, owner: 1 });
    assert.equal(matched?.vms, 4);
    // Tag patterns once, user tags twice (pattern-made and legacy): paged queries, never one per VM.
    const calls = sim.requestsByApi();
    assert.equal(calls.QueryTag, 1);
    assert.equal(calls.QueryUserTag, 2);
  });

  it('includes only the VMs with a UI tag; the rest say they were not selected', async () => {
    const { config } = await setup({ fleet: FLEET }, { include: { tags: ['canary'] } });
    const { report, of, logs } = await plan(config);
    assert.equal(`${of(1)?.action}/${of(1)?.reason}`, 'attach/outdated');
    assert.equal(of(5)?.detail, 'not selected by policy.include');
    assert.equal(report.counts.attach, 1);
    assert.equal(logs.find((l) => l.selector === 'policy.include')?.vms, 1);
  });

  it('reads the tags of a large fleet in the same number of calls', async () => {
    const fleet = testFleet(600, { hosts: 30, patch: (i) => (i % 2 === 0 ? { userTags: ['no-auto-upgrade', { legacy: 'prod-db' }] } : {}) });
    const { config, sim } = await setup({ fleet }, { exclude: { tags: ['no-auto-upgrade', 'prod-db'] } });
    const { report } = await plan(config);
    assert.equal(report.counts['skip/excluded'], 300);
    const calls = sim.requestsByApi();
    assert.equal(calls.QueryTag, 1);
    assert.equal(calls.QueryUserTag, 2);
  });

  it('refuses an exclude tag that no UI tag and no system tag has (exit 2, naming it)', async () => {
    const { config, sim } = await setup({ fleet: FLEET }, { exclude: { tags: ['no-auto-upgrade', 'no-such-tag'] } });
    const r = await gtr(['reconcile', '--config', config]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /policy\.exclude\.tags: got "no-such-tag"/);
    assert.doesNotMatch(r.stderr, /got "no-auto-upgrade"/);
    assert.equal(sim.attachesStarted().length, 0);
  });

  it('refuses an exclude tag a non-admin account cannot see (another account owns the pattern)', async () => {
    const fleet = [testVm(1, { userTags: [{ pattern: 'no-auto-upgrade', owner: 'admin' }] }), testVm(2)];
    const { config, sim } = await setup({ fleet, accountName: 'ops' }, { exclude: { tags: ['no-auto-upgrade'] } });
    const r = await gtr(['reconcile', '--config', config]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no-auto-upgrade.*non-admin account sees only its own UI tags/s);
    assert.equal(sim.attachesStarted().length, 0);
  });

  it('rollout start --canary-tag puts the VMs with that UI tag first', async () => {
    const fleet = testFleet(8, { patch: (i) => (i === 5 ? { userTags: ['canary'] } : {}) });
    const { config } = await setup({ fleet }, {});
    const r = await gtr(['rollout', 'start', '--config', config, '--json', '--waves', '1,100%', '--canary-tag', 'canary']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { members: { vmUuid: string; wave: number; canary: boolean }[]; notes: string[] };
    assert.deepEqual(out.members.filter((m) => m.canary).map((m) => [m.vmUuid, m.wave]), [[HEX(6), 1]]);
    assert.ok(out.notes.includes('canary tag canary (UI tag or system tag) matched 1 member'), out.notes.join('\n'));
  });
});
