// The ISO catalog on real folders: names, architectures from the path, highest version (never the
// newest file), prerelease gating, loops, depth limit, and a usable error for a missing isoDir.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scanCatalog, type Catalog } from '../src/catalog/scan.js';
import { targetForVm } from '../src/catalog/targets.js';
import { GtrError } from '../src/errors.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-catalog-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function touch(rel: string, mtime?: Date): string {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'iso');
  if (mtime) fs.utimesSync(file, mtime, mtime);
  return file;
}

const targetsOf = (catalog: Catalog) => catalog.targets.map((t) => `${t.agentType}/${t.architecture}=${t.version}`);
const GT = 'tools/guesttools';

describe('scanCatalog on the /opt/zstack-dvd layout', () => {
  it('finds Windows ISOs per architecture and Linux ISOs under general, ignoring other files', async () => {
    touch(`x86_64/c79/${GT}/x86_64/KVM/GuestTools-1.2.0.iso`);
    touch(`x86_64/c79/${GT}/x86_64/KVM/GuestTools-1.1.0.iso`);
    touch(`x86_64/c79/${GT}/general/KVM/GuestTools_linux-1.3.0.iso`);
    touch(`aarch64/h84r/${GT}/aarch64/KVM/GuestTools-1.0.5.iso`);
    touch(`x86_64/c79/virtio-win_amd64.vfd`);
    touch(`x86_64/c79/.repo_version`);
    touch(`x86_64/c79/${GT}/x86_64/KVM/GuestTools-1.2.0.iso.md5`);
    touch(`x86_64/c79/${GT}/x86_64/KVM/guesttools-9.9.9.iso`);
    touch(`x86_64/c79/${GT}/x86_64/KVM/GuestTools-9.9.9.ISO`);

    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.equal(catalog.isoDir, root);
    assert.deepEqual(targetsOf(catalog), ['LinuxOnKvm/general=1.3.0', 'WindowsOnKvm/aarch64=1.0.5', 'WindowsOnKvm/x86_64=1.2.0']);
    assert.equal(catalog.targets[2].iso, path.join(root, `x86_64/c79/${GT}/x86_64/KVM/GuestTools-1.2.0.iso`));
    assert.deepEqual(catalog.problems, []);
    assert.deepEqual(
      catalog.files.map((f) => [f.name, f.agentType, f.architecture, f.version, f.status]),
      [
        ['GuestTools-1.0.5.iso', 'WindowsOnKvm', 'aarch64', '1.0.5', 'ok'],
        ['GuestTools_linux-1.3.0.iso', 'LinuxOnKvm', 'general', '1.3.0', 'ok'],
        ['GuestTools-1.1.0.iso', 'WindowsOnKvm', 'x86_64', '1.1.0', 'ok'],
        ['GuestTools-1.2.0.iso', 'WindowsOnKvm', 'x86_64', '1.2.0', 'ok'],
      ],
    );
  });

  it('takes the deepest architecture folder of the path', async () => {
    // The top-level x86_64 is the MN's own arch; the ISO sits under aarch64 deeper down.
    touch(`x86_64/c79/${GT}/aarch64/KVM/GuestTools-2.0.0.iso`);
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.deepEqual(targetsOf(catalog), ['WindowsOnKvm/aarch64=2.0.0']);
  });
});

describe('scanCatalog: choosing the target', () => {
  it('picks the highest version, not the newest file', async () => {
    const dirX = `${GT}/x86_64`;
    touch(`${dirX}/GuestTools-1.10.0.iso`, new Date('2020-01-01T00:00:00Z'));
    touch(`${dirX}/GuestTools-1.9.0.iso`, new Date('2025-06-01T00:00:00Z'));
    touch(`${dirX}/GuestTools-1.2.0.iso`, new Date('2024-01-01T00:00:00Z'));
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.deepEqual(targetsOf(catalog), ['WindowsOnKvm/x86_64=1.10.0']);
  });

  it('compares loose versions segment by segment: 1.2.0.1 > 1.2, 1.2.3.4 > 1.2.3', async () => {
    touch(`general/GuestTools_linux-1.2.iso`);
    touch(`general/GuestTools_linux-1.2.0.1.iso`);
    touch(`x86_64/GuestTools-1.2.3.iso`);
    touch(`x86_64/GuestTools-1.2.3.4.iso`);
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.deepEqual(targetsOf(catalog), ['LinuxOnKvm/general=1.2.0.1', 'WindowsOnKvm/x86_64=1.2.3.4']);
  });

  it('on equal versions keeps the first path in sorted order', async () => {
    touch(`x86_64/b/GuestTools-1.2.iso`);
    touch(`x86_64/a/GuestTools-1.2.0.iso`);
    touch(`x86_64/c/GuestTools-1.2.0.iso`);
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.equal(catalog.targets.length, 1);
    assert.equal(catalog.targets[0].iso, path.join(root, 'x86_64/a/GuestTools-1.2.0.iso'));
  });

  it('ignores prereleases unless allowed', async () => {
    touch(`general/GuestTools_linux-1.2.0.iso`);
    touch(`general/GuestTools_linux-1.3.0-rc1.iso`);
    const strict = await scanCatalog(root, { allowPrerelease: false });
    assert.deepEqual(targetsOf(strict), ['LinuxOnKvm/general=1.2.0']);
    const rc = strict.files.find((f) => f.name.includes('rc1'));
    assert.equal(rc?.status, 'prerelease-ignored');
    assert.equal(rc?.version, '1.3.0-rc1');
    assert.deepEqual(strict.problems, []);

    const allowed = await scanCatalog(root, { allowPrerelease: true });
    assert.deepEqual(targetsOf(allowed), ['LinuxOnKvm/general=1.3.0-rc1']);

    touch(`general/GuestTools_linux-1.3.0.iso`);
    const released = await scanCatalog(root, { allowPrerelease: true });
    assert.deepEqual(targetsOf(released), ['LinuxOnKvm/general=1.3.0'], 'a release beats its prerelease');
  });
});

describe('targetForVm', () => {
  it('takes the highest of the architecture and general targets; the own architecture wins a tie', async () => {
    touch(`general/GuestTools_linux-1.3.0.iso`);
    touch(`x86_64/GuestTools_linux-1.2.0.iso`);
    touch(`aarch64/GuestTools_linux-1.4.0.iso`);
    touch(`x86_64/GuestTools-2.0.0.iso`);
    touch(`general/GuestTools-2.0.iso`);
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.equal(targetForVm(catalog.targets, 'LinuxOnKvm', 'x86_64')?.version, '1.3.0');
    assert.equal(targetForVm(catalog.targets, 'LinuxOnKvm', 'x86_64')?.architecture, 'general');
    assert.equal(targetForVm(catalog.targets, 'LinuxOnKvm', 'aarch64')?.version, '1.4.0');
    assert.equal(targetForVm(catalog.targets, 'LinuxOnKvm', 'ppc64le')?.architecture, 'general');
    // 2.0.0 (x86_64) equals 2.0 (general): the x86_64 ISO is chosen.
    assert.equal(targetForVm(catalog.targets, 'WindowsOnKvm', 'x86_64')?.iso, path.join(root, 'x86_64/GuestTools-2.0.0.iso'));
    assert.equal(targetForVm(catalog.targets, 'WindowsOnKvm', 'mips64el')?.architecture, 'general');
  });

  it('returns null when nothing serves the VM', async () => {
    touch(`x86_64/GuestTools-2.0.0.iso`);
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.equal(targetForVm(catalog.targets, 'WindowsOnKvm', 'aarch64'), null);
    assert.equal(targetForVm(catalog.targets, 'LinuxOnKvm', 'x86_64'), null);
  });
});

describe('scanCatalog: problems', () => {
  it('reports unparseable versions and ISOs without an architecture, and ignores them', async () => {
    touch(`x86_64/GuestTools-latest.iso`);
    touch(`x86_64/GuestTools-.iso`);
    touch(`x86_64/GuestTools-1.0 final.iso`);
    touch(`tools/GuestTools-3.0.0.iso`);
    touch(`x86_64/GuestTools-1.0.0.iso`);
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.deepEqual(targetsOf(catalog), ['WindowsOnKvm/x86_64=1.0.0']);
    const status = Object.fromEntries(catalog.files.map((f) => [f.name, f.status]));
    assert.deepEqual(status, {
      'GuestTools-3.0.0.iso': 'no-architecture',
      'GuestTools-.iso': 'unparseable-version',
      'GuestTools-1.0 final.iso': 'unparseable-version',
      'GuestTools-1.0.0.iso': 'ok',
      'GuestTools-latest.iso': 'unparseable-version',
    });
    assert.deepEqual(
      catalog.problems.map((p) => path.relative(root, p.path)),
      ['tools/GuestTools-3.0.0.iso', 'x86_64/GuestTools-.iso', 'x86_64/GuestTools-1.0 final.iso', 'x86_64/GuestTools-latest.iso'],
    );
    assert.match(catalog.problems[3].problem, /unparseable version "latest"/);
    assert.match(catalog.problems[0].problem, /no architecture folder/);
  });

  it('handles spaces and unicode in folder names', async () => {
    touch(`Gäste Tools/x86_64/新しい/GuestTools-1.5.0.iso`);
    const catalog = await scanCatalog(path.join(root, 'Gäste Tools'), { allowPrerelease: false });
    assert.deepEqual(targetsOf(catalog), ['WindowsOnKvm/x86_64=1.5.0']);
    assert.equal(catalog.targets[0].iso, path.join(root, 'Gäste Tools/x86_64/新しい/GuestTools-1.5.0.iso'));
  });

  it('follows symlinked folders, takes the architecture from the link path, and stops at loops', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-catalog-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'GuestTools-4.0.0.iso'), 'iso');
      fs.mkdirSync(path.join(root, 'dvd'), { recursive: true });
      fs.symlinkSync(outside, path.join(root, 'dvd', 'aarch64'));
      touch(`dvd/x86_64/GuestTools-1.0.0.iso`);
      fs.symlinkSync('..', path.join(root, 'dvd', 'x86_64', 'loop'));
      fs.symlinkSync(path.join(root, 'missing.iso'), path.join(root, 'dvd', 'x86_64', 'GuestTools-9.0.0.iso'));

      const catalog = await scanCatalog(path.join(root, 'dvd'), { allowPrerelease: false });
      assert.deepEqual(targetsOf(catalog), ['WindowsOnKvm/aarch64=4.0.0', 'WindowsOnKvm/x86_64=1.0.0']);
      assert.equal(catalog.files.length, 2, 'no file is seen twice through the loop');
      const problems = catalog.problems.map((p) => [path.relative(root, p.path), p.problem.split(' ').slice(0, 3).join(' ')]);
      assert.deepEqual(problems, [
        ['dvd/x86_64/GuestTools-9.0.0.iso', 'broken symbolic link'],
        ['dvd/x86_64/loop', 'symbolic link loop'],
      ]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  // Skipped through the option, not t.skip(): Node 20 does not run afterEach after t.skip().
  const asRoot = process.getuid?.() === 0;
  it('reports an unreadable subfolder and goes on', { skip: asRoot && 'running as root: chmod 000 does not stop root from reading a folder' }, async () => {
    touch(`x86_64/GuestTools-1.0.0.iso`);
    touch(`locked/x86_64/GuestTools-9.0.0.iso`);
    fs.chmodSync(path.join(root, 'locked'), 0o000);
    try {
      const catalog = await scanCatalog(root, { allowPrerelease: false });
      assert.deepEqual(targetsOf(catalog), ['WindowsOnKvm/x86_64=1.0.0']);
      assert.equal(catalog.problems.length, 1);
      assert.equal(catalog.problems[0].path, path.join(root, 'locked'));
      assert.match(catalog.problems[0].problem, /cannot read folder \(EACCES\)/);
    } finally {
      fs.chmodSync(path.join(root, 'locked'), 0o755);
    }
  });

  it('scans at most 8 folders deep and reports what it did not enter', async () => {
    const eight = 'general/2/3/4/5/6/7/8';
    touch(`${eight}/GuestTools_linux-1.0.0.iso`);
    touch(`${eight}/9/GuestTools_linux-2.0.0.iso`);
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.deepEqual(targetsOf(catalog), ['LinuxOnKvm/general=1.0.0']);
    assert.deepEqual(catalog.problems.map((p) => path.relative(root, p.path)), [`${eight}/9`]);
    assert.match(catalog.problems[0].problem, /too deep/);

    const shallow = await scanCatalog(root, { allowPrerelease: false, maxDepth: 2 });
    assert.deepEqual(shallow.targets, []);
    assert.deepEqual(shallow.problems.map((p) => path.relative(root, p.path)), ['general/2/3']);
  });

  it('is deterministic over thousands of files', async () => {
    const folder = path.join(root, 'x86_64');
    fs.mkdirSync(folder);
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(folder, `GuestTools-1.0.${i}.iso`), '');
    for (let i = 0; i < 500; i++) fs.writeFileSync(path.join(folder, `other-${i}.txt`), '');
    const first = await scanCatalog(root, { allowPrerelease: false });
    const second = await scanCatalog(root, { allowPrerelease: false });
    assert.equal(first.files.length, 3000);
    assert.deepEqual(targetsOf(first), ['WindowsOnKvm/x86_64=1.0.2999']);
    assert.deepEqual(first, second);
    const paths = first.files.map((f) => f.path);
    assert.deepEqual(paths, [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });
});

describe('scanCatalog: unusable isoDir', () => {
  it('throws GTR_CATALOG_UNUSABLE naming the folder and the fix when it is missing', async () => {
    const missing = path.join(root, 'no-such-dvd');
    await assert.rejects(scanCatalog(missing, { allowPrerelease: false }), (error: unknown) => {
      assert.ok(error instanceof GtrError);
      assert.equal(error.code, 'GTR_CATALOG_UNUSABLE');
      assert.equal(error.exitCode, 3);
      assert.ok(error.message.includes(missing));
      assert.match(error.message, /does not exist.*isoDir/);
      return true;
    });
  });

  it('throws GTR_CATALOG_UNUSABLE when isoDir is a file', async () => {
    const file = touch('GuestTools-1.0.0.iso');
    await assert.rejects(scanCatalog(file, { allowPrerelease: false }), (error: unknown) => {
      assert.ok(error instanceof GtrError);
      assert.equal(error.code, 'GTR_CATALOG_UNUSABLE');
      assert.match(error.message, /is not a folder/);
      return true;
    });
  });

  it('gives an empty catalog for an empty folder', async () => {
    const catalog = await scanCatalog(root, { allowPrerelease: false });
    assert.deepEqual(catalog, { isoDir: root, files: [], problems: [], targets: [] });
  });
});
