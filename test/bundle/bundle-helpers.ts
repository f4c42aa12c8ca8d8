// Shared by the bundle tests: build (or reuse) a bundle, unpack it, and read the symbol versions every
// ELF file in it needs (readelf reads any architecture's ELF, unlike this machine's objdump).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';

export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** Node 20's own floor: the bundle must not need more than what its Node binary needs. */
export const FLOOR = { GLIBC: '2.28', GLIBCXX: '3.4.25', CXXABI: '1.3.11' } as const;

/** Builds release/<name>.tar.gz with `npm run bundle`; GTR_BUNDLE_REUSE=1 reuses one already built (while iterating). */
export function bundleFor(arch: 'x64' | 'arm64'): string {
  const tarball = join(ROOT, 'release', `guesttools-reconciler-${VERSION}-linux-${arch}.tar.gz`);
  if (!(process.env.GTR_BUNDLE_REUSE === '1' && existsSync(tarball))) {
    execFileSync('npm', ['run', 'bundle', '--silent', '--', '--arch', arch], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 40 * 60_000 });
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

/** For every ELF file: what it needs above the floor; plus the highest version of each family found. */
export function symbolReport(bundle: string): { elves: string[]; tooNew: string[]; highest: Record<string, string> } {
  const elves = elfFiles(bundle);
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
