// A realistic, deterministic fleet: platforms, architectures, states, appliance and non-KVM VMs,
// VMs without CD-ROM, GuestTools tags that are current, outdated, newer, unparseable or missing, and
// optionally UI tags (tag patterns) on a share of the VMs.
import { parseVersion, compareVersions } from '../tools-version.js';
import { derivedUuid, hashUnit, mulberry32, rngUuid, type Rng } from './rng.js';
import type { FleetOptions, SimVm } from './types.js';

const VMS_PER_HOST = 20;
const HOSTS_PER_CLUSTER = 16;
const MAX_ZONES = 3;

function pickWeighted<T>(rng: Rng, table: readonly (readonly [T, number])[]): T {
  const r = rng();
  let acc = 0;
  for (const [value, weight] of table) {
    acc += weight;
    if (r < acc) return value;
  }
  return table[table.length - 1]![0];
}

const PLATFORMS = [['Linux', 0.65], ['Windows', 0.25], ['WindowsVirtio', 0.05], ['Other', 0.025], ['Paravirtualization', 0.025]] as const;
const ARCHES = [['x86_64', 0.85], ['aarch64', 0.12], ['mips64el', 0.015], ['loongarch64', 0.015]] as const;
const STATES = [['Running', 0.85], ['Stopped', 0.1], ['Paused', 0.02], ['Starting', 0.01], ['Unknown', 0.01], ['Stopping', 0.01]] as const;
/** Share of VMs with a CD-ROM whose CD-ROM 0 holds a user's image-store ISO (an OS install in progress). */
const USER_ISO_SHARE = 0.02;

const NAME_PREFIX: Record<string, string> = { Linux: 'lnx', Windows: 'win', WindowsVirtio: 'winv', Other: 'oth', Paravirtualization: 'pv' };

/** Versions older than `current`, for outdated tags (falls back to a fixed list for odd versions). */
function olderVersions(current: string): string[] {
  const cur = parseVersion(current);
  const candidates = ['1.0.0', '1.1.3', '1.1.0', '0.9.8'];
  if (cur) {
    const [major = 1, minor = 0, patch = 0] = cur.segments;
    if (patch > 0) candidates.unshift(`${major}.${minor}.${patch - 1}`);
    if (minor > 0) candidates.unshift(`${major}.${minor - 1}.3`);
    if (major > 0) candidates.push(`${major - 1}.9.0`);
  }
  const older = cur ? candidates.filter((c) => {
    const v = parseVersion(c);
    return v !== null && compareVersions(v, cur) < 0;
  }) : candidates;
  return older.length > 0 ? [...new Set(older)] : ['0.0.1'];
}

function newerVersion(current: string): string {
  const cur = parseVersion(current);
  if (!cur) return '99.0.0';
  const [major = 1, minor = 0] = cur.segments;
  return `${major}.${minor + 1}.0`;
}

export function generateFleet(opts: FleetOptions): SimVm[] {
  const rng = mulberry32(opts.seed ?? 1);
  const isoVersion = opts.isoVersion ?? '1.2.0';
  const outdatedShare = opts.outdatedShare ?? 0.2;
  const older = olderVersions(isoVersion);
  const newer = newerVersion(isoVersion);

  const hostCount = Math.max(1, Math.ceil(opts.vms / VMS_PER_HOST));
  const clusterCount = Math.max(1, Math.ceil(hostCount / HOSTS_PER_CLUSTER));
  const zoneCount = Math.min(MAX_ZONES, clusterCount);
  const zones = Array.from({ length: zoneCount }, () => rngUuid(rng));
  const clusters = Array.from({ length: clusterCount }, (_, i) => ({ uuid: rngUuid(rng), zone: zones[i % zoneCount]! }));
  const hosts = Array.from({ length: hostCount }, (_, i) => ({ uuid: rngUuid(rng), cluster: clusters[Math.floor(i / HOSTS_PER_CLUSTER)]! }));

  const vms: SimVm[] = [];
  for (let i = 0; i < opts.vms; i++) {
    const uuid = rngUuid(rng);
    const host = hosts[Math.floor(rng() * hostCount)]!;
    const appliance = rng() < 0.03;
    const platform = appliance ? 'Linux' : pickWeighted(rng, PLATFORMS);
    const architecture = pickWeighted(rng, ARCHES);
    const state = pickWeighted(rng, STATES);
    const hypervisorType = rng() < 0.02 ? 'ESX' : 'KVM';
    const cdRoms = rng() < 0.05 ? 0 : rng() < 0.9 ? 1 : 2;

    let tag: string | null;
    const t = rng();
    if (t < outdatedShare) tag = older[Math.floor(rng() * older.length)]!;
    else {
      const u = rng();
      if (u < 0.05) tag = null;
      else if (u < 0.06) tag = rng() < 0.5 ? 'abc' : '';
      else if (u < 0.07) tag = newer;
      else tag = isoVersion;
    }
    const tags = tag === null ? [] : [`GuestTools::${tag}`];
    const parseable = tag !== null && parseVersion(tag) !== null;
    const guest = parseable && rng() < 0.5 ? { qgaState: 'Running' as const, version: tag } : null;

    vms.push({
      uuid, name: `${appliance ? 'vr' : NAME_PREFIX[platform] ?? 'vm'}-${String(i + 1).padStart(6, '0')}`,
      state, platform, architecture, hypervisorType, type: appliance ? 'ApplianceVm' : 'UserVm',
      zoneUuid: host.cluster.zone, clusterUuid: host.cluster.uuid, hostUuid: state === 'Stopped' ? null : host.uuid,
      cdRoms, tags, guest,
      // Decided by the uuid, not the fleet's random stream: the rest of the fleet stays as it was.
      cdRomIsoUuid: cdRoms > 0 && hashUnit(uuid, 0x150) < USER_ISO_SHARE ? derivedUuid(`user-iso:${uuid}`) : null,
    });
  }
  addUiTags(vms, opts);
  return vms;
}

/** UI tags by share, from a random stream of their own: a fleet without them stays as it always was. */
function addUiTags(vms: SimVm[], opts: FleetOptions): void {
  const shares = Object.entries(opts.uiTags ?? {});
  if (shares.length === 0) return;
  const rng = mulberry32((opts.seed ?? 1) ^ 0x7a95);
  for (const vm of vms) {
    const names = shares.filter(([, share]) => rng() < share).map(([name]) => name);
    if (names.length > 0) vm.userTags = names;
  }
}
