// The guest behind each simulated VM, as far as in-guest installs need it: whether its QEMU guest agent
// answers, the tools version installed in it, what CD-ROM 0 holds, the Windows temp disk, and what
// happens when a script launches the GuestTools installer (zstack-install-api.md 1.9, 5, 6, 7).
//
// The script's text is interpreted as little as possible. The one rule: a script LAUNCHES THE INSTALLER
// when its (decoded, rendered) text names the installer of its platform's ISO: `zs-tools-install.sh` on
// Linux (ZStack's UI and SDK test run exactly that), the knob `guests.windowsInstaller` on Windows (the
// real file name is not published). It is DETACHED from the agent's exec session when it starts it
// with `nohup`, `setsid`, `systemd-run` or a trailing `&` (Linux), or `start` (Windows cmd). Then:
// - no GuestTools ISO in CD-ROM 0: nothing installs; a foreground launch prints the shell's "No such
//   file" on stderr (so its detail fails), a detached one exits 0 (its detail succeeds: it proves only
//   that the launcher ran);
// - with the ISO: after `guests.installMs` the installer restarts the agent (the agent is down; a
//   foreground exec loses its session, so its detail fails), and after `guests.agentRestartMs` (or
//   when a test releases holdInstalls) it reports, as the real installer's zwatchInstallResult does:
//   success rewrites the `GuestTools::` tag and installs the ISO's version in the guest (the state row
//   follows per `guests.rowLagMs`), failure writes `GuestTools::InstallFailed`; `installer: 'hangs'`
//   never gets that far. The guest process survives an MN restart and is not killed by a timeout.
import type { JobHold } from './job-hold.js';
import type { TimerSet } from './timers.js';
import type { InstallerRun, SimGuestView } from './types.js';
import { VERSION_TAG, VM_TYPE, type VmRow, type World } from './world.js';

interface GuestOsOptions {
  installMs: number;
  agentRestartMs: number;
  /** 0: the report rewrites the state row at once; N: after N ms; null: only UpdateGuestToolsState does. */
  rowLagMs: number | null;
  windowsInstaller: string;
}

interface GuestOsDeps {
  world: World;
  /** Guest-side timers: survive an MN restart. */
  guestTimers: TimerSet;
  installHold: JobHold;
  opts: GuestOsOptions;
}

/** What running one script in a guest printed, and whether it waits on the installer it started in the foreground. */
interface ScriptRun {
  stdout: string;
  stderr: string;
  /** The exec session lives until the installer restarts the agent, which ends it (onSessionLost). */
  waitsForInstaller: boolean;
}

const LINUX_INSTALLER = 'zs-tools-install.sh';
const INSTALL_FAILED = 'InstallFailed';

export const isWindowsPlatform = (platform: string): boolean => platform === 'Windows' || platform === 'WindowsVirtio';

function detachedLaunch(platform: 'Linux' | 'Windows', text: string): boolean {
  return platform === 'Linux' ? /\b(nohup|setsid|systemd-run)\b|(^|[^&])&[ \t]*$/m.test(text) : /^\s*(@\s*)?start\b/im.test(text);
}

export class GuestOs {
  readonly runs: InstallerRun[] = [];

  constructor(private readonly d: GuestOsDeps) {}

  /** The agent answers: configured to run (default: the state row says Running), the VM Running, no restart under way. */
  agentRunning(vm: VmRow): boolean {
    if (vm.state !== 'Running' || vm.agentRestarting) return false;
    return vm.qga ?? this.d.world.guest(vm.uuid)?.qgaState === 'Running';
  }

  /** The version file in the guest: what an installer wrote, else what the MN last read (row, else tag). */
  installedVersion(vm: VmRow): string | null {
    if (vm.installed !== undefined) return vm.installed;
    const row = this.d.world.guest(vm.uuid);
    const v = row && row.qgaState !== 'NotInstalled' ? row.version : this.d.world.versionTag(vm.uuid);
    return v === null || v === '' || v === INSTALL_FAILED ? null : v;
  }

  view(vm: VmRow): SimGuestView {
    const cdRom0 = vm.cdRoms <= 0 ? 'none' : vm.guestToolsIso ? 'GuestTools' : vm.cdRomIsoUuid !== null ? 'user-iso' : 'empty';
    return {
      agentRunning: this.agentRunning(vm), agentRestarting: vm.agentRestarting, installedVersion: this.installedVersion(vm),
      cdRom0, guestToolsIsoVersion: vm.guestToolsIso?.version ?? null, tempDisk: vm.tempDisk,
    };
  }

  /** Runs one script in a guest whose agent answers (the caller checked); starts the installer when the script launches it. */
  run(vm: VmRow, platform: 'Linux' | 'Windows', text: string, recordUuid: string, onSessionLost: () => void): ScriptRun {
    const stderr = vm.scriptStderr ?? '';
    const installer = platform === 'Linux' ? LINUX_INSTALLER : this.d.opts.windowsInstaller;
    if (!text.includes(installer)) return { stdout: '', stderr, waitsForInstaller: false };
    const detached = detachedLaunch(platform, text);
    const iso = vm.guestToolsIso;
    if (!iso) {
      if (detached) return { stdout: '', stderr, waitsForInstaller: false };
      const missing = platform === 'Linux'
        ? `bash: ./${installer}: No such file or directory`
        : `'${installer}' is not recognized as an internal or external command,\r\noperable program or batch file.`;
      return { stdout: '', stderr: stderr === '' ? missing : `${stderr}\n${missing}`, waitsForInstaller: false };
    }
    this.startInstaller(vm, iso.version, recordUuid, detached ? null : onSessionLost);
    return { stdout: '', stderr, waitsForInstaller: !detached };
  }

  /** A person at the console runs the installer from the mounted ISO (no script, no agent session). */
  installByHand(vm: VmRow): void {
    if (vm.state !== 'Running') throw new Error(`VM ${vm.uuid} is ${vm.state}: nobody can run an installer in it`);
    if (!vm.guestToolsIso) throw new Error(`VM ${vm.uuid} has no GuestTools ISO in a CD-ROM: there is no installer to run`);
    this.startInstaller(vm, vm.guestToolsIso.version, null, null);
  }

  private startInstaller(vm: VmRow, version: string, recordUuid: string | null, onSessionLost: (() => void) | null): void {
    const { world, guestTimers, installHold, opts } = this.d;
    const run: InstallerRun = { vmUuid: vm.uuid, version, recordUuid, startedAt: Date.now() };
    this.runs.push(run);
    const alive = (): boolean => world.getVm(vm.uuid) === vm && vm.state === 'Running';
    guestTimers.after(opts.installMs, () => {
      if (!alive() || (vm.installer ?? 'succeeds') === 'hangs') return;
      vm.agentRestarting = true;
      onSessionLost?.();
      installHold.finishWhenReleased(() => guestTimers.after(opts.agentRestartMs, () => {
        vm.agentRestarting = false;
        if (!alive()) return;
        if (vm.installer === 'fails') {
          run.outcome = 'failed';
          world.tags.recreate(vm.uuid, VM_TYPE, VERSION_TAG, `${VERSION_TAG}${INSTALL_FAILED}`);
          return;
        }
        run.outcome = 'succeeded';
        vm.installed = version;
        vm.qga = true;
        this.report(vm, version);
      }));
    });
  }

  /** zwatchInstallResult: the MN recreates the tag at once; the state row follows per rowLagMs. */
  private report(vm: VmRow, version: string): void {
    const { world, guestTimers, opts } = this.d;
    world.tags.recreate(vm.uuid, VM_TYPE, VERSION_TAG, `${VERSION_TAG}${version}`);
    const follow = (): void => {
      if (world.getVm(vm.uuid) === vm) world.setGuest(vm.uuid, { qgaState: 'Running', version: this.installedVersion(vm) });
    };
    if (opts.rowLagMs === 0) follow();
    else if (opts.rowLagMs !== null) guestTimers.after(opts.rowLagMs, follow);
  }
}
