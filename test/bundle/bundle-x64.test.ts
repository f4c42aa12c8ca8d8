// The offline bundle for x86_64, end to end: build it (`npm run bundle -- --arch x64`, several minutes:
// run by `npm run test:bundle`, not `npm test`), check every ELF file's symbol versions against Node 20's
// glibc floor, install it twice into a temp root (`install.sh --root DIR --no-systemctl`), run the installed
// gtr with a PATH that has no node against the simulator, then uninstall. Only systemctl is left out
// (no systemd here): the unit file is installed and checked, not started.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, writeIsoDir, type Simulator } from '../../src/sim/index.js';
import { DEFAULT_ISOS } from '../helpers/cli.js';
import { outdatedFleet } from '../helpers/fault.js';
import { bundleFor, definesOwnErrno, FLOOR, symbolReport, unpack, VERSION } from './bundle-helpers.js';

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
  /** A PATH with the few tools the launcher uses and no node at all. */
  let noNodePath: string;

  before(async () => {
    ({ dir, bundle } = unpack(bundleFor('x64'), 'x64'));
    chmodSync(dir, 0o755); // the gtr user (uid from the temp root's passwd) must reach the state folder
    root = join(dir, 'root');
    noNodePath = join(dir, 'path');
    mkdirSync(noNodePath);
    for (const tool of ['readlink', 'dirname']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(noNodePath, tool));
    sim = await startSimulator({ fleet: outdatedFleet(6, 2) });
  });
  after(async () => {
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('no ELF file needs more than GLIBC_2.28 / GLIBCXX_3.4.25', (t) => {
    const { elves, tooNew, highest } = symbolReport(bundle);
    t.diagnostic(`ELF files: ${elves.join(', ')}; highest needed: ${JSON.stringify(highest)}`);
    assert.ok(elves.includes('node/bin/node'), elves.join(', '));
    assert.ok(elves.includes('app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'), elves.join(', '));
    assert.deepEqual(tooNew, [], `above the floor ${JSON.stringify(FLOOR)}`);
    assert.equal(definesOwnErrno(join(bundle, 'app/node_modules/better-sqlite3/build/Release/better_sqlite3.node')), false,
      'the native module sets the real errno (no private copy from zig\'s stat shims)');
  });

  it('holds a runtime, the app, licences, the unit, the example config and a SHA-256 manifest that checks', () => {
    for (const file of ['install.sh', 'uninstall.sh', 'bin/gtr', 'node/bin/node', 'LICENSES/node.txt', 'LICENSES/npm-packages.txt',
      'LICENSES/native-module.txt', `app/deploy/${NAME}.service`, 'app/config/example.jsonc', 'SHA256SUMS']) {
      assert.ok(existsSync(join(bundle, file)), file);
    }
    assert.ok(!existsSync(join(bundle, 'app/node_modules/typescript')), 'no dev dependencies');
    assert.match(readFileSync(join(bundle, 'LICENSES/npm-packages.txt'), 'utf8'), /==== better-sqlite3@/);
    const check = spawnSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: bundle, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('install.sh refuses a glibc older than 2.28, saying which systems work and what to do', () => {
    const fake = join(dir, 'old-glibc');
    mkdirSync(fake);
    writeFileSync(join(fake, 'getconf'), '#!/bin/sh\necho "glibc 2.17"\n', { mode: 0o755 });
    const r = sh(join(bundle, 'install.sh'), ['--root', join(dir, 'refused'), '--no-systemctl'], { ...process.env, PATH: `${fake}:${process.env.PATH}` });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /glibc 2\.17.*needs glibc 2\.28/);
    assert.match(r.stderr, /Rocky/);
    assert.match(r.stderr, /zstack\.endpoint/, 'says what to do instead');
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
    assert.notEqual(sh('sh', ['-c', 'command -v node'], env).code, 0, 'no node on this PATH');
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
