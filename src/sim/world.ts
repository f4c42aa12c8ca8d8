// The management node's database: VMs, their CD-ROMs, system tags, guest-tools state rows and the
// GuestToolsVO table. Every mutation bumps `version`, which keys the query caches.
import { derivedUuid, mulberry32, rngUuid } from './rng.js';
import { TagStore } from './tag-store.js';
import type { QgaState, SimIso, SimUserTag, SimVm } from './types.js';
import { UserTagStore, type UserTagRow } from './user-tags.js';

export const VM_TYPE = 'VmInstanceVO';
export const VERSION_TAG = 'GuestTools::';

export interface VmRow {
  uuid: string;
  name: string;
  state: string;
  platform: string;
  architecture: string | null;
  hypervisorType: string;
  type: string;
  zoneUuid: string;
  clusterUuid: string;
  hostUuid: string | null;
  lastHostUuid: string | null;
  imageUuid: string;
  cdRoms: number;
  /** isoUuid of the image-store ISO in CD-ROM 0, else null. */
  cdRomIsoUuid: string | null;
  installs?: boolean;
  /** The guest model (src/sim/guest-os.ts): see SimVm. */
  qga?: boolean;
  installer?: SimVm['installer'];
  scriptStderr?: string;
  /** The GuestTools ISO in CD-ROM 0 (its occupant is GuestTools), put there by an attach; null when none. */
  guestToolsIso: { version: string; agentType: string } | null;
  /** The Windows temp disk `vdz` (and its qcow2 file on the host): only a detach removes it. */
  tempDisk: boolean;
  /** The installed tools version in the guest once an installer changed it; undefined: what the row or tag says. */
  installed?: string | null;
  /** The installer is restarting the guest agent. */
  agentRestarting: boolean;
  createdAt: number;
  lastOpAt: number;
}

export interface GuestRow {
  vmInstanceUuid: string;
  qgaState: QgaState;
  zwatchState: string;
  version: string | null;
  platform: string;
  osType: string;
  createdAt: number;
  lastOpAt: number;
}

export interface IsoRow {
  uuid: string;
  managementNodeUuid: string;
  architecture: string;
  hypervisorType: string;
  version: string;
  agentType: string;
  createdAt: number;
}

export const DEFAULT_ISOS: SimIso[] = [
  { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0' },
  { agentType: 'WindowsOnKvm', architecture: 'aarch64', version: '1.2.0' },
  { agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0' },
];

export class World {
  version = 0;
  readonly mnUuid: string;
  readonly tags: TagStore;
  readonly userTags: UserTagStore;
  private readonly vmMap = new Map<string, VmRow>();
  private readonly guestMap = new Map<string, GuestRow>();
  private readonly hosts = new Set<string>();
  private vmCache: VmRow[] | null = null;
  private guestCache: GuestRow[] | null = null;
  private isoRows: IsoRow[] = [];
  private readonly rng;

  constructor(seed: number, account = 'admin') {
    this.rng = mulberry32(seed ^ 0x5eed);
    this.mnUuid = rngUuid(this.rng);
    this.tags = new TagStore(this.rng, () => this.touch());
    // Its own random stream, so fleets without UI tags keep the uuids they always had.
    this.userTags = new UserTagStore(mulberry32(seed ^ 0x7a95), account, () => this.touch());
  }

  touch(): void {
    this.version++;
  }

  vmList(): VmRow[] {
    this.vmCache ??= Array.from(this.vmMap.values());
    return this.vmCache;
  }

  guestList(): GuestRow[] {
    this.guestCache ??= Array.from(this.guestMap.values());
    return this.guestCache;
  }

  getVm(uuid: string): VmRow | undefined {
    return this.vmMap.get(uuid);
  }

  guest(uuid: string): GuestRow | undefined {
    return this.guestMap.get(uuid);
  }

  vmTags(uuid: string): string[] {
    return this.tags.of(uuid).map((t) => t.tag);
  }

  addVm(vm: SimVm, at = Date.now()): void {
    if (this.vmMap.has(vm.uuid)) throw new Error(`simulator: VM ${vm.uuid} already exists`);
    const row: VmRow = {
      uuid: vm.uuid, name: vm.name, state: vm.state, platform: vm.platform, architecture: vm.architecture,
      hypervisorType: vm.hypervisorType, type: vm.type, zoneUuid: vm.zoneUuid, clusterUuid: vm.clusterUuid,
      hostUuid: vm.hostUuid, lastHostUuid: vm.hostUuid, imageUuid: derivedUuid(`image:${vm.platform}:${vm.architecture}`),
      cdRoms: vm.cdRoms, cdRomIsoUuid: vm.cdRoms > 0 ? (vm.cdRomIsoUuid ?? null) : null, installs: vm.installs,
      guestToolsIso: null, tempDisk: false, agentRestarting: false, createdAt: at, lastOpAt: at,
    };
    if (vm.qga !== undefined) row.qga = vm.qga;
    if (vm.installer !== undefined) row.installer = vm.installer;
    if (vm.scriptStderr !== undefined) row.scriptStderr = vm.scriptStderr;
    this.vmMap.set(vm.uuid, row);
    this.vmCache = null;
    for (const tag of vm.tags) this.tags.add(vm.uuid, VM_TYPE, tag, at);
    this.addUserTags(vm.uuid, vm.userTags ?? [], at);
    this.setGuest(vm.uuid, vm.guest, at);
    this.noticeResources(row);
    this.touch();
  }

  updateVm(uuid: string, patch: Partial<SimVm>): void {
    const row = this.vmMap.get(uuid);
    if (!row) throw new Error(`simulator: no VM ${uuid}`);
    const { tags, guest, userTags, uuid: _ignored, ...fields } = patch;
    Object.assign(row, fields);
    if (fields.hostUuid) row.lastHostUuid = fields.hostUuid;
    row.lastOpAt = Date.now();
    if (tags) {
      this.tags.remove(uuid, () => true);
      for (const tag of tags) this.tags.add(uuid, VM_TYPE, tag);
    }
    if (userTags) {
      this.userTags.detachAll(uuid);
      this.addUserTags(uuid, userTags);
    }
    if (guest !== undefined) this.setGuest(uuid, guest);
    this.noticeResources(row);
    this.touch();
  }

  /** DestroyVmInstance + expunge: the VM, its CD-ROMs, system tags, UI tags and guest-tools row go. */
  removeVm(uuid: string): void {
    if (!this.vmMap.delete(uuid)) throw new Error(`simulator: no VM ${uuid}`);
    this.vmCache = null;
    this.tags.remove(uuid, () => true);
    this.userTags.detachAll(uuid);
    this.setGuest(uuid, null);
    this.touch();
  }

  private addUserTags(uuid: string, specs: readonly (string | SimUserTag)[], at = Date.now()): void {
    for (const spec of specs) {
      const s: SimUserTag = typeof spec === 'string' ? { pattern: spec } : spec;
      if ('legacy' in s) this.userTags.attach(uuid, VM_TYPE, { legacy: s.legacy, owner: s.owner }, at);
      else this.userTags.attach(uuid, VM_TYPE, { pattern: this.userTags.pattern(s.pattern, { owner: s.owner, at }), tag: s.tag }, at);
    }
  }

  /** UI tags of a VM as specs (every owner's: the world's view, not an account's). */
  private userTagSpecs(uuid: string): SimUserTag[] {
    return this.userTags.ofAll(uuid).map((r: UserTagRow) => {
      const p = r.tagPatternUuid === null ? undefined : this.userTags.patternOf(r.tagPatternUuid);
      return p ? { pattern: p.name, tag: r.tag, owner: r.owner } : { legacy: r.tag, owner: r.owner };
    });
  }

  setGuest(uuid: string, guest: SimVm['guest'], at = Date.now()): void {
    const row = this.vmMap.get(uuid);
    if (!guest || !row) {
      this.guestMap.delete(uuid);
    } else {
      const old = this.guestMap.get(uuid);
      this.guestMap.set(uuid, {
        vmInstanceUuid: uuid, qgaState: guest.qgaState, zwatchState: guest.qgaState === 'NotInstalled' ? 'NotInstalled' : 'Running',
        version: guest.version, platform: row.platform === 'Windows' || row.platform === 'WindowsVirtio' ? 'Windows' : 'Linux',
        osType: row.platform === 'Windows' || row.platform === 'WindowsVirtio' ? 'Windows 10' : 'centos 7',
        createdAt: old?.createdAt ?? at, lastOpAt: at,
      });
    }
    this.guestCache = null;
    this.touch();
  }

  /** kvmagent ejects whatever CD-ROM 0 holds before it mounts the GuestTools ISO there (zstack-api.md 5.4). */
  ejectCdRom0(uuid: string): void {
    const row = this.vmMap.get(uuid);
    if (!row || row.cdRomIsoUuid === null) return;
    row.cdRomIsoUuid = null;
    this.touch();
  }

  /** The version tag's value, or null (the first `GuestTools::` tag). */
  versionTag(uuid: string): string | null {
    for (const t of this.tags.of(uuid)) if (t.tag.startsWith(VERSION_TAG)) return t.tag.slice(VERSION_TAG.length);
    return null;
  }

  /**
   * What the in-guest installer's report does (zstack-api.md 5.3): the MN recreates the version tag; the
   * state row follows (host ping) only for a guest that has one (QGA): a VM without stays tag-only.
   */
  guestReport(uuid: string, version: string): void {
    if (!this.vmMap.has(uuid)) throw new Error(`simulator: no VM ${uuid}`);
    if (this.guestMap.has(uuid)) this.setGuest(uuid, { qgaState: 'Running', version });
    this.tags.recreate(uuid, VM_TYPE, VERSION_TAG, `${VERSION_TAG}${version}`);
  }

  snapshot(uuid: string): SimVm | undefined {
    const r = this.vmMap.get(uuid);
    if (!r) return undefined;
    const g = this.guestMap.get(uuid);
    const vm: SimVm = {
      uuid: r.uuid, name: r.name, state: r.state, platform: r.platform, architecture: r.architecture,
      hypervisorType: r.hypervisorType, type: r.type, zoneUuid: r.zoneUuid, clusterUuid: r.clusterUuid,
      hostUuid: r.hostUuid, cdRoms: r.cdRoms, tags: this.vmTags(uuid),
      guest: g ? { qgaState: g.qgaState, version: g.version } : null,
    };
    if (r.installs !== undefined) vm.installs = r.installs;
    if (r.qga !== undefined) vm.qga = r.qga;
    if (r.installer !== undefined) vm.installer = r.installer;
    if (r.scriptStderr !== undefined) vm.scriptStderr = r.scriptStderr;
    const userTags = this.userTagSpecs(uuid);
    if (userTags.length > 0) vm.userTags = userTags;
    if (r.cdRomIsoUuid !== null) vm.cdRomIsoUuid = r.cdRomIsoUuid;
    return vm;
  }

  setIsos(isos: readonly SimIso[]): void {
    // MN restart: every row is new. Rows later in the list get a later createDate, so "newest" is stable.
    const base = Date.now();
    this.isoRows = isos.map((iso, i) => ({
      uuid: rngUuid(this.rng), managementNodeUuid: this.mnUuid, architecture: iso.architecture,
      hypervisorType: iso.hypervisorType ?? 'KVM', version: iso.version, agentType: iso.agentType, createdAt: base + i * 1000,
    }));
    this.touch();
  }

  /** GuestToolsVO where architecture in (arch, 'general') and hypervisorType and agentType, newest createDate. */
  newestIso(architecture: string | null, hypervisorType: string, agentType: string): IsoRow | undefined {
    let best: IsoRow | undefined;
    for (const row of this.isoRows) {
      if (row.agentType !== agentType || row.hypervisorType !== hypervisorType) continue;
      if (row.architecture !== architecture && row.architecture !== 'general') continue;
      if (!best || row.createdAt >= best.createdAt) best = row;
    }
    return best;
  }

  /** Hosts carry GuestTools::/GuestToolsLinux:: and images GuestTools:: too (so resourceType matters). */
  private noticeResources(row: VmRow): void {
    const host = row.hostUuid ?? row.lastHostUuid;
    if (host && !this.hosts.has(host)) {
      this.hosts.add(host);
      const win = this.newestIso(row.architecture, 'KVM', 'WindowsOnKvm')?.version ?? '1.0.0';
      const linux = this.newestIso(row.architecture, 'KVM', 'LinuxOnKvm')?.version ?? '1.0.0';
      this.tags.add(host, 'HostVO', `${VERSION_TAG}${win}`);
      this.tags.add(host, 'HostVO', `GuestToolsLinux::${linux}`);
    }
    if (this.tags.of(row.imageUuid).length === 0) this.tags.add(row.imageUuid, 'ImageVO', `${VERSION_TAG}1.0.0`);
  }

  /** After an ISO download to a host, the MN updates the host's tag. */
  markHostIso(hostUuid: string, agentType: string, version: string): void {
    const prefix = agentType === 'WindowsOnKvm' ? VERSION_TAG : 'GuestToolsLinux::';
    this.tags.recreate(hostUuid, 'HostVO', prefix, `${prefix}${version}`);
  }
}
