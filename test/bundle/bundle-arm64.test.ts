// The offline bundle for aarch64: built on this x86_64 machine (zig cross-compiles the native module),
// its ELF files checked against the glibc floor, and, where Debian's qemu-user and the arm64 C runtime
// (libc6-arm64-cross, libstdc++6-arm64-cross) are installed, the bundled node run under qemu-aarch64:
// `node -e` opening a real SQLite file through the bundled better-sqlite3, and `gtr --version`.
// Not exercised here: install.sh on an arm64 system and a reconcile under emulation (too slow for CI).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFor, definesOwnErrno, FLOOR, symbolReport, unpack, VERSION } from './bundle-helpers.js';

const SYSROOT = '/usr/aarch64-linux-gnu';
const qemu = ['/usr/bin/qemu-aarch64', '/usr/bin/qemu-aarch64-static'].find((f) => existsSync(f));
const noQemu = !qemu ? 'qemu-aarch64 not installed (apt-get install qemu-user)'
  : !existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1')) ? 'arm64 C runtime not installed (apt-get install libc6-arm64-cross libstdc++6-arm64-cross)'
    : false;

function underQemu(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(qemu!, ['-L', SYSROOT, ...args], { cwd, encoding: 'utf8', timeout: 15 * 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('offline bundle, arm64', () => {
  let dir: string;
  let bundle: string;
  before(() => {
    ({ dir, bundle } = unpack(bundleFor('arm64'), 'arm64'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('no ELF file needs more than GLIBC_2.28 / GLIBCXX_3.4.25, and they are aarch64', (t) => {
    const { elves, tooNew, highest } = symbolReport(bundle);
    t.diagnostic(`ELF files: ${elves.join(', ')}; highest needed: ${JSON.stringify(highest)}`);
    const module = 'app/node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    assert.ok(elves.includes('node/bin/node') && elves.includes(module), elves.join(', '));
    assert.deepEqual(tooNew, [], `above the floor ${JSON.stringify(FLOOR)}`);
    assert.equal(definesOwnErrno(join(bundle, module)), false, 'the native module sets the real errno');
  });

  it('the bundled node opens a SQLite file through the bundled module, and gtr --version answers, under qemu-aarch64', { skip: noQemu }, async () => {
    const script = `const D = require(${JSON.stringify(join(bundle, 'app/node_modules/better-sqlite3'))});
      const db = new D(${JSON.stringify(join(dir, 'arm64.db'))});
      db.pragma('journal_mode = WAL'); db.exec('CREATE TABLE t (x)'); db.prepare('INSERT INTO t VALUES (?)').run(process.arch);
      console.log(JSON.stringify(db.prepare('SELECT x FROM t').get()));`;
    const node = await underQemu([join(bundle, 'node/bin/node'), '-e', script], dir);
    assert.equal(node.code, 0, node.stderr);
    assert.deepEqual(JSON.parse(node.stdout), { x: 'arm64' });
    const version = await underQemu([join(bundle, 'node/bin/node'), join(bundle, 'app/bin/gtr.js'), '--version'], dir);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
  });
});
