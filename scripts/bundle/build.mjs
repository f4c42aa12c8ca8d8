#!/usr/bin/env node
// `npm run bundle -- --arch x64|arm64 [--rpm]`: the offline bundle for a management node, as
// release/guesttools-reconciler-<version>-linux-<arch>.tar.gz, and with --rpm also as
// release/guesttools-reconciler-<version>-1.<x86_64|aarch64>.rpm. Everything comes from the npm registry
// and the Debian mirror (pinned in pins.json) and this repository; docs/operations.md "Install on the management node"
// describes the layout and the checks.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fetchPinned } from './fetch.mjs';
import { buildBetterSqlite3, zigLinkedLicences } from './native.mjs';
import { bundleRuntime } from './runtime.mjs';
import { NODE_FLAGS } from './node-flags.mjs';
import { buildRpm } from './rpm.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const ARCHS = { x64: 'x86_64', arm64: 'aarch64' };
const APP_FILES = ['bin', 'dist', 'migrations', 'config', 'deploy', 'docs', 'package.json', 'package-lock.json', 'README.md'];

function usage(message) {
  process.stderr.write(`bundle: ${message}\nUsage: npm run bundle -- --arch x64|arm64 [--rpm]\n`);
  process.exit(2);
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** Licences of everything bundled: Node, the npm packages, and what zig links into the native module. */
function writeLicences(bundle, nodeDir, zigDir) {
  const out = join(bundle, 'LICENSES');
  mkdirSync(out, { recursive: true });
  copyFileSync(join(nodeDir, 'LICENSE'), join(out, 'node.txt'));
  const zigParts = zigLinkedLicences(zigDir).map(([what, file]) => `==== ${what} (linked into better_sqlite3.node) ====\n\n${readFileSync(file, 'utf8')}`);
  writeFileSync(join(out, 'native-module.txt'), `${zigParts.join('\n\n')}\n\n==== SQLite ====\n\nThe SQLite source code is in the public domain.\n`);
  const modules = join(bundle, 'app', 'node_modules');
  const parts = [];
  for (const file of filesUnder(modules).filter((f) => f.endsWith('package.json') && !f.includes('/test/'))) {
    const dir = dirname(join(modules, file));
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(modules, file), 'utf8'));
    } catch {
      continue;
    }
    if (!pkg.name || !pkg.version || relative(modules, dir) !== pkg.name && !relative(modules, dir).endsWith(`node_modules/${pkg.name}`)) continue;
    const licence = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    parts.push(`==== ${pkg.name}@${pkg.version} (${pkg.license ?? 'see below'}) ====\n\n${licence ? readFileSync(join(dir, licence), 'utf8') : '(no licence file in the package)'}`);
  }
  writeFileSync(join(out, 'npm-packages.txt'), `${parts.join('\n\n')}\n`);
}

function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { arch: { type: 'string' }, rpm: { type: 'boolean' } }, strict: true }));
  } catch (error) {
    usage(error.message);
  }
  const arch = values.arch;
  if (!arch || !ARCHS[arch]) usage(`--arch must be x64 or arm64 (got ${arch ?? 'nothing'})`);
  const pins = JSON.parse(readFileSync(join(HERE, 'pins.json'), 'utf8'));
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const name = `guesttools-reconciler-${version}-linux-${arch}`;
  const cacheDir = join(ROOT, 'node_modules', '.cache', 'gtr-bundle');
  const started = Date.now();

  const nodeDir = fetchPinned(pins.node[arch], cacheDir);
  const zigDir = fetchPinned(pins.zig, cacheDir);
  run('npm', ['run', 'build', '--silent'], { cwd: ROOT });

  const stage = join(ROOT, 'release', `stage-${arch}`);
  const bundle = join(stage, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(bundle, 'app'), { recursive: true });
  for (const entry of APP_FILES) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(bundle, 'app', entry), { recursive: true });
  }
  // Production dependencies exactly as locked; no install scripts (better-sqlite3's would download).
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: join(bundle, 'app') });
  buildBetterSqlite3({ moduleDir: join(bundle, 'app', 'node_modules', 'better-sqlite3'), arch, nodeDir, zigDir, glibc: pins.glibc, cacheDir });

  mkdirSync(join(bundle, 'node', 'bin'), { recursive: true });
  copyFileSync(join(nodeDir, 'bin', 'node'), join(bundle, 'node', 'bin', 'node'));
  chmodSync(join(bundle, 'node', 'bin', 'node'), 0o755);
  // The bundle's own loader and C runtime, for node and the native module (and what those libraries need).
  const runtime = bundleRuntime({
    bundle, arch, pins: pins.debian[arch], cacheDir,
    elves: [join(bundle, 'node', 'bin', 'node'), join(bundle, 'app', 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')],
  });
  mkdirSync(join(bundle, 'bin'));
  for (const [file, dest] of [['gtr.sh', 'bin/gtr'], ['install.sh', 'install.sh'], ['uninstall.sh', 'uninstall.sh']]) {
    const text = readFileSync(join(HERE, file), 'utf8');
    writeFileSync(join(bundle, dest), file === 'gtr.sh' ? text.replace('@LOADER@', runtime.loader).replace('@NODE_FLAGS@', NODE_FLAGS.join(' ')) : text);
    chmodSync(join(bundle, dest), 0o755);
  }
  writeLicences(bundle, nodeDir, zigDir);
  writeFileSync(join(bundle, 'VERSION'), `${version}\n`);
  writeFileSync(join(bundle, 'ARCH'), `${ARCHS[arch]}\n`);
  writeFileSync(join(bundle, 'BUILD'), [
    `node ${pins.node[arch].version} (${pins.node[arch].package}), native module: zig ${pins.zig.version} for glibc ${pins.glibc}`,
    `C runtime (runtime/lib: ${runtime.files.join(' ')}) from Debian: ${runtime.packages.join(', ')}`,
    '',
  ].join('\n'));

  // SHA-256 of every file, in `sha256sum -c` format; install.sh checks it before installing.
  const sums = filesUnder(bundle).map((f) => `${createHash('sha256').update(readFileSync(join(bundle, f))).digest('hex')}  ${f}`);
  writeFileSync(join(bundle, 'SHA256SUMS'), `${sums.join('\n')}\n`);

  // Reproducible archive: sorted names, one owner, the commit's time for every file.
  const mtime = execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim() || '0';
  const out = join(ROOT, 'release', `${name}.tar.gz`);
  execFileSync('sh', ['-c', 'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$1" -C "$2" -cf - "$3" | gzip -n > "$4"',
    'sh', mtime, stage, name, out], { stdio: 'inherit' });
  const mb = (file) => `${(statSync(file).size / 1024 / 1024).toFixed(1)} MB`;
  process.stdout.write(`bundle: ${relative(ROOT, out)} (${mb(out)}) in ${Math.round((Date.now() - started) / 1000)} s\n`);
  if (values.rpm) {
    const summary = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).description;
    const rpm = buildRpm({ root: ROOT, bundle, version, arch, summary });
    process.stdout.write(`bundle: ${relative(ROOT, rpm)} (${mb(rpm)}) in ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
  rmSync(stage, { recursive: true, force: true });
}

main();
