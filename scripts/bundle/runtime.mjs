// The bundle's own C runtime (issue 24): the dynamic loader, glibc, libstdc++ and libgcc_s from Debian's
// packages for the bundle's architecture (amd64: libc6, libstdc++6, libgcc-s1; arm64: the cross packages
// libc6-arm64-cross, libstdc++6-arm64-cross, libgcc-s1-arm64-cross), pinned by version and SHA-256 in
// pins.json and fetched with `apt-get download` (the Debian mirror only; apt checks the signed index).
// bin/gtr starts Node through that loader with that library path, so the host's glibc is never used:
// CentOS 7 (glibc 2.17) runs the bundle as well as openEuler 22.03 does.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where each architecture's packages keep the libraries, and the loader's name (its PT_INTERP basename). */
export const RUNTIME = {
  x64: { loader: 'ld-linux-x86-64.so.2', libDirs: ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'] },
  arm64: { loader: 'ld-linux-aarch64.so.1', libDirs: ['usr/aarch64-linux-gnu/lib'] },
};

/** The licence texts the packages' copyright files refer to (Debian's base-files, on every Debian host). */
const LICENCE_TEXTS = ['LGPL-2.1', 'GPL-2', 'GPL-3'];

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** One pinned .deb in the cache, downloaded when missing or different; returns its path. */
function fetchDeb(pin, cacheDir) {
  const dir = join(cacheDir, 'debs');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${pin.package.replace(/:/g, '_')}_${pin.version.replace(/:/g, '%3a')}.deb`);
  if (existsSync(file) && sha256(file) === pin.sha256) return file;
  const tmp = mkdtempSync(join(dir, 'download-'));
  try {
    try {
      execFileSync('apt-get', ['download', '-qq', `${pin.package}=${pin.version}`], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch (error) {
      const name = pin.package;
      throw new Error(`cannot download the Debian package ${name}=${pin.version} (${String(error.stderr ?? error.message).trim()}).\n` +
        `  Run "apt-get update" first. If Debian no longer offers this version, "apt-cache policy ${name}" shows the one it has:\n` +
        `  pin that version and its SHA-256 in scripts/bundle/pins.json ("debian"), then run npm run test:bundle.`, { cause: error });
    }
    const [downloaded] = readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    if (!downloaded) throw new Error(`apt-get download ${pin.package}=${pin.version} wrote no .deb file`);
    const got = sha256(join(tmp, downloaded));
    if (got !== pin.sha256) {
      throw new Error(`${pin.package}=${pin.version}: SHA-256 ${got} does not match the pin ${pin.sha256} (scripts/bundle/pins.json)`);
    }
    renameSync(join(tmp, downloaded), file);
    return file;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function debField(deb, field) {
  return execFileSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).trim();
}

/** DT_NEEDED of an ELF file (readelf reads any architecture). */
export function neededLibraries(file) {
  const out = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

/**
 * Copies the loader and every library `elves` need (transitively) into `runtime/lib` of the bundle, and
 * writes LICENSES/c-runtime.txt. Returns what the launcher and BUILD need to know.
 */
export function bundleRuntime({ bundle, arch, pins, cacheDir, elves }) {
  const spec = RUNTIME[arch];
  const unpacked = join(cacheDir, `runtime-${arch}`);
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(unpacked, { recursive: true });
  const packages = pins.map((pin) => {
    const deb = fetchDeb(pin, cacheDir);
    const root = join(unpacked, pin.package.replace(/:/g, '_'));
    execFileSync('dpkg-deb', ['-x', deb, root]);
    return { pin, deb, root, source: debField(deb, 'Source') || pin.package.replace(/:.*/, ''), version: debField(deb, 'Version') };
  });

  /** soname -> { file, from } across the packages' library folders. */
  const available = new Map();
  for (const p of packages) {
    for (const dir of spec.libDirs.map((d) => join(p.root, d)).filter((d) => existsSync(d))) {
      for (const name of readdirSync(dir)) if (/\.so(\.|$)/.test(name)) available.set(name, { file: realpathSync(join(dir, name)), from: p });
    }
  }
  const lib = join(bundle, 'runtime', 'lib');
  mkdirSync(lib, { recursive: true });
  const shipped = new Map();
  const queue = [spec.loader, ...elves.flatMap((f) => neededLibraries(f))];
  while (queue.length > 0) {
    const name = queue.shift();
    if (shipped.has(name)) continue;
    const found = available.get(name);
    if (!found) throw new Error(`the C runtime has no ${name} (needed by the bundle's ELF files); add its Debian package to pins.json "debian"`);
    copyFileSync(found.file, join(lib, name));
    shipped.set(name, found.from);
    queue.push(...neededLibraries(found.file));
  }

  const files = [...shipped.keys()].sort();
  writeRuntimeLicences(bundle, arch, packages, shipped, files);
  return { loader: spec.loader, files, packages: packages.map((p) => `${p.pin.package} ${p.version} (source ${p.source})`) };
}

function writeRuntimeLicences(bundle, arch, packages, shipped, files) {
  const lines = [
    `C runtime of this bundle (${arch}): runtime/lib/, loaded by runtime/lib/${RUNTIME[arch].loader}; bin/gtr starts`,
    'node/bin/node through it (--library-path runtime/lib --inhibit-cache), so the host\'s C library is not used.',
    '',
    'Files, and the Debian binary package each one was copied from unchanged:',
    ...files.map((f) => `  runtime/lib/${f}  <-  ${shipped.get(f).pin.package} ${shipped.get(f).version}`),
    '',
    'Corresponding source code. The GNU C Library (libc.so.6, the loader and the other glibc libraries) is',
    'licensed under the GNU Lesser General Public License 2.1 or later; libgcc_s and libstdc++ under the GNU',
    'General Public License 3 with the GCC Runtime Library Exception 3.1. Their complete source code is the',
    'Debian source package named below, in exactly the version named, published by Debian at',
    '  https://deb.debian.org/debian/pool/main/<first letter of the source>/<source>/ (current releases) and',
    '  https://snapshot.debian.org/package/<source>/<version>/ (every version ever published),',
    'or with "apt-get source <source>=<version>" on Debian 12. (cross-toolchain-base and gcc-12-cross are',
    'Debian\'s cross builds: they contain the unmodified glibc and gcc upstream sources and Debian\'s patches.)',
    'The maintainers of guesttools-reconciler will also provide that source on request, for at least three',
    'years after the last release of a bundle containing it.',
    '',
    ...[...new Map(packages.map((p) => [`${p.source} ${p.version}`, p])).values()].map((p) => `  source package ${p.source}, version ${p.version} (binary ${p.pin.package})`),
  ];
  const parts = [lines.join('\n')];
  for (const p of packages) {
    const doc = join(p.root, 'usr/share/doc');
    if (!existsSync(doc)) continue;
    for (const name of readdirSync(doc)) {
      const copyright = join(doc, name, 'copyright');
      if (existsSync(copyright)) parts.push(`==== ${p.pin.package} ${p.version}: /usr/share/doc/${name}/copyright ====\n\n${readFileSync(copyright, 'utf8')}`);
    }
  }
  for (const text of LICENCE_TEXTS) {
    const file = join('/usr/share/common-licenses', text);
    if (!existsSync(file)) throw new Error(`${file} is missing (Debian's base-files): the bundle's notices need its text`);
    parts.push(`==== ${text} (the text /usr/share/common-licenses/${basename(file)} above refers to) ====\n\n${readFileSync(file, 'utf8')}`);
  }
  mkdirSync(join(bundle, 'LICENSES'), { recursive: true });
  writeFileSync(join(bundle, 'LICENSES', 'c-runtime.txt'), `${parts.join('\n\n')}\n`);
}
