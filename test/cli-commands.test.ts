// Commands as an operator types them (issue 25): each command's own help with examples, "did you mean"
// for commands, subcommands and flags, one prefix per message, and `--vm` by uuid or name, where a uuid
// or name nobody has, or a name several VMs share, is exit 2 naming it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../src/sim/index.js';
import { HEX, testFleet } from './helpers/fleet.js';
import { gtr, simConfig, workspace } from './helpers/cli.js';

const NAMES = ['web-01', 'dup', 'dup', '数据库服务器-主', 'other'];

describe('help and mistakes', () => {
  it('gtr help CMD and CMD SUB --help show that command\'s own help with examples', async () => {
    const plan = await gtr(['help', 'plan']);
    assert.equal(plan.code, 0);
    assert.match(plan.stdout, /^Usage: gtr plan /);
    assert.match(plan.stdout, /Examples:\n {2}gtr plan/);
    const pause = await gtr(['rollout', 'pause', '--help']);
    assert.equal(pause.code, 0);
    assert.match(pause.stdout, /^Usage: gtr rollout pause ID/);
    assert.match(pause.stdout, /Examples:\n {2}gtr rollout pause 3/);
    assert.doesNotMatch(pause.stdout, /--canary-tag/, 'not the whole rollout help');
    assert.equal((await gtr(['help', 'rollout', 'pause'])).stdout, pause.stdout);
    for (const cmd of ['reconcile', 'status', 'runs', 'retry']) assert.match((await gtr(['help', cmd])).stdout, /Examples:\n/, cmd);
  });

  it('did you mean: commands, subcommands and flags; one prefix per message; runs show without an id', async () => {
    const cmd = await gtr(['plna']);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /unknown command "plna" \(did you mean "gtr plan"\?\)/);
    const sub = await gtr(['rollout', 'pase', '1']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /^gtr rollout: unknown subcommand "pase" \(did you mean "gtr rollout pause"\?\)/);
    const flag = await gtr(['plan', '--jsn']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^gtr plan: unknown option --jsn \(did you mean --json\?\)\nRun "gtr plan --help" for its usage and examples\.\n$/);
    const noValue = await gtr(['runs', '--limit']);
    assert.match(noValue.stderr, /^gtr runs: --limit needs a value\n/);
    const show = await gtr(['runs', 'show']);
    assert.equal(show.code, 2);
    assert.match(show.stderr, /^gtr runs show: which run\? give its ID: gtr runs show ID/);
    assert.doesNotMatch(show.stderr, /--ID/);
    const pause = await gtr(['rollout', 'pause']);
    assert.match(pause.stderr, /^gtr rollout pause: which rollout\? give its ID/);
    for (const r of [cmd, sub, flag, noValue, show, pause]) {
      assert.doesNotMatch(r.stderr, /gtr (\w+)( \w+)?: \1:|^\s+at /m, 'one prefix, no stack trace');
    }
  });
});

describe('--vm by uuid or name', () => {
  it('plan and reconcile: an unknown uuid or name is exit 2 naming it; a unique name attaches that VM; a shared name lists its VMs; retry by name', async () => {
    const sim = await startSimulator({ fleet: testFleet(NAMES.length, { patch: (i) => ({ name: NAMES[i] }) }), jobDurationMs: 5 });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim, {}));
      const unknownUuid = await gtr(['reconcile', '--vm', HEX(99), '--config', config]);
      assert.equal(unknownUuid.code, 2, unknownUuid.stdout);
      assert.match(unknownUuid.stderr, new RegExp(`--vm: "${HEX(99)}" is neither the uuid nor the name of a VM in ZStack`));
      const unknownName = await gtr(['plan', '--vm', 'web-02', '--vm', 'web-01', '--config', config]);
      assert.equal(unknownName.code, 2);
      assert.match(unknownName.stderr, /"web-02" is neither/);
      assert.doesNotMatch(unknownName.stderr, /"web-01"/, 'only the unknown one is named');
      const shared = await gtr(['plan', '--vm', 'dup', '--config', config]);
      assert.equal(shared.code, 2);
      assert.match(shared.stderr, new RegExp(`"dup" is the name of 2 VMs \\(${HEX(2)}, ${HEX(3)}\\); give the uuid`));
      assert.equal(sim.attachesStarted().length, 0, 'nothing attached by refused commands');

      const named = await gtr(['reconcile', '--vm', 'web-01', '--vm', '数据库服务器-主', '--vm', HEX(5), '--json', '--config', config]);
      assert.equal(named.code, 0, named.stderr);
      const report = JSON.parse(named.stdout) as { actions: { vmUuid: string; outcome: string | null }[] };
      assert.deepEqual(report.actions.map((a) => [a.vmUuid, a.outcome]).sort(), [[HEX(1), 'attached'], [HEX(4), 'attached'], [HEX(5), 'attached']]);

      const retry = await gtr(['retry', '--vm', 'web-01', '--config', config]);
      assert.equal(retry.code, 0, retry.stderr);
      assert.match(retry.stdout, new RegExp(`^${HEX(1)}: failures, quarantine and attempts forgotten`));
      const retryUnknown = await gtr(['retry', '--vm', 'nobody', '--config', config]);
      assert.equal(retryUnknown.code, 2);
      assert.match(retryUnknown.stderr, /--vm: "nobody" is neither the uuid nor the name of a VM recorded in the ledger/);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
