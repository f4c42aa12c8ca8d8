// Bad input, end to end through the CLI: GuestTools:: tags and VM names that are empty, unparseable,
// huge, full of control characters or markup, or several on one VM. Decisions stay correct, the JSON
// carries the data escaped, and the human output never passes a control character to the terminal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type SimVm, type Simulator } from '../src/sim/index.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';
import { HEX, outdatedFleet } from './helpers/fault.js';

const ESC_NAME = 'evil\u001b]0;pwned\u0007\u001b[2J\r\nFAKE: all VMs up to date\u202e';
const MARKUP_NAME = '<script>alert(1)</script><b>vm</b>';

function vm(n: number, patch: Partial<SimVm>): SimVm {
  return { ...outdatedFleet(1, 1, { first: n })[0], ...patch };
}

const FLEET: SimVm[] = [
  vm(1, { tags: ['GuestTools::'] }),
  vm(2, { tags: ['GuestTools::1.2.x'] }),
  vm(3, { tags: [`GuestTools::${'x'.repeat(10_000)}`] }),
  vm(4, { tags: [`GuestTools::${'9'.repeat(300)}`] }),
  vm(5, { tags: ['GuestTools::1.0.0\u001b[31m\u0007'] }),
  vm(6, { tags: ['GuestTools::<b>1.0.0</b>'] }),
  vm(7, { tags: ['GuestTools::1.0.0', 'GuestTools::1.1.0', 'GuestTools::garbage'], name: ESC_NAME }),
  vm(8, { tags: ['GuestTools::1.0.0'], name: MARKUP_NAME }),
];

/** Raw control characters (other than newline) and bidi overrides that would reach the terminal. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

type Action = { vmUuid: string; vmName: string; current: string | null; action: string; reason: string };

describe('bad input: tags and VM names', () => {
  let sim: Simulator;
  let ws: Workspace;
  let config: string;
  before(async () => {
    sim = await startSimulator({ fleet: FLEET, jobDurationMs: 5, guests: { installShare: 1 } });
    ws = await workspace();
    config = ws.writeConfig(simConfig(ws, sim));
  });
  after(async () => {
    await sim.close();
    ws.cleanup();
  });

  it('plan --json: each odd tag gets its documented decision, and long values are cut short', async () => {
    const r = await gtr(['plan', '--config', config, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const actions = new Map((JSON.parse(r.stdout) as { actions: Action[] }).actions.map((a) => [a.vmUuid, a]));
    const decision = (n: number) => `${actions.get(HEX(n))?.action}/${actions.get(HEX(n))?.reason}`;
    assert.equal(decision(1), 'skip/unparseable-tag', 'GuestTools:: with no value');
    assert.equal(decision(2), 'skip/unparseable-tag', 'GuestTools::1.2.x');
    assert.equal(decision(3), 'skip/unparseable-tag', 'a 10000-character value');
    assert.equal(decision(5), 'skip/unparseable-tag', 'control characters');
    assert.equal(decision(6), 'skip/unparseable-tag', 'markup');
    assert.equal(decision(7), 'attach/outdated', 'several tags: the highest parseable one counts');
    assert.equal(actions.get(HEX(7))?.current, '1.1.0');
    assert.equal(decision(8), 'attach/outdated');
    assert.notEqual(decision(4), 'attach/outdated', 'a 300-digit version is never a reason to attach');
    for (const a of actions.values()) assert.ok((a.current ?? '').length <= 80, `current of ${a.vmUuid} is bounded (${(a.current ?? '').length})`);
    assert.equal(actions.get(HEX(7))?.vmName, ESC_NAME, 'JSON keeps the name exactly, escaped by JSON itself');
    // JSON escapes C0 controls by itself; other characters are valid JSON text and kept as they are.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f]/, 'no raw C0 control character in the JSON text');
    assert.ok(r.stdout.length < 20_000, `the JSON stays small (${r.stdout.length})`);
  });

  it('the human plan, reconcile and runs show escape control characters and print markup as inert text', async () => {
    const plan = await gtr(['plan', '--config', config]);
    assert.equal(plan.code, 0, plan.stderr);
    const run = await gtr(['reconcile', '--config', config]);
    assert.equal(run.code, 0, run.stderr);
    const runs = await gtr(['runs', 'show', '2', '--config', config]);
    assert.equal(runs.code, 0, runs.stderr);
    for (const [name, out] of [['plan', plan.stdout], ['reconcile', run.stdout], ['runs show', runs.stdout]]) {
      assert.doesNotMatch(out, RAW_CONTROL, `${name}: no raw control character reaches the terminal`);
      assert.doesNotMatch(out, /^FAKE:/m, `${name}: a name cannot fake a line of output`);
    }
    assert.match(plan.stdout, /evil\\x1b\]0;pwned\\x07\\x1b\[2J\\x0d\\x0aFAKE/, 'the name is shown escaped');
    assert.ok(plan.stdout.includes(MARKUP_NAME), 'markup is plain text in a terminal');
    assert.ok(runs.stdout.includes('\\x1b[31m') || runs.stdout.includes('evil\\x1b'), 'runs show escapes too');
    assert.equal(sim.attachesStarted().length, 2, 'only the two outdated VMs were attached');
  });
});
