// The queryable tables (VmInstance, VmCdRom, SystemTag, TagPattern, UserTag, GuestToolsState): their fields for `q`,
// `sort` and `fields`, and their inventories as the MN serialises them (null fields omitted).
import type { FieldSpec, Resource } from './query.js';
import { derivedUuid } from './rng.js';
import type { TagRow } from './tag-store.js';
import type { TagPatternRow, UserTagRow } from './user-tags.js';
import { dropNulls, zsDate } from './wire.js';
import type { GuestRow, VmRow, World } from './world.js';

const PKG = 'org.zstack.header';
const CDROM_CLASS = `${PKG}.vm.cdrom.VmCdRomInventory`;

interface CdRomRow {
  vm: VmRow;
  deviceId: number;
  /** cdRomUuid(vm.uuid, deviceId), computed once per row: the key every CD-ROM query sorts on. */
  uuid: string;
}

const str = <T>(get: (r: T) => string | null): FieldSpec<T> => ({ kind: 'string', get });
const num = <T>(get: (r: T) => number | null): FieldSpec<T> => ({ kind: 'number', get });
const date = <T>(get: (r: T) => number): FieldSpec<T> => ({ kind: 'date', get });
const list = <T>(get: (r: T) => (string | number)[]): FieldSpec<T> => ({ kind: 'string', get, list: true });

export const cdRomUuid = (vmUuid: string, deviceId: number): string => derivedUuid(`cdrom:${vmUuid}:${deviceId}`);

const one = <T>(row: T | undefined): T[] => (row === undefined ? [] : [row]);
const isWindows = (vm: VmRow): boolean => vm.platform === 'Windows' || vm.platform === 'WindowsVirtio';
const memory = (vm: VmRow): number => (isWindows(vm) ? 8 : 4) * 1024 ** 3;
const cpus = (vm: VmRow): number => (isWindows(vm) ? 4 : 2);
const guestOsType = (vm: VmRow): string => (isWindows(vm) ? 'Windows 10' : vm.platform === 'Linux' ? 'CentOS 7' : 'Other');
const ip = (vm: VmRow): string => {
  const h = parseInt(vm.uuid.slice(0, 6), 16);
  return `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${(h & 253) + 1}`;
};

interface DerivedIds {
  offering: string;
  root: string;
  l3: string;
  nic: string;
  mac: string;
}

// Stable ids of a VM's related resources, computed once per VM (inventories are built per page).
const idCache = new WeakMap<VmRow, DerivedIds>();
function idsOf(vm: VmRow): DerivedIds {
  let ids = idCache.get(vm);
  if (!ids) {
    ids = {
      offering: derivedUuid(`offering:${vm.platform}`), root: derivedUuid(`root:${vm.uuid}`), l3: derivedUuid(`l3:${vm.zoneUuid}`),
      nic: derivedUuid(`nic:${vm.uuid}`), mac: `fa:${(vm.uuid.slice(0, 10).match(/../g) ?? ['00']).join(':')}`,
    };
    idCache.set(vm, ids);
  }
  return ids;
}

function cdRomInventory(vm: VmRow, deviceId: number): Record<string, unknown> {
  return {
    uuid: cdRomUuid(vm.uuid, deviceId), vmInstanceUuid: vm.uuid, deviceId, ...cdRomIso(vm, deviceId), name: `vm-${vm.uuid.slice(0, 8)}-cdRom-${deviceId}`,
    protocol: 'sata', createDate: zsDate(vm.createdAt), lastOpDate: zsDate(vm.createdAt),
  };
}

/** The image-store ISO a CD-ROM holds (only CD-ROM 0 is modelled), as the inventory's isoUuid/isoInstallPath. */
function cdRomIso(vm: VmRow, deviceId: number): { isoUuid?: string; isoInstallPath?: string } {
  const uuid = deviceId === 0 ? vm.cdRomIsoUuid : null;
  return uuid ? { isoUuid: uuid, isoInstallPath: `sftp://image-store/iso/${uuid}.iso` } : {};
}

export function vmResource(world: World): Resource<VmRow> {
  const cdIds = (vm: VmRow): number[] => Array.from({ length: vm.cdRoms }, (_, i) => i);
  const fields: Record<string, FieldSpec<VmRow>> = {
    uuid: str((v) => v.uuid), name: str((v) => v.name), description: str(() => null),
    zoneUuid: str((v) => v.zoneUuid), clusterUuid: str((v) => v.clusterUuid), imageUuid: str((v) => v.imageUuid),
    hostUuid: str((v) => v.hostUuid), lastHostUuid: str((v) => v.lastHostUuid),
    instanceOfferingUuid: str((v) => idsOf(v).offering), rootVolumeUuid: str((v) => idsOf(v).root),
    defaultL3NetworkUuid: str((v) => idsOf(v).l3),
    platform: str((v) => v.platform), architecture: str((v) => v.architecture), type: str((v) => v.type),
    hypervisorType: str((v) => v.hypervisorType), state: str((v) => v.state), guestOsType: str(guestOsType),
    memorySize: num(memory), reservedMemorySize: num(() => 0), cpuNum: num(cpus), cpuSpeed: num(() => 0),
    allocatorStrategy: str(() => 'LastHostPreferredAllocatorStrategy'),
    createDate: date((v) => v.createdAt), lastOpDate: date((v) => v.lastOpAt),
    'vmCdRoms.uuid': list((v) => cdIds(v).map((d) => cdRomUuid(v.uuid, d))),
    'vmCdRoms.deviceId': { kind: 'number', list: true, get: cdIds },
    'vmNics.ip': list((v) => [ip(v)]),
    'vmNics.l3NetworkUuid': list((v) => [idsOf(v).l3]),
    __systemTag__: list((v) => world.vmTags(v.uuid)),
    // UI tags the session's account can see: their text, and their pattern's uuid.
    __userTag__: list((v) => world.userTags.of(v.uuid).map((t) => t.tag)),
    __tagUuid__: list((v) => world.userTags.of(v.uuid).flatMap((t) => (t.tagPatternUuid === null ? [] : [t.tagPatternUuid]))),
  };
  return {
    name: 'vm', className: `${PKG}.vm.VmInstanceInventory`, fields, rows: () => world.vmList(),
    index: { uuid: (u) => one(world.getVm(u)) },
    toInventory(vm) {
      const id = idsOf(vm);
      const created = zsDate(vm.createdAt);
      return dropNulls({
        uuid: vm.uuid, name: vm.name, zoneUuid: vm.zoneUuid, clusterUuid: vm.clusterUuid, imageUuid: vm.imageUuid,
        hostUuid: vm.hostUuid, lastHostUuid: vm.lastHostUuid, instanceOfferingUuid: id.offering, rootVolumeUuid: id.root,
        defaultL3NetworkUuid: id.l3, platform: vm.platform, architecture: vm.architecture, type: vm.type,
        hypervisorType: vm.hypervisorType, state: vm.state, guestOsType: guestOsType(vm), memorySize: memory(vm),
        reservedMemorySize: 0, cpuNum: cpus(vm), cpuSpeed: 0, allocatorStrategy: 'LastHostPreferredAllocatorStrategy',
        createDate: created, lastOpDate: vm.lastOpAt === vm.createdAt ? created : zsDate(vm.lastOpAt),
        vmNics: [{ uuid: id.nic, vmInstanceUuid: vm.uuid, l3NetworkUuid: id.l3, ip: ip(vm), mac: id.mac, deviceId: 0 }],
        allVolumes: [{ uuid: id.root, vmInstanceUuid: vm.uuid, type: 'Root', format: 'qcow2', deviceId: 0, size: 42949672960 }],
        vmCdRoms: cdIds(vm).map((d) => cdRomInventory(vm, d)),
      });
    },
    childSchema(inv) {
      const out: Record<string, string> = {};
      const cds = Array.isArray(inv.vmCdRoms) ? inv.vmCdRoms : [];
      cds.forEach((_, j) => (out[`vmCdRoms[${j}]`] = CDROM_CLASS));
      out['vmNics[0]'] = `${PKG}.vm.VmNicInventory`;
      out['allVolumes[0]'] = `${PKG}.volume.VolumeInventory`;
      return out;
    },
  };
}

const cdRomRow = (vm: VmRow, deviceId: number): CdRomRow => ({ vm, deviceId, uuid: cdRomUuid(vm.uuid, deviceId) });

export function cdRomResource(world: World): Resource<CdRomRow> {
  let cache: { version: number; rows: CdRomRow[] } | null = null;
  return {
    name: 'cdrom', className: CDROM_CLASS,
    fields: {
      uuid: str((r) => r.uuid), vmInstanceUuid: str((r) => r.vm.uuid),
      deviceId: num((r) => r.deviceId), isoUuid: str((r) => cdRomIso(r.vm, r.deviceId).isoUuid ?? null),
      isoInstallPath: str((r) => cdRomIso(r.vm, r.deviceId).isoInstallPath ?? null),
      name: str((r) => `vm-${r.vm.uuid.slice(0, 8)}-cdRom-${r.deviceId}`), description: str(() => null),
      protocol: str(() => 'sata'), createDate: date((r) => r.vm.createdAt), lastOpDate: date((r) => r.vm.createdAt),
    },
    rows() {
      if (cache?.version !== world.version) {
        const rows: CdRomRow[] = [];
        for (const vm of world.vmList()) for (let d = 0; d < vm.cdRoms; d++) rows.push(cdRomRow(vm, d));
        cache = { version: world.version, rows };
      }
      return cache.rows;
    },
    index: {
      vmInstanceUuid: (u) => {
        const vm = world.getVm(u);
        return vm ? Array.from({ length: vm.cdRoms }, (_, deviceId) => cdRomRow(vm, deviceId)) : [];
      },
    },
    toInventory: (r) => cdRomInventory(r.vm, r.deviceId),
  };
}

export function tagResource(world: World): Resource<TagRow> {
  return {
    name: 'tag', className: `${PKG}.tag.SystemTagInventory`,
    fields: {
      uuid: str((t) => t.uuid), resourceUuid: str((t) => t.resourceUuid), resourceType: str((t) => t.resourceType),
      tag: str((t) => t.tag), type: str((t) => t.type), inherent: { kind: 'boolean', get: (t) => t.inherent },
      createDate: date((t) => t.createdAt), lastOpDate: date((t) => t.createdAt),
    },
    rows: () => world.tags.list(),
    index: { uuid: (u) => one(world.tags.get(u)), resourceUuid: (u) => world.tags.of(u) },
    toInventory: (t) => ({
      uuid: t.uuid, resourceUuid: t.resourceUuid, resourceType: t.resourceType, tag: t.tag, type: t.type,
      inherent: t.inherent, createDate: zsDate(t.createdAt), lastOpDate: zsDate(t.createdAt),
    }),
  };
}

export function tagPatternResource(world: World): Resource<TagPatternRow> {
  return {
    name: 'tag-pattern', className: `${PKG}.tag.TagPatternInventory`,
    fields: {
      uuid: str((p) => p.uuid), name: str((p) => p.name), value: str((p) => p.value), description: str((p) => p.description),
      color: str((p) => p.color), type: str((p) => p.type), createDate: date((p) => p.createdAt), lastOpDate: date((p) => p.createdAt),
    },
    rows: () => world.userTags.patternList(),
    index: { uuid: (u) => one(world.userTags.getPattern(u)) },
    toInventory: (p) => dropNulls({
      uuid: p.uuid, name: p.name, value: p.value, description: p.description, color: p.color, type: p.type,
      createDate: zsDate(p.createdAt), lastOpDate: zsDate(p.createdAt),
    }),
  };
}

export function userTagResource(world: World): Resource<UserTagRow> {
  return {
    name: 'user-tag', className: `${PKG}.tag.UserTagInventory`,
    fields: {
      uuid: str((t) => t.uuid), resourceUuid: str((t) => t.resourceUuid), resourceType: str((t) => t.resourceType),
      tag: str((t) => t.tag), type: str(() => 'User'), tagPatternUuid: str((t) => t.tagPatternUuid),
      createDate: date((t) => t.createdAt), lastOpDate: date((t) => t.createdAt),
    },
    rows: () => world.userTags.list(),
    index: { uuid: (u) => one(world.userTags.get(u)), resourceUuid: (u) => world.userTags.of(u) },
    toInventory: (t) => dropNulls({
      uuid: t.uuid, resourceUuid: t.resourceUuid, resourceType: t.resourceType, tag: t.tag, type: 'User',
      tagPatternUuid: t.tagPatternUuid, createDate: zsDate(t.createdAt), lastOpDate: zsDate(t.createdAt),
    }),
  };
}

/** `stateField`: `qgaState` (4.6.21 on, with `zwatchState`) or `state` (4.6.11-4.6.20, no `zwatchState`). */
export function guestStateResource(world: World, stateField: 'qgaState' | 'state' = 'qgaState'): Resource<GuestRow> {
  const newer = stateField === 'qgaState';
  const fields: Record<string, FieldSpec<GuestRow>> = {
    vmInstanceUuid: str((g) => g.vmInstanceUuid), [stateField]: str((g) => g.qgaState),
    version: str((g) => g.version), platform: str((g) => g.platform), osType: str((g) => g.osType),
    createDate: date((g) => g.createdAt), lastOpDate: date((g) => g.lastOpAt),
  };
  if (newer) fields.zwatchState = str((g) => g.zwatchState);
  return {
    name: `guest-${stateField}`, className: 'org.zstack.guesttools.GuestToolsStateInventory', fields,
    rows: () => world.guestList(),
    index: { vmInstanceUuid: (u) => one(world.guest(u)) },
    toInventory: (g) => dropNulls({
      vmInstanceUuid: g.vmInstanceUuid, [stateField]: g.qgaState, zwatchState: newer ? g.zwatchState : null, version: g.version,
      platform: g.platform, osType: g.osType, createDate: zsDate(g.createdAt), lastOpDate: zsDate(g.lastOpAt),
    }),
  };
}
