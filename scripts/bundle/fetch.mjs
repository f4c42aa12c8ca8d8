// Fetches a pinned npm registry package (npm pack: the registry and npm's own cache, nothing else),
// checks its sha512 against the pin, and unpacks it once into the bundle cache.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Returns the folder holding the unpacked package (its `package/` contents). */
export function fetchPinned(pin, cacheDir) {
  const dest = join(cacheDir, `${pin.package.replace(/[@/]/g, '_')}-${pin.version}`);
  if (existsSync(join(dest, '.integrity')) && readFileSync(join(dest, '.integrity'), 'utf8') === pin.integrity) return dest;
  mkdirSync(cacheDir, { recursive: true });
  // npm pack prints the tarball's file name as its last line (its notices go to stderr).
  const printed = execFileSync('npm', ['pack', `${pin.package}@${pin.version}`, '--loglevel=error', '--pack-destination', cacheDir],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const tarball = join(cacheDir, printed.trim().split('\n').pop());
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (integrity !== pin.integrity) {
    rmSync(tarball, { force: true });
    throw new Error(`${pin.package}@${pin.version}: integrity ${integrity} does not match the pin ${pin.integrity} (scripts/bundle/pins.json)`);
  }
  const tmp = `${dest}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', tmp, '--strip-components=1']);
  writeFileSync(join(tmp, '.integrity'), pin.integrity);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  rmSync(tarball, { force: true });
  return dest;
}
