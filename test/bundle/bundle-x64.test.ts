// The offline bundle and the RPM for x86_64, end to end: build them (`npm run bundle -- --arch x64 --rpm`,
// a few minutes: run by `npm run test:bundle`, not `npm test`); check that the bundle is self-contained
// (every library and symbol version its ELF files need is in runtime/lib); install it twice into a temp
// root (`install.sh --root DIR --no-systemctl`) and run the installed gtr with an empty PATH against the
// simulator; then the same inside `chroot` into a root that holds only busybox-static (no C library at
// all: the proof that the host's glibc is never used, as on CentOS 7 with glibc 2.17); the RPM read with
// rpm -qpi/-qpl, installed (`rpm --root DIR -i --nodeps`), run, upgraded and erased in such a root; then
// uninstall. Only systemctl is left out (no systemd here): the unit file is installed and checked, not started.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, writeIsoDir, type Simulator } from '../../src/sim/index.js';
import { DEFAULT_ISOS } from '../helpers/cli.js';
import { outdatedFleet } from '../helpers/fault.js';
import { bundleFor, busyboxRoot, CHROOT, definesOwnErrno, FLOOR, noBusybox, rpmPath, run, selfContainedReport, symbolReport, unpack, VERSION } from './bundle-helpers.js';

const NAME = 'guesttools-reconciler';
const asRoot = process.getuid?.() === 0;

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like sh, but leaves the event loop free: the simulator runs in this process. */
function shAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('offline bundle, x64', { skip: !asRoot && 'install.sh needs root (CI runs as root)' }, () => {
  let dir: string;
  let bundle: string;
  let root: string;
  let sim: Simulator;
  let installMs = 0;
  /** An empty PATH: the launcher uses shell built-ins only, and there is no node on it. */
  let noNodePath: string;

  before(async () => {
    ({ dir, bundle } = unpack(bundleFor('x64', { rpm: true }), 'x64'));
    chmodSync(dir, 0o755); // the gtr user (uid from the temp root's passwd) must reach the state folder
    root = join(dir, 'root');
    noNodePath = join(dir, 'path');
    mkdirSync(noNodePath);
    sim = await startSimulator({ fleet: outdatedFleet(6, 2) });
  });
  after(async () => {
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is self-contained: every library and symbol version its ELF files need is in runtime/lib, nothing from the host', (t) => {
    const { elves, fromHost, highest, runtime } = selfContainedReport(bundle);
    t.diagnostic(`runtime/lib: ${runtime.join(', ')}; highest versions needed (all from runtime/lib): ${JSON.stringify(highest)}; from the host: ${fromHost.length === 0 ? 'none' : fromHost.join('; ')}`);
    assert.ok(runtime.includes('ld-linux-x86-64.so.2') && runtime.includes('libc.so.6') && runtime.includes('libstdc++.so.6'), runtime.join(', '));
    assert.ok(elves.includes('node/bin/node') && elves.includes('runtime/lib/libc.so.6'), elves.join(', '));
    assert.deepEqual(fromHost, []);
  });

  it('node and the native module alone need no more than GLIBC_2.28 / GLIBCXX_3.4.25', (t) => {
    const { elves, tooNew, highest } = symbolReport(bundle);
    t.diagnostic(`ELF files: ${elves.join(', ')}; highest needed: ${JSON.stringify(highest)}`);
    assert.ok(elves.includes('node/bin/node'), elves.join(', '));
    assert.ok(elves.includes('app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'), elves.join(', '));
    assert.deepEqual(tooNew, [], `above the floor ${JSON.stringify(FLOOR)}`);
    assert.equal(definesOwnErrno(join(bundle, 'app/node_modules/better-sqlite3/build/Release/better_sqlite3.node')), false,
      'the native module sets the real errno (no private copy from zig\'s stat shims)');
  });

  it('holds a runtime, the app, licences, the unit, the example config and a SHA-256 manifest that checks', () => {
    for (const file of ['install.sh', 'uninstall.sh', 'bin/gtr', 'node/bin/node', 'runtime/lib/ld-linux-x86-64.so.2', 'LICENSES/node.txt',
      'LICENSES/npm-packages.txt', 'LICENSES/native-module.txt', 'LICENSES/c-runtime.txt', `app/deploy/${NAME}.service`, 'app/config/example.jsonc', 'SHA256SUMS']) {
      assert.ok(existsSync(join(bundle, file)), file);
    }
    const notices = readFileSync(join(bundle, 'LICENSES/c-runtime.txt'), 'utf8');
    assert.match(notices, /runtime\/lib\/libc\.so\.6 {2}<- {2}libc6:amd64 2\.36-/, 'each file names its Debian package');
    assert.match(notices, /source package glibc, version 2\.36-/, 'and where its source is');
    assert.match(notices, /GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1/, 'with the LGPL text');
    assert.match(notices, /GCC RUNTIME LIBRARY EXCEPTION/);
    const unit = readFileSync(join(bundle, `app/deploy/${NAME}.service`), 'utf8');
    assert.match(unit, /^ReadOnlyPaths=-\/opt\/zstack-dvd /m, 'a host without /opt/zstack-dvd still starts the unit');
    assert.match(unit, /^ExecReload=.*gtr daemon --check-config/m, 'reload checks the config first');
    assert.ok(!existsSync(join(bundle, 'app/node_modules/typescript')), 'no dev dependencies');
    assert.match(readFileSync(join(bundle, 'LICENSES/npm-packages.txt'), 'utf8'), /==== better-sqlite3@/);
    const check = spawnSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: bundle, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('install.sh does not look at the glibc (CentOS 7 is fine) but refuses a kernel older than 3.10', () => {
    const fake = join(dir, 'old-kernel');
    mkdirSync(fake);
    writeFileSync(join(fake, 'getconf'), '#!/bin/sh\necho "glibc 2.17"\n', { mode: 0o755 });
    writeFileSync(join(fake, 'uname'), '#!/bin/sh\ncase "$1" in -r) echo 2.6.32-754.el6.x86_64 ;; *) exec /bin/uname "$@" ;; esac\n', { mode: 0o755 });
    const r = sh(join(bundle, 'install.sh'), ['--root', join(dir, 'refused'), '--no-systemctl'], { ...process.env, PATH: `${fake}:${process.env.PATH}` });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Linux 2\.6\.32-754\.el6\.x86_64; guesttools-reconciler needs Linux 3\.10 or newer/);
    assert.doesNotMatch(r.stderr, /glibc/);
    assert.ok(!existsSync(join(dir, 'refused', 'opt')), 'installed nothing');
  });

  it('installs, twice, the same result: user, version folder + current, /usr/bin/gtr, config kept, state owned by gtr', () => {
    const installStarted = Date.now();
    const first = sh(join(bundle, 'install.sh'), ['--root', root, '--no-systemctl']);
    installMs = Date.now() - installStarted;
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('gtr:'));
    assert.ok(passwd, 'the gtr user exists');
    const [uid, gid] = passwd.split(':').slice(2, 4).map(Number);
    const config = join(root, 'etc', NAME, 'config.json');
    writeFileSync(config, readFileSync(config, 'utf8').replace('"endpoint"', '"endpoint" ').concat('\n'));
    const edited = readFileSync(config, 'utf8');

    const second = sh(join(bundle, 'install.sh'), ['--root', root, '--no-systemctl']);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    assert.match(second.stdout, /already installed/);
    assert.equal(readFileSync(config, 'utf8'), edited, 'the config is never overwritten');
    assert.equal(readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').filter((l) => l.startsWith('gtr:')).length, 1);

    assert.equal(readlinkSync(join(root, 'opt', NAME, 'current')), VERSION);
    assert.equal(realpathSync(join(root, 'usr/bin/gtr')), join(root, 'opt', NAME, VERSION, 'bin', 'gtr'));
    const cfg = statSync(config);
    assert.deepEqual([cfg.mode & 0o777, cfg.uid, cfg.gid], [0o640, 0, gid], 'config root:gtr 0640');
    const state = statSync(join(root, 'var/lib', NAME));
    assert.deepEqual([state.mode & 0o777, state.uid, state.gid], [0o750, uid, gid], 'state gtr:gtr 0750');
    assert.ok(lstatSync(join(root, 'etc/systemd/system', `${NAME}.service`)).isFile());
  });

  it('the installed gtr runs with no other node on PATH: --version, doctor, iso, migrate and a reconcile against the simulator', async (t) => {
    const started = Date.now();
    const work = join(dir, 'work');
    mkdirSync(work, { mode: 0o755 });
    const isoDir = join(work, 'zstack-dvd');
    await writeIsoDir(isoDir, DEFAULT_ISOS);
    const configFile = join(work, 'config.json');
    writeFileSync(configFile, JSON.stringify({
      zstack: { endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password, jobPollIntervalMs: 5 },
      isoDir,
      database: join(root, 'var/lib', NAME, 'state.db'),
      log: { level: 'warn' },
    }), { mode: 0o600 });
    const env = { PATH: noNodePath, HOME: work };
    assert.notEqual(sh('/bin/sh', ['-c', 'command -v node || command -v readlink || command -v dirname'], env).code, 0, 'no node, readlink or dirname on this PATH');
    const gtr = (...args: string[]) => shAsync(join(root, 'usr/bin/gtr'), [...args, ...(args[0] === '--version' ? [] : ['--config', configFile])], env);

    const version = await gtr('--version');
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const doctor = await gtr('doctor', '--json');
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    assert.ok(report.ok && report.checks.some((c) => c.name === 'login' && c.status === 'pass'), doctor.stdout);
    const iso = await gtr('iso', '--json');
    assert.equal(iso.code, 0, iso.stderr);
    assert.ok((JSON.parse(iso.stdout) as { targets: unknown[] }).targets.length > 0);
    const migrate = await gtr('migrate');
    assert.equal(migrate.code, 0, migrate.stderr);
    const reconcile = await gtr('reconcile', '--json');
    assert.equal(reconcile.code, 0, reconcile.stderr);
    const result = JSON.parse(reconcile.stdout) as { status: string; counts: { succeeded: number } };
    assert.deepEqual([result.status, result.counts.succeeded], ['succeeded', 6]);
    t.diagnostic(`install-to-first-run: install.sh ${installMs} ms + --version, doctor, iso, migrate and a reconcile of 6 VMs ${Date.now() - started} ms`);
    // Run as root (as here), gtr acted as the gtr user of the install: the database belongs to it.
    const gtrUid = Number(readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('gtr:'))!.split(':')[2]);
    assert.equal(statSync(join(root, 'var/lib', NAME, 'state.db')).uid, gtrUid);
  });

  /** Writes the test's config, an ISO folder and the simulator's address into an installed root, as seen from inside it. */
  async function configureRoot(r: string, s: Simulator): Promise<void> {
    await writeIsoDir(join(r, 'opt/zstack-dvd'), DEFAULT_ISOS);
    const config = join(r, 'etc', NAME, 'config.json');
    writeFileSync(config, JSON.stringify({
      zstack: { endpoint: s.endpoint, accountName: s.accountName, password: s.password, jobPollIntervalMs: 5 },
      isoDir: '/opt/zstack-dvd',
      database: `/var/lib/${NAME}/state.db`,
      log: { level: 'warn' },
    }));
    const gid = Number(readFileSync(join(r, 'etc/group'), 'utf8').split('\n').find((l) => l.startsWith('gtr:'))!.split(':')[2]);
    chownSync(config, 0, gid);
    chmodSync(config, 0o640);
  }

  /** gtr inside the root, by chroot: the root holds busybox and the bundle, nothing else. */
  const inRoot = (r: string, ...args: string[]) => run(CHROOT, [r, '/usr/bin/gtr', ...args], { PATH: '/bin' });

  /** --version, iso, migrate and a reconcile, inside the root; returns the reconcile's report. */
  async function firstRun(r: string): Promise<{ status: string; counts: { succeeded: number } }> {
    const version = await inRoot(r, '--version');
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const iso = await inRoot(r, 'iso', '--json');
    assert.equal(iso.code, 0, iso.stderr);
    assert.ok((JSON.parse(iso.stdout) as { targets: unknown[] }).targets.length > 0, iso.stdout);
    const migrate = await inRoot(r, 'migrate');
    assert.equal(migrate.code, 0, migrate.stderr);
    const reconcile = await inRoot(r, 'reconcile', '--json');
    assert.equal(reconcile.code, 0, reconcile.stderr);
    return JSON.parse(reconcile.stdout) as { status: string; counts: { succeeded: number } };
  }

  it('runs in a chroot holding only busybox-static: --version, iso, migrate and a reconcile against the simulator on loopback', { skip: noBusybox }, async (t) => {
    const chrootDir = busyboxRoot(join(dir, 'chroot'));
    const install = sh(join(bundle, 'install.sh'), ['--root', chrootDir, '--no-systemctl']);
    assert.equal(install.code, 0, install.stderr + install.stdout);
    const fresh = await startSimulator({ fleet: outdatedFleet(4, 2) });
    t.after(() => fresh.close());
    await configureRoot(chrootDir, fresh);
    assert.ok(!existsSync(join(chrootDir, 'lib')) && !existsSync(join(chrootDir, 'lib64')) && !existsSync(join(chrootDir, 'usr/lib')), 'no C library in the root');
    const started = Date.now();
    const result = await firstRun(chrootDir);
    assert.deepEqual([result.status, result.counts.succeeded], ['succeeded', 4], JSON.stringify(result.counts));
    t.diagnostic(`in the chroot: --version, iso, migrate and a reconcile of 4 VMs in ${Date.now() - started} ms`);
    // The launcher, copied into a root without the bundle, says what it could not find (and needs no tool to say it).
    const bare = busyboxRoot(join(dir, 'bare'));
    copyFileSync(join(chrootDir, 'opt', NAME, VERSION, 'bin/gtr'), join(bare, 'tmp/gtr'));
    chmodSync(join(bare, 'tmp/gtr'), 0o755);
    const lost = await run(CHROOT, [bare, '/tmp/gtr', '--version'], { PATH: '/nonexistent' });
    assert.equal(lost.code, 127);
    assert.match(lost.stderr, /cannot find the bundle's runtime\/lib\/ld-linux-x86-64\.so\.2 and node\/bin\/node from \/tmp\/gtr \(looked in: \/tmp\/\.\. /);
  });

  it('the RPM: rpm -qpi/-qpl show the layout; installed with rpm --root into a busybox root it runs; upgrade keeps the config; erase keeps config, database and user', { skip: noBusybox }, async (t) => {
    const rpm = rpmPath('x64');
    const info = sh('rpm', ['-qpi', rpm]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^Name\s+: guesttools-reconciler$/m);
    assert.match(info.stdout, new RegExp(`^Version\\s+: ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(info.stdout, /^Architecture: x86_64$/m);
    const list = sh('rpm', ['-qpl', rpm]).stdout.split('\n');
    for (const path of [`/opt/${NAME}/${VERSION}/bin/gtr`, `/opt/${NAME}/${VERSION}/runtime/lib/ld-linux-x86-64.so.2`, `/opt/${NAME}/${VERSION}/SHA256SUMS`,
      `/opt/${NAME}/current`, '/usr/bin/gtr', `/usr/lib/systemd/system/${NAME}.service`, `/etc/${NAME}/config.json`, `/var/lib/${NAME}`]) {
      assert.ok(list.includes(path), `${path} in rpm -qpl`);
    }
    assert.ok(!list.includes(`/opt/${NAME}/${VERSION}/install.sh`), 'the tarball installers are not in the RPM');
    const configs = sh('rpm', ['-qpc', rpm]).stdout.trim().split('\n');
    assert.deepEqual(configs, [`/etc/${NAME}/config.json`]);
    const requires = sh('rpm', ['-qpR', rpm]).stdout;
    assert.doesNotMatch(requires, /libc\.so|GLIBC|nodejs/, 'nothing from the system: not its glibc, not its nodejs');
    const scripts = sh('rpm', ['-qp', '--scripts', rpm]).stdout;
    assert.match(scripts, /preuninstall scriptlet[^]*systemctl disable --now/);
    assert.match(scripts, /postuninstall scriptlet[^]*systemctl try-restart/);

    const r = busyboxRoot(join(dir, 'rpm-root'));
    const installStarted = Date.now();
    const install = sh('rpm', ['--root', r, '-i', '--nodeps', rpm]);
    const installMs = Date.now() - installStarted;
    assert.equal(install.code, 0, install.stderr + install.stdout);
    const passwd = readFileSync(join(r, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('gtr:'));
    assert.ok(passwd, '%pre created the gtr user');
    const [uid, gid] = passwd.split(':').slice(2, 4).map(Number);
    const cfg = statSync(join(r, 'etc', NAME, 'config.json'));
    assert.deepEqual([cfg.mode & 0o777, cfg.uid, cfg.gid], [0o640, 0, gid], 'config root:gtr 0640');
    const state = statSync(join(r, 'var/lib', NAME));
    assert.deepEqual([state.mode & 0o777, state.uid, state.gid], [0o750, uid, gid], 'state gtr:gtr 0750');
    const manifest = await run(CHROOT, [r, '/bin/sh', '-c', `cd /opt/${NAME}/current && sha256sum -c -s SHA256SUMS`]);
    assert.equal(manifest.code, 0, manifest.stdout + manifest.stderr);
    const fresh = await startSimulator({ fleet: outdatedFleet(4, 2) });
    t.after(() => fresh.close());
    await configureRoot(r, fresh);
    const runStarted = Date.now();
    const result = await firstRun(r);
    assert.deepEqual([result.status, result.counts.succeeded], ['succeeded', 4], JSON.stringify(result.counts));
    t.diagnostic(`RPM ${(statSync(rpm).size / 1024 / 1024).toFixed(1)} MB; install-to-first-run: rpm -i ${installMs} ms + --version, iso, migrate and a reconcile ${Date.now() - runStarted} ms`);

    const edited = readFileSync(join(r, 'etc', NAME, 'config.json'), 'utf8');
    const upgrade = sh('rpm', ['--root', r, '-U', '--replacepkgs', '--nodeps', rpm]);
    assert.equal(upgrade.code, 0, upgrade.stderr + upgrade.stdout);
    assert.equal(readFileSync(join(r, 'etc', NAME, 'config.json'), 'utf8'), edited, '%config(noreplace): the edited config stays');
    assert.equal(readFileSync(join(r, 'etc/passwd'), 'utf8').split('\n').filter((l) => l.startsWith('gtr:')).length, 1, 'one gtr user');

    const erase = sh('rpm', ['--root', r, '-e', NAME]);
    assert.equal(erase.code, 0, erase.stderr + erase.stdout);
    assert.ok(!existsSync(join(r, 'opt', NAME)) && !existsSync(join(r, 'usr/bin/gtr')), 'program removed');
    assert.ok(existsSync(join(r, 'var/lib', NAME, 'state.db')), 'the database stays');
    assert.ok(existsSync(join(r, 'etc', NAME, 'config.json.rpmsave')), 'the edited config is kept as .rpmsave');
    assert.match(readFileSync(join(r, 'etc/passwd'), 'utf8'), /^gtr:/m, 'the user stays');
  });

  it('uninstall.sh keeps config and state; --purge removes them and the user', () => {
    const keep = sh(join(root, 'opt', NAME, 'current', 'uninstall.sh'), ['--root', root, '--no-systemctl']);
    assert.equal(keep.code, 0, keep.stderr);
    assert.ok(!existsSync(join(root, 'opt', NAME)) && !existsSync(join(root, 'usr/bin/gtr')), 'program removed');
    assert.ok(existsSync(join(root, 'etc', NAME, 'config.json')) && existsSync(join(root, 'var/lib', NAME, 'state.db')), 'config and state kept');
    const purge = sh(join(bundle, 'uninstall.sh'), ['--root', root, '--no-systemctl', '--purge']);
    assert.equal(purge.code, 0, purge.stderr);
    assert.ok(!existsSync(join(root, 'etc', NAME)) && !existsSync(join(root, 'var/lib', NAME)));
    assert.doesNotMatch(readFileSync(join(root, 'etc/passwd'), 'utf8'), /^gtr:/m);
  });
});
