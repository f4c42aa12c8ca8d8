// The guest-tools APIs: AttachGuestToolsIsoToVm / DetachGuestToolsIsoFromVm (async jobs),
// GetLatestGuestToolsForVm and GetVmGuestToolsInfo (sync), with the interceptor checks and messages
// of zstack-api.md 4.1-4.3, and the simulated guest that installs the tools after an attach.
import { agentTypeForPlatform } from '../domain.js';
import type { AttachStats } from './attach-stats.js';
import type { Faults } from './faults.js';
import type { Job, Jobs } from './jobs.js';
import type { JobHold } from './job-hold.js';
import { hashUnit } from './rng.js';
import type { TimerSet } from './timers.js';
import type { AttachStarted } from './types.js';
import { errorReply, json, vmNotFound, zsDate, zsError, type SimReply, type ZsError } from './wire.js';
import { VERSION_TAG, VM_TYPE, type IsoRow, type VmRow, type World } from './world.js';

const ATTACHED_TAG = 'guestToolsHasAttached';

interface GuestToolsOptions {
  jobDurationMs: number;
  recordVersionTag: boolean;
  /** A later attach recreates guestToolsHasAttached (new createDate) instead of keeping the first one. */
  recreateAttachedTag: boolean;
  installDelayMs: number;
  installShare: number;
  guestSeed: number;
  /** false before 4.6.11: no GuestToolsStateVO, so GetLatest compares with the VM's tag only. */
  stateTable: boolean;
}

interface GuestToolsDeps {
  world: World;
  jobs: Jobs;
  faults: Faults;
  stats: AttachStats;
  /** Cancelled by an MN restart. */
  jobTimers: TimerSet;
  /** Guest-side timers: survive an MN restart, cancelled by close(). */
  guestTimers: TimerSet;
  /** Attach jobs a test holds running. */
  hold: JobHold;
  opts: GuestToolsOptions;
}

const attachErr = (uuid: string, why: string): ZsError =>
  zsError('SYS.1007', `cannot attach guest-tools iso to vm[uuid:${uuid}] because ${why}`);

function isoFor(world: World, vm: VmRow): IsoRow | undefined {
  return world.newestIso(vm.architecture, vm.hypervisorType, agentTypeForPlatform(vm.platform));
}

export class GuestTools {
  private readonly vmQueues = new Map<string, (() => void)[]>();

  constructor(private readonly d: GuestToolsDeps) {}

  /** Interceptor checks of 4.1 in order, then the ISO lookup (GT.1005). */
  private attachProblem(vm: VmRow | undefined, uuid: string): ZsError | IsoRow {
    if (!vm) return vmNotFound(uuid);
    if (vm.hypervisorType !== 'KVM') return attachErr(uuid, "it's hypervisor type is not supported");
    if (vm.state !== 'Running') return attachErr(uuid, "it's not running");
    if (vm.type !== 'UserVm') return attachErr(uuid, "it's not user vm");
    if (vm.cdRoms <= 0) return attachErr(uuid, 'it has no cdrom');
    const iso = isoFor(this.d.world, vm);
    if (!iso) {
      return zsError('GT.1005', `no proper guest tools iso found in management node[uuid:${this.d.world.mnUuid}] for host[uuid:${vm.hostUuid ?? ''}]`);
    }
    return iso;
  }

  startAttach(job: Job, vmUuid: string, systemTags: string[]): void {
    const { world, jobs, stats } = this.d;
    const started: AttachStarted = { vmUuid, jobUuid: job.uuid, systemTags: [...systemTags], at: Date.now() };
    stats.started.push(started);
    const vm = world.getVm(vmUuid);
    const checked = this.attachProblem(vm, vmUuid);
    if (!vm || !('agentType' in checked)) {
      jobs.fail(job, checked as ZsError);
      started.failedWith = (checked as ZsError).code;
      return;
    }
    started.isoVersion = checked.version;
    this.serialised(vmUuid, (done) => this.runAttach(job, vm, checked, systemTags, done, started));
  }

  private runAttach(job: Job, vm: VmRow, iso: IsoRow, systemTags: string[], done: () => void, started: AttachStarted): void {
    const { world, jobs, faults, stats, jobTimers, hold, opts } = this.d;
    const host = vm.hostUuid;
    stats.begin(host);
    const stuck = faults.stuckJob();
    jobTimers.after(opts.jobDurationMs, () => hold.finishWhenReleased(() => {
      stats.end(host);
      done();
      if (stuck || !jobs.alive(job)) return; // a stuck job stays "running" until an MN restart drops it
      if (world.getVm(vm.uuid) !== vm) {
        // Deleted while the job ran: the host has nothing left to attach to.
        jobs.fail(job, zsError('SYS.1006', `failed to attach guest tools iso to vm[uuid:${vm.uuid}], because: the vm has been deleted`));
        started.failedWith = 'SYS.1006';
        return;
      }
      if (faults.attachFails(vm.uuid)) {
        const path = iso.agentType === 'WindowsOnKvm' ? 'GuestTools.iso' : 'GuestTools_linux.iso';
        jobs.fail(job, zsError('SYS.1006', `failed to attach guest tools iso to vm[uuid:${vm.uuid}], because:/var/lib/zstack/guesttools/${path} not exists`));
        started.failedWith = 'SYS.1006';
        return;
      }
      if (host) world.markHostIso(host, iso.agentType, iso.version);
      world.ejectCdRom0(vm.uuid);
      // CD-ROM 0's occupant is now GuestTools; Windows without virtio also gets the temp disk vdz.
      vm.guestToolsIso = { version: iso.version, agentType: iso.agentType };
      if (iso.agentType === 'WindowsOnKvm' && vm.platform !== 'WindowsVirtio' && !world.tags.of(vm.uuid).some((t) => t.tag === 'virtio')) vm.tempDisk = true;
      if (opts.recreateAttachedTag) world.tags.recreate(vm.uuid, VM_TYPE, ATTACHED_TAG, ATTACHED_TAG);
      else world.tags.ensure(vm.uuid, VM_TYPE, ATTACHED_TAG);
      const versionTag = systemTags.find((t) => t.startsWith(VERSION_TAG));
      if (opts.recordVersionTag && versionTag) world.tags.recreate(vm.uuid, VM_TYPE, VERSION_TAG, versionTag);
      this.installIfTold(vm, iso.version);
      if (faults.attachTimesOut(vm.uuid)) {
        // The attach happened (no failedWith): only the job's answer says otherwise.
        jobs.fail(job, zsError('SYS.1001', `operation timeout after ${opts.jobDurationMs} ms: attaching guest tools iso to vm[uuid:${vm.uuid}]`));
        return;
      }
      jobs.succeed(job);
    }));
  }

  /** The guest installs only when the test says so (`installs`, guests.installShare); a delay of 0 reports before the job ends. */
  private installIfTold(vm: VmRow, version: string): void {
    const { world, guestTimers, opts } = this.d;
    const installs = vm.installs ?? (opts.installShare > 0 && hashUnit(vm.uuid, opts.guestSeed) < opts.installShare);
    if (!installs) return;
    if (opts.installDelayMs <= 0) world.guestReport(vm.uuid, version);
    else guestTimers.after(opts.installDelayMs, () => {
      if (world.getVm(vm.uuid)) world.guestReport(vm.uuid, version);
    });
  }

  /** The MN serialises attaches per VM (`attach-guest-tools-iso-on-vm-<uuid>`). */
  private serialised(vmUuid: string, task: (done: () => void) => void): void {
    const queue = this.vmQueues.get(vmUuid);
    const run = (): void => {
      let released = false;
      task(() => {
        if (released) return;
        released = true;
        const q = this.vmQueues.get(vmUuid);
        const next = q?.shift();
        if (next) next();
        else this.vmQueues.delete(vmUuid);
      });
    };
    if (queue) queue.push(run);
    else {
      this.vmQueues.set(vmUuid, []);
      run();
    }
  }

  /**
   * DetachGuestToolsIsoFromVm (zstack-install-api.md 3.2): no interceptor check beyond the VM's existence.
   * The agent on the VM's host (or last host) unplugs and deletes the temp disk, ejects the GuestTools ISO
   * from CD-ROM 0 if the domain holds it (never a user's ISO), and the MN clears the occupant. Nothing
   * attached: nothing to do, `{}`. A Stopped VM: no domain to eject from; the temp disk file is deleted and the occupant cleared.
   */
  startDetach(job: Job, vmUuid: string): void {
    const { world, jobs, faults, jobTimers, opts } = this.d;
    if (!world.getVm(vmUuid)) {
      jobs.fail(job, vmNotFound(vmUuid));
      return;
    }
    jobTimers.after(opts.jobDurationMs, () => {
      if (!jobs.alive(job)) return;
      const vm = world.getVm(vmUuid);
      if (!vm) {
        jobs.fail(job, zsError('SYS.1006', `failed to detach guest tools iso from vm[uuid:${vmUuid}], because:unable to find vm[uuid:${vmUuid}]`));
        return;
      }
      if (faults.detachFails(vmUuid)) {
        jobs.fail(job, zsError('SYS.1006', `failed to detach guest tools iso from vm[uuid:${vmUuid}], because:internal error: unable to execute QEMU command 'device_del': Device vdz is busy`));
        return;
      }
      vm.tempDisk = false;
      vm.guestToolsIso = null; // ejected, or (Stopped) the occupant cleared: the next start boots with an empty drive
      world.touch();
      world.tags.remove(vmUuid, (t) => t === ATTACHED_TAG);
      jobs.succeed(job);
    });
  }

  /** MN restart: queued and running jobs are gone. */
  reset(): void {
    this.vmQueues.clear();
  }

  latest(vmUuid: string): SimReply {
    const { world } = this.d;
    const vm = world.getVm(vmUuid);
    if (!vm) return errorReply(vmNotFound(vmUuid));
    const err = (why: string): SimReply =>
      errorReply(zsError('SYS.1007', `cannot get latest guest-tools for vm[uuid:${vmUuid}] because ${why}`));
    if (vm.hypervisorType !== 'KVM') return err("it's hypervisor type is not supported");
    if (vm.state !== 'Running' && vm.state !== 'VolumeRecovering') return err("it's not running or volume recovering.");
    if (vm.type !== 'UserVm') return err("it's not user vm");
    const iso = isoFor(world, vm);
    if (!iso) return json(200, { success: true });
    const guest = this.d.opts.stateTable ? world.guest(vmUuid) : undefined;
    const current = guest && guest.qgaState !== 'NotInstalled'
      ? guest.version
      : (world.vmTags(vmUuid).find((t) => t.startsWith(VERSION_TAG))?.slice(VERSION_TAG.length) ?? null);
    if (iso.version === current) return json(200, { success: true });
    return json(200, {
      inventory: {
        uuid: iso.uuid, managementNodeUuid: iso.managementNodeUuid, architecture: iso.architecture,
        hypervisorType: iso.hypervisorType, version: iso.version, agentType: iso.agentType,
        createDate: zsDate(iso.createdAt), lastOpDate: zsDate(iso.createdAt),
      },
      success: true,
    });
  }

  info(vmUuid: string): SimReply {
    const { world } = this.d;
    const vm = world.getVm(vmUuid);
    if (!vm) return errorReply(vmNotFound(vmUuid));
    const err = (why: string): SimReply =>
      errorReply(zsError('SYS.1007', `cannot get guest-tools info from vm[uuid:${vmUuid}] because ${why}`));
    if (vm.state !== 'Running' && vm.state !== 'VolumeRecovering') return err("it's not running");
    if (vm.type !== 'UserVm') return err("it's not user vm");
    if (vm.hypervisorType !== 'KVM') return json(200, { status: 'Not Supported', success: true });
    // The Linux backend answers from the tag a failed installer wrote, before asking the guest.
    if (agentTypeForPlatform(vm.platform) === 'LinuxOnKvm' && world.versionTag(vmUuid) === 'InstallFailed') {
      return json(200, { version: 'InstallFailed', status: 'NotRunning', features: {}, success: true });
    }
    const guest = world.guest(vmUuid);
    if (!guest || vm.qga === false || vm.agentRestarting) return json(200, { status: 'Not Connected', features: {}, success: true });
    const status = guest.qgaState === 'NotRunning' || guest.qgaState === 'NotInstalled' ? 'NotRunning' : 'Running';
    const version = vm.installed !== undefined ? vm.installed : guest.qgaState === 'NotInstalled' ? null : guest.version;
    // Side effect of the real API: a returned version rewrites the VM's tag.
    if (version) world.tags.recreate(vmUuid, VM_TYPE, VERSION_TAG, `${VERSION_TAG}${version}`);
    return json(200, version ? { version, status, features: {}, success: true } : { status, features: {}, success: true });
  }
}
