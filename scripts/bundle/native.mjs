// Builds better-sqlite3's native module for the bundle's architecture with zig's C/C++ compiler, which
// links against glibc 2.28 symbol versions whatever glibc this machine has, and links zig's libc++
// statically (so the module needs no GLIBCXX at all). node-gyp comes with npm; the Node headers come
// from the pinned runtime package, so nothing is downloaded here.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ZIG_TARGET = { x64: 'x86_64', arm64: 'aarch64' };

/**
 * Writes cc/c++ wrappers that call zig for the target; the c++ one (also the linker) adds the stat shim
 * (glibc-stat-shim.c, see there why) to the shared module it links. Returns their paths.
 */
function compilerWrappers(zigDir, arch, glibc, wrapDir, env) {
  mkdirSync(wrapDir, { recursive: true });
  const target = `${ZIG_TARGET[arch]}-linux-gnu.${glibc}`;
  const zig = join(zigDir, 'zig');
  const shim = join(wrapDir, `${target}-stat-shim.o`);
  execFileSync(zig, ['cc', '-target', target, '-O2', '-fPIC', '-c', join(HERE, 'glibc-stat-shim.c'), '-o', shim], { env });
  const make = (mode, extra) => {
    const file = join(wrapDir, `${target}-${mode}`);
    writeFileSync(file, [
      '#!/bin/sh',
      "# zig's linker does not take --exclude-libs; -Bsymbolic (also set by better-sqlite3) keeps the module's references local.",
      'extra=',
      `for a do shift; [ "$a" = "-shared" ] && extra='${extra}'; [ "$a" = "-Wl,--exclude-libs,ALL" ] || set -- "$@" "$a"; done`,
      `exec '${zig}' ${mode} -target ${target} "$@" $extra`,
      '',
    ].join('\n'));
    chmodSync(file, 0o755);
    return file;
  };
  return { cc: make('cc', ''), cxx: make('c++', shim) };
}

function nodeGypScript() {
  const npmCli = execFileSync('npm', ['prefix', '-g'], { encoding: 'utf8' }).trim();
  for (const candidate of [join(npmCli, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('node-gyp (shipped with npm) not found; it builds the native module');
}

/** Compiles the module in place in `moduleDir`, strips it, and removes sources and intermediates. */
export function buildBetterSqlite3({ moduleDir, arch, nodeDir, zigDir, glibc, cacheDir }) {
  // zig caches the libc++ and glibc stubs it builds per target: reused by later bundle builds.
  const zigEnv = { ...process.env, ZIG_GLOBAL_CACHE_DIR: join(cacheDir, 'zig-cache'), ZIG_LOCAL_CACHE_DIR: join(cacheDir, 'zig-cache') };
  const { cc, cxx } = compilerWrappers(zigDir, arch, glibc, join(cacheDir, 'zig-wrappers'), zigEnv);
  const zig = join(zigDir, 'zig');
  const env = { ...zigEnv, CC: cc, CXX: cxx, LINK: cxx, AR: `${zig} ar` };
  execFileSync(process.execPath, [nodeGypScript(), 'rebuild', '--release', `--nodedir=${nodeDir}`, `--arch=${arch}`, '-j', '2'],
    { cwd: moduleDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const built = join(moduleDir, 'build', 'Release', 'better_sqlite3.node');
  const kept = join(moduleDir, 'better_sqlite3.node');
  execFileSync(zig, ['objcopy', '--strip-debug', built, kept]);
  rmSync(join(moduleDir, 'build'), { recursive: true, force: true });
  mkdirSync(join(moduleDir, 'build', 'Release'), { recursive: true });
  renameSync(kept, join(moduleDir, 'build', 'Release', 'better_sqlite3.node'));
  // Sources (the SQLite amalgamation alone is 9 MB) are not needed at run time.
  for (const entry of readdirSync(moduleDir)) {
    if (['deps', 'src', 'binding.gyp'].includes(entry)) rmSync(join(moduleDir, entry), { recursive: true, force: true });
  }
}

/** The licences of what zig links into the module (libc++, libc++abi, libunwind, compiler-rt). */
export function zigLinkedLicences(zigDir) {
  return [
    ['zig (compiler-rt)', join(zigDir, 'LICENSE')],
    ['libc++', join(zigDir, 'lib/libcxx/LICENSE.TXT')],
    ['libc++abi', join(zigDir, 'lib/libcxxabi/LICENSE.TXT')],
    ['libunwind', join(zigDir, 'lib/libunwind/LICENSE.TXT')],
  ];
}
