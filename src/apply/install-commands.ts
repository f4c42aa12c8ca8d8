// What runs inside a guest to install GuestTools (DESIGN.md 2.7, zstack-install-api.md 5), and the one
// script per (platform, command) that carries it in ZStack's script library.
//
// Linux, by default, ZStack's own procedure (its UI and its SDK test): find the CD-ROM that holds
// zs-tools-install.sh, mount it, run `echo Y | bash ./zs-tools-install.sh`, keep its exit status in
// the guest, unmount. The installer restarts the QEMU guest agent, which would end the exec session it
// runs in: so the launcher writes the installer's steps to a file, starts them with nohup in the
// background after ZStack's own 60 s delay, prints one line and exits 0. Nothing goes to stderr (the
// agent marks any stderr output a failure). The launcher's success proves only that it ran: the
// install is judged on the guest's own evidence (src/reconcile/install-evidence.ts).
//
// Windows has no documented silent installer: no default; install.windows.command is run by cmd.exe
// (scriptType Bat; PowerShell scripts run without -ExecutionPolicy Bypass).
import { createHash } from 'node:crypto';
import type { InstallPlatform } from '../ledger/index.js';

/** Where the launcher keeps the installer's exit status and output in the guest (docs/install.md). */
export const GUEST_STATUS_FILE = '/var/tmp/gtr-install.status';
export const GUEST_LOG_FILE = '/var/tmp/gtr-install.log';

export const DEFAULT_LINUX_COMMAND = [
  '# guesttools-reconciler: install GuestTools from the attached ISO (ZStack\'s procedure), detached from',
  '# the guest agent\'s session, because the installer restarts the agent.',
  "cat > /var/tmp/gtr-install.sh <<'GTR_EOF'",
  '#!/bin/bash',
  `status=${GUEST_STATUS_FILE}`,
  'rm -f "$status"',
  'mnt=$(mktemp -d /mnt/gtr-guesttools.XXXXXX)',
  'found=',
  'for dev in /dev/sr* /dev/cdrom; do',
  '  [ -b "$dev" ] || continue',
  '  if mount -o ro "$dev" "$mnt"; then',
  '    if [ -f "$mnt/zs-tools-install.sh" ]; then found=$dev; break; fi',
  '    umount "$mnt"',
  '  fi',
  'done',
  'if [ -z "$found" ]; then echo "no CD-ROM holds zs-tools-install.sh"; echo 127 > "$status"; rmdir "$mnt"; exit 1; fi',
  'cd "$mnt" && echo Y | bash ./zs-tools-install.sh',
  'echo $? > "$status"',
  'cd / && umount "$mnt"; rmdir "$mnt"',
  'GTR_EOF',
  `nohup bash -c 'sleep 60; bash /var/tmp/gtr-install.sh' > ${GUEST_LOG_FILE} 2>&1 < /dev/null &`,
  `echo "guesttools-reconciler: the GuestTools installer starts in 60 s in the background; its exit status goes to ${GUEST_STATUS_FILE}"`,
  'exit 0',
].join('\n');

/** The launcher exits at once; this bounds a Windows command that runs in the foreground. */
export const LAUNCHER_TIMEOUT_S = 300;

export interface InstallScriptSpec {
  platform: InstallPlatform;
  command: string;
  /** `<platform>:<hash>`: one script per (platform, command), kept in the ledger. */
  key: string;
  /** The script's name in ZStack, found by it before one is created. */
  name: string;
  scriptType: 'Shell' | 'Bat';
}

export function installScriptSpec(platform: InstallPlatform, command: string): InstallScriptSpec {
  const hash = createHash('sha256').update(`${platform}\n${command}`).digest('hex').slice(0, 16);
  return {
    platform, command, key: `${platform}:${hash}`, name: `gtr-install-${platform.toLowerCase()}-${hash}`,
    scriptType: platform === 'Windows' ? 'Bat' : 'Shell',
  };
}

/** The command per platform from the config: Linux defaults to ZStack's procedure, Windows to none. */
export function installCommands(install: { linux: { command: string | null }; windows: { command: string | null } }): Record<InstallPlatform, string | null> {
  return { Linux: install.linux.command ?? DEFAULT_LINUX_COMMAND, Windows: install.windows.command };
}
