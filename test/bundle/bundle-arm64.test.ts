// The offline bundle for aarch64: built on this x86_64 machine (zig cross-compiles the native module, the
// C runtime comes from Debian's arm64 cross packages), checked to be self-contained and aarch64, and, where
// Debian's qemu-user-static is installed, run under qemu-aarch64-static inside a chroot that holds only
// busybox-static, the emulator and the bundle: the bundle's own loader starts node (as bin/gtr does) for
// `gtr --version`, `gtr iso`, `gtr migrate` and a reconcile against the simulator on loopback.
// Not exercised here: bin/gtr itself on aarch64 (no binfmt_misc in this machine's container, so a shell
// cannot exec an aarch64 file; the script is the x64 one with the loader's name, checked below), and
// install.sh or the RPM on an arm64 system.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startSimulator, writeIsoDir } from '../../src/sim/index.js';
import { DEFAULT_ISOS } from '../helpers/cli.js';
import { outdatedFleet } from '../helpers/fault.js';
import { bundleFor, busyboxRoot, CHROOT, definesOwnErrno, FLOOR, inCi, noBusybox, run, selfContainedReport, symbolReport, unpack, VERSION } from './bundle-helpers.js';

const QEMU = '/usr/bin/qemu-aarch64-static';
const noQemu = existsSync(QEMU) ? noBusybox : inCi('qemu-aarch64-static not installed (apt-get install qemu-user-static)');
const LOADER = 'ld-linux-aarch64.so.1';
const MODULE = 'app/node_modules/better-sqlite3/build/Release/better_sqlite3.node';

describe('offline bundle, arm64', () => {
  let dir: string;
  let bundle: string;
  before(() => {
    ({ dir, bundle } = unpack(bundleFor('arm64'), 'arm64'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is self-contained and aarch64: every library and symbol version its ELF files need is in runtime/lib', (t) => {
    const { elves, fromHost, highest, runtime } = selfContainedReport(bundle);
    t.diagnostic(`runtime/lib: ${runtime.join(', ')}; highest versions needed (all from runtime/lib): ${JSON.stringify(highest)}; from the host: ${fromHost.length === 0 ? 'none' : fromHost.join('; ')}`);
    assert.ok(runtime.includes(LOADER) && runtime.includes('libc.so.6') && runtime.includes('libstdc++.so.6'), runtime.join(', '));
    assert.deepEqual(fromHost, []);
    for (const elf of elves) {
      assert.match(execFileSync('readelf', ['-h', join(bundle, elf)], { encoding: 'utf8' }), /Machine:\s+AArch64/, elf);
    }
    const node = symbolReport(bundle);
    assert.deepEqual(node.tooNew, [], `node and the module above the floor ${JSON.stringify(FLOOR)}`);
    assert.equal(definesOwnErrno(join(bundle, MODULE)), false, 'the native module sets the real errno');
    assert.match(readFileSync(join(bundle, 'bin/gtr'), 'utf8'), new RegExp(`^loader=${LOADER.replace(/\./g, '\\.')}$`, 'm'), 'the launcher starts the aarch64 loader');
    assert.match(readFileSync(join(bundle, 'LICENSES/c-runtime.txt'), 'utf8'), /runtime\/lib\/libc\.so\.6 {2}<- {2}libc6-arm64-cross 2\.36-/);
  });

  it('runs under qemu-aarch64-static in a chroot holding only busybox-static: --version, iso, migrate, a reconcile against the simulator', { skip: noQemu }, async (t) => {
    const root = busyboxRoot(join(dir, 'root'));
    const opt = `/opt/guesttools-reconciler/${VERSION}`;
    mkdirSync(join(root, 'opt/guesttools-reconciler'), { recursive: true });
    execFileSync('cp', ['-a', bundle, join(root, opt)]);
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    copyFileSync(QEMU, join(root, 'usr/bin/qemu-aarch64-static'));
    chmodSync(join(root, 'usr/bin/qemu-aarch64-static'), 0o755);
    await writeIsoDir(join(root, 'opt/zstack-dvd'), DEFAULT_ISOS);
    const sim = await startSimulator({ fleet: outdatedFleet(3, 1) });
    t.after(() => sim.close());
    mkdirSync(join(root, 'var/lib/gtr'), { recursive: true });
    writeFileSync(join(root, 'etc/config.json'), JSON.stringify({
      zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: 5 },
      isoDir: '/opt/zstack-dvd', database: '/var/lib/gtr/state.db', log: { level: 'warn' },
    }), { mode: 0o600 });
    // What bin/gtr execs, with the emulator in front (the kernel would put it there through binfmt_misc).
    const gtr = (...args: string[]) => run(CHROOT, [root, '/usr/bin/qemu-aarch64-static', `${opt}/runtime/lib/${LOADER}`, '--inhibit-cache',
      '--library-path', `${opt}/runtime/lib`, `${opt}/node/bin/node`, `${opt}/app/bin/gtr.js`, ...args], { PATH: '/bin' });
    const started = Date.now();
    const version = await gtr('--version');
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const iso = await gtr('iso', '--json', '--config', '/etc/config.json');
    assert.equal(iso.code, 0, iso.stderr);
    const migrate = await gtr('migrate', '--config', '/etc/config.json');
    assert.equal(migrate.code, 0, migrate.stderr);
    const reconcile = await gtr('reconcile', '--json', '--config', '/etc/config.json');
    assert.equal(reconcile.code, 0, reconcile.stderr);
    const result = JSON.parse(reconcile.stdout) as { status: string; counts: { succeeded: number } };
    assert.deepEqual([result.status, result.counts.succeeded], ['succeeded', 3]);
    t.diagnostic(`under emulation: --version, iso, migrate and a reconcile of 3 VMs in ${Date.now() - started} ms`);
  });
});
