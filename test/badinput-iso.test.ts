// Bad input, end to end through the CLI: ISO folders with spaces and unicode, unparseable versions,
// control characters in file names, symlink loops, unreadable folders, thousands of files, and an
// empty or missing folder. `gtr iso` and `gtr plan` keep working or fail with exit 3 and a clear message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { gtr, simConfig, workspace, type Workspace } from './helpers/cli.js';
import { outdatedFleet } from './helpers/fault.js';

const asRoot = process.getuid?.() === 0;
const NO_STACK = /\n\s+at .+:\d+:\d+/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const GENERAL = ['x86_64', 'c79', 'tools', 'guesttools', 'general', 'KVM'];
const WIN = ['x86_64', 'c79', 'tools', 'guesttools', 'x86_64', 'KVM'];

type Catalog = { targets: { agentType: string; version: string; iso: string }[]; problems: { path: string; problem: string }[] };

function touch(dir: string, parts: string[], file: string): string {
  const folder = join(dir, ...parts);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, file), '');
  return join(folder, file);
}

describe('bad input: the ISO folder', () => {
  let sim: Simulator;
  let ws: Workspace;
  let scratch: string;
  const configFor = (isoDir: string) => ws.writeConfig({ ...simConfig(ws, sim), isoDir });
  before(async () => {
    sim = await startSimulator({ fleet: outdatedFleet(4, 2), jobDurationMs: 5, isos: [
      { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.3.0' },
      { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0' },
    ] });
    ws = await workspace();
    scratch = mkdtempSync(join(tmpdir(), 'gtr-iso-'));
  });
  after(async () => {
    await sim.close();
    ws.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('names with spaces, unicode and control characters, unparseable versions and a symlink loop', async () => {
    const dir = join(scratch, 'odd');
    touch(dir, ['x86_64', 'c79 ä 目录', 'tools', 'guesttools', 'general', 'KVM'], 'GuestTools_linux-1.3.0.iso');
    touch(dir, WIN, 'GuestTools-1.2.0.iso');
    touch(dir, WIN, 'GuestTools-1.2.x.iso');
    touch(dir, WIN, 'GuestTools-.iso');
    touch(dir, WIN, 'GuestTools-9.9.9\u001b[31m\u0007.iso');
    touch(dir, WIN, 'GuestTools-<b>2.0.0</b>.iso'.replace('/', '_'));
    symlinkSync(join(dir, 'x86_64'), join(dir, 'x86_64', 'c79', 'loop'));
    const config = configFor(dir);

    const json = await gtr(['iso', '--config', config, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const catalog = JSON.parse(json.stdout) as Catalog;
    const target = (agent: string) => catalog.targets.find((t) => t.agentType === agent)?.version;
    assert.equal(target('LinuxOnKvm'), '1.3.0', 'found below a folder with spaces and unicode');
    assert.equal(target('WindowsOnKvm'), '1.2.0', 'unparseable versions are ignored, never chosen');
    assert.ok(catalog.problems.some((p) => p.path.includes('1.2.x')), 'the unparseable name is reported');

    const human = await gtr(['iso', '--config', config]);
    assert.equal(human.code, 0, human.stderr);
    assert.doesNotMatch(human.stdout, RAW_CONTROL, 'file names are shown escaped');
    assert.match(human.stdout, /9\.9\.9\\x1b\[31m\\x07/);

    const plan = await gtr(['plan', '--config', config, '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    const counts = (JSON.parse(plan.stdout) as { counts: Record<string, number> }).counts;
    assert.equal(counts.attach, 4, 'the plan uses the good ISOs');
  });

  it('an empty folder, or one with only unparseable names: exit 3 GTR_CATALOG_EMPTY naming it, never a quiet no-op', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    const junk = join(scratch, 'junk', 'x86_64', 'KVM');
    mkdirSync(junk, { recursive: true });
    writeFileSync(join(junk, 'GuestTools-latest.iso'), '');
    for (const dir of [empty, join(scratch, 'junk')]) {
      const config = configFor(dir);
      const iso = await gtr(['iso', '--config', config]);
      assert.equal(iso.code, 3, iso.stderr);
      assert.match(iso.stdout, /ISO folder/, 'the listing is still printed');
      assert.match(iso.stderr, /GTR_CATALOG_EMPTY/);
      const plan = await gtr(['plan', '--config', config, '--json']);
      assert.equal(plan.code, 3, plan.stderr);
      assert.ok(plan.stderr.includes(dir), 'names the folder');
      assert.equal(plan.stdout, '');
    }
  });

  it('a missing folder, or a file in its place: exit 3 naming the path, no stack trace', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, 'not a folder');
    for (const dir of [join(scratch, 'does-not-exist'), file]) {
      const config = configFor(dir);
      for (const command of ['iso', 'plan', 'reconcile']) {
        const r = await gtr([command, '--config', config]);
        assert.equal(r.code, 3, `${command}: ${r.stderr}`);
        assert.ok(r.stderr.includes(dir), `${command} names ${dir}`);
        assert.doesNotMatch(r.stderr, NO_STACK);
      }
    }
    assert.equal(sim.attachesStarted().length, 0, 'nothing attached without a catalog');
  });

  it('thousands of files: the highest version wins, and a folder newer than the MN is a catalog mismatch', async () => {
    const dir = join(scratch, 'many');
    const folder = join(dir, ...GENERAL);
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < 3000; i++) writeFileSync(join(folder, i % 3 === 0 ? `GuestTools_linux-1.${i}.0.iso` : `readme-${i}.txt`), '');
    writeFileSync(join(folder, 'GuestTools_linux-1.3.0.iso'), '');
    const config = configFor(dir);
    const r = await gtr(['iso', '--config', config, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const catalog = JSON.parse(r.stdout) as Catalog;
    assert.equal(catalog.targets.find((t) => t.agentType === 'LinuxOnKvm')?.version, '1.2997.0');
    // The MN offers 1.3.0, the folder says 1.2997.0: a catalog mismatch, not an attach of the wrong ISO.
    const plan = await gtr(['plan', '--config', config, '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    const counts = (JSON.parse(plan.stdout) as { counts: Record<string, number> }).counts;
    assert.equal(counts['skip/catalog-mismatch'], 3, 'the three Linux VMs');
  });

  it('an unreadable subfolder is reported and skipped', { skip: asRoot && 'running as root: chmod 000 does not stop root from reading a folder' }, async () => {
    const dir = join(scratch, 'locked');
    touch(dir, GENERAL, 'GuestTools_linux-1.3.0.iso');
    const secret = join(dir, 'x86_64', 'secret');
    mkdirSync(secret);
    chmodSync(secret, 0o000);
    try {
      const r = await gtr(['iso', '--config', configFor(dir), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const catalog = JSON.parse(r.stdout) as Catalog;
      assert.ok(catalog.problems.some((p) => p.path.includes('secret')));
    } finally {
      chmodSync(secret, 0o755);
    }
  });

  it('an unreadable isoDir itself: exit 3', { skip: asRoot && 'running as root: chmod 000 does not stop root from reading a folder' }, async () => {
    const dir = join(scratch, 'closed');
    mkdirSync(dir);
    chmodSync(dir, 0o000);
    try {
      const r = await gtr(['iso', '--config', configFor(dir)]);
      assert.equal(r.code, 3, r.stderr);
      assert.ok(r.stderr.includes(dir));
    } finally {
      chmodSync(dir, 0o755);
    }
  });
});
