// Writes empty ISO files in the /opt/zstack-dvd layout (zstack-api.md 5.1):
// <dir>/<baseArch>/<release>/tools/guesttools/<arch|general>/<hv>/GuestTools[-|_linux-]<v>.iso
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SimIso } from './types.js';

const RELEASES: Record<string, string> = { x86_64: 'c79', aarch64: 'h84r', mips64el: 'ns10', loongarch64: 'ky10' };

export function isoRelativePath(iso: SimIso): string {
  const baseArch = iso.architecture === 'general' ? 'x86_64' : iso.architecture;
  const file = iso.agentType === 'WindowsOnKvm' ? `GuestTools-${iso.version}.iso` : `GuestTools_linux-${iso.version}.iso`;
  return path.join(baseArch, RELEASES[baseArch] ?? 'c79', 'tools', 'guesttools', iso.architecture, iso.hypervisorType ?? 'KVM', file);
}

export async function writeIsoDir(dir: string, isos: readonly SimIso[]): Promise<string[]> {
  const written: string[] = [];
  for (const iso of isos) {
    const file = path.join(dir, isoRelativePath(iso));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '');
    written.push(file);
  }
  return written;
}
