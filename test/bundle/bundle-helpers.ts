// Shared by the bundle tests: build (or reuse) a bundle, unpack it, and read the symbol versions every
// ELF file in it needs (readelf reads any architecture's ELF, unlike this machine's objdump).
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';

export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The native module is still built for this glibc floor (pins.json "glibc"), whatever runtime it runs on. */
export const FLOOR = { GLIBC: '2.28', GLIBCXX: '3.4.25', CXXABI: '1.3.11' } as const;
export const LOADER = { x64: 'ld-linux-x86-64.so.2', arm64: 'ld-linux-aarch64.so.1' } as const;

export const rpmPath = (arch: 'x64' | 'arm64') => join(ROOT, 'release', `guesttools-reconciler-${VERSION}-1.${arch === 'x64' ? 'x86_64' : 'aarch64'}.rpm`);

/**
 * Builds release/<name>.tar.gz with `npm run bundle` (and the RPM beside it with `rpm`); GTR_BUNDLE_REUSE=1
 * reuses what is already built (while iterating).
 */
export function bundleFor(arch: 'x64' | 'arm64', opts: { rpm?: boolean } = {}): string {
  const tarball = join(ROOT, 'release', `guesttools-reconciler-${VERSION}-linux-${arch}.tar.gz`);
  if (!(process.env.GTR_BUNDLE_REUSE === '1' && existsSync(tarball) && (!opts.rpm || existsSync(rpmPath(arch))))) {
    execFileSync('npm', ['run', 'bundle', '--silent', '--', '--arch', arch, ...(opts.rpm ? ['--rpm'] : [])],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 40 * 60_000 });
  }
  return tarball;
}

/** Unpacks into a new temp folder; returns the bundle's own folder inside it. */
export function unpack(tarball: string, arch: string): { dir: string; bundle: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gtr-bundle-'));
  execFileSync('tar', ['xzf', tarball, '-C', dir]);
  return { dir, bundle: join(dir, `guesttools-reconciler-${VERSION}-linux-${arch}`) };
}

function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

export function elfFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && isElf(join(e.parentPath, e.name)))
    .map((e) => join(e.parentPath, e.name));
}

/** The symbol versions a file needs (readelf's "Version needs section"), e.g. ["GLIBC_2.17", "GLIBCXX_3.4.21"]. */
export function neededVersions(file: string): string[] {
  const out = execFileSync('readelf', ['-V', '-W', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const needs = out.split(/\n(?=Version )/).filter((section) => section.startsWith("Version needs section"));
  return [...new Set(needs.flatMap((s) => [...s.matchAll(/Name: ((?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+)/g)].map((m) => m[1])))];
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * True when the file defines its own `errno` (a TLS symbol): zig's glibc < 2.33 stat shims bring one, and
 * then a failed stat() sets an errno nobody reads (scripts/bundle/glibc-stat-shim.c replaces them).
 */
export function definesOwnErrno(file: string): boolean {
  const out = execFileSync('readelf', ['-s', '-W', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return /\sTLS\s+\S+\s+\S+\s+\d+\s+(errno|__libc_errno)$/m.test(out);
}

interface ElfDeps {
  needed: string[];
  /** "libc.so.6 GLIBC_2.34": each symbol version needed, with the library that must define it. */
  versions: { file: string; name: string }[];
  /** The versions this file defines (a library's version definitions). */
  defines: string[];
}

function elfDeps(file: string): ElfDeps {
  const dynamic = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const out = execFileSync('readelf', ['-V', '-W', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const versions: { file: string; name: string }[] = [];
  const defines: string[] = [];
  for (const section of out.split(/\n(?=Version )/)) {
    if (section.startsWith('Version needs section')) {
      let lib = '';
      for (const line of section.split('\n')) {
        const f = /File: (\S+)/.exec(line);
        if (f) lib = f[1]!;
        const n = /^\s+0x[0-9a-f]+:\s+Name: (\S+)/.exec(line);
        if (n && lib) versions.push({ file: lib, name: n[1]! });
      }
    } else if (section.startsWith('Version definition section')) {
      for (const m of section.matchAll(/Name: (\S+)/g)) defines.push(m[1]!);
    }
  }
  return { needed, versions, defines };
}

/**
 * Is the bundle self-contained? Every library an ELF file in it needs (DT_NEEDED) must be in runtime/lib,
 * and every symbol version it needs must be defined by that shipped library: then nothing, and no
 * version of anything, is asked of the host. `fromHost` lists what would be; `highest` is the highest
 * version of each family the bundle's files need (from runtime/lib).
 */
export function selfContainedReport(bundle: string): { elves: string[]; fromHost: string[]; highest: Record<string, string>; runtime: string[] } {
  const lib = join(bundle, 'runtime', 'lib');
  const runtime = readdirSync(lib).sort();
  const deps = new Map(elfFiles(bundle).map((f) => [f, elfDeps(f)]));
  const definedBy = new Map(runtime.map((name) => [name, new Set(deps.get(join(lib, name))?.defines ?? [])]));
  const fromHost: string[] = [];
  const highest: Record<string, string> = {};
  for (const [file, d] of deps) {
    const who = relative(bundle, file);
    for (const name of d.needed) if (!definedBy.has(name)) fromHost.push(`${who} needs ${name}, not in runtime/lib`);
    for (const v of d.versions) {
      if (!definedBy.get(v.file)?.has(v.name)) fromHost.push(`${who} needs ${v.name} from ${v.file}, not defined by runtime/lib/${v.file}`);
      const m = /^([A-Z]+)_([0-9.]+)$/.exec(v.name);
      if (m && (!highest[m[1]!] || compareVersions(m[2]!, highest[m[1]!]!) > 0)) highest[m[1]!] = m[2]!;
    }
  }
  return { elves: [...deps.keys()].map((f) => relative(bundle, f)), fromHost, highest, runtime };
}

/** For node and the native module: what they need above the floor (pins.json "glibc"); plus the highest version of each family found. */
export function symbolReport(bundle: string): { elves: string[]; tooNew: string[]; highest: Record<string, string> } {
  // node and the native module only: runtime/lib is glibc 2.36 itself.
  const elves = elfFiles(bundle).filter((f) => !relative(bundle, f).startsWith('runtime/'));
  const tooNew: string[] = [];
  const highest: Record<string, string> = {};
  for (const file of elves) {
    for (const needed of neededVersions(file)) {
      const [family, version] = needed.split('_') as [keyof typeof FLOOR, string];
      if (!highest[family] || compareVersions(version, highest[family]) > 0) highest[family] = version;
      if (compareVersions(version, FLOOR[family]) > 0) tooNew.push(`${relative(bundle, file)} needs ${needed} (floor ${family}_${FLOOR[family]})`);
    }
  }
  return { elves: elves.map((f) => relative(bundle, f)), tooNew, highest };
}

/**
 * An empty root holding nothing but Debian's busybox-static (/bin/busybox, /bin/sh and its other applets
 * as links: a static shell, no C library), /dev/null, /tmp and a root user: what `chroot` runs the bundle
 * in, so no host library can be used.
 */
export function busyboxRoot(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  for (const sub of ['dev', 'etc', 'tmp', 'root']) mkdirSync(join(dir, sub), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  execFileSync('mknod', ['-m', '0666', join(dir, 'dev', 'null'), 'c', '1', '3']);
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
  return dir;
}

export const BUSYBOX = '/bin/busybox';

/** A skip reason, except under CI=true (.ci/run installs what these tests need): there the test runs, and fails. */
export function inCi(reason: string | false): string | false {
  return process.env.CI === 'true' ? false : reason;
}
/** Skip reason when /bin/busybox is missing or not the static one (Debian's busybox, not -static, needs libc). */
export const noBusybox = inCi(existsSync(BUSYBOX) && statSync(BUSYBOX).isFile() &&
  !execFileSync('readelf', ['-l', '-W', BUSYBOX], { encoding: 'utf8' }).includes('program interpreter')
  ? false : 'Debian\'s busybox-static is not installed (apt-get install busybox-static)');

/** Runs a command without blocking the event loop (the simulator runs in the test process). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = { PATH: '/bin' }, timeout = 15 * 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout }, (error, stdout, stderr) => {
      // A command that could not start (ENOENT) or was killed has no exit status: -1, with the reason in stderr.
      const code = !error ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr: code === -1 ? `${stderr}${error!.message}` : stderr });
    });
  });
}

/** chroot(8) by its path: the environment given to run() inside a root has no /usr/sbin on PATH. */
export const CHROOT = ['/usr/sbin/chroot', '/usr/bin/chroot'].find((f) => existsSync(f)) ?? 'chroot';
