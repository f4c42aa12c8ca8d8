// Writes empty ISO files in the /opt/zstack-dvd layout (zstack-api.md 5.1):
// <dir>/<baseArch>/<release>/tools/guesttools/<arch|general>/<hv>/GuestTools[-|_linux-]<v>.iso
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SimIso } from './types.js';

const RELEASES: Record<string, string> = { x86_64: 'c79', aarch64: 'h84r', mips64el: 'ns10', loongarch64: 'ky10' };

function isoRelativePath(iso: SimIso): string {
  const baseArch = iso.architecture === 'general' ? 'x86_64' : iso.architecture;
  const file = iso.agentType === 'WindowsOnKvm' ? `GuestTools-${iso.version}.iso` : `GuestTools_linux-${iso.version}.iso`;
  return path.join(baseArch, RELEASES[baseArch] ?? 'c79', 'tools', 'guesttools', iso.architecture, iso.hypervisorType ?? 'KVM', file);
}

/** Left in a folder this simulator made, so that `gtr sim --iso-dir` may write there again. */
const SIM_ISO_DIR_MARK = '.gtr-sim-iso-dir';

/**
 * Writes the fake (empty) ISO files. A file already there is never rewritten: whatever it holds (a real
 * ISO the MN mounts into guests) stays as it is.
 */
export async function writeIsoDir(dir: string, isos: readonly SimIso[]): Promise<string[]> {
  const written: string[] = [];
  if (isos.length === 0) return written;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, SIM_ISO_DIR_MARK), 'fake GuestTools ISO files written by gtr sim; safe to delete\n');
  for (const iso of isos) {
    const file = path.join(dir, isoRelativePath(iso));
    await mkdir(path.dirname(file), { recursive: true });
    try {
      await writeFile(file, '', { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    written.push(file);
  }
  return written;
}

/**
 * `gtr sim --iso-dir`: a folder that does not exist, is empty, or was made by gtr sim; else the problem
 * (it would add fake versions to a real ISO folder such as /opt/zstack-dvd).
 */
export async function simIsoDirProblem(dir: string): Promise<string | null> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    return `--iso-dir ${dir}: cannot read it (${code ?? String(error)})`;
  }
  if (entries.length === 0 || entries.includes(SIM_ISO_DIR_MARK)) return null;
  return `--iso-dir ${dir} already holds files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}) and was not made by gtr sim: ` +
    'gtr sim writes empty fake GuestTools ISO files there, which would add fake versions to a real ISO folder ' +
    '(never point it at the management node\'s /opt/zstack-dvd); give a new or empty folder';
}
