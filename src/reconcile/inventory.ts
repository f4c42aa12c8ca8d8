// Inventory: every VM with its facts, CD-ROMs, GuestTools:: tags, guest reports and the tags selectors
// name (selector-tags.ts), read with paged queries only, so the number of API calls grows with pages,
// never with VMs.
import type { VmFacts } from '../domain.js';
import type { RunWarning } from '../ledger/index.js';
import { GUEST_TOOLS_STATE_ABSENT, type GuestToolsStateSupport, type QueryResource } from '../zstack/client.js';
import { checkExcludeTags, readSelectorTags } from './selector-tags.js';
import { parseZStackDate } from '../zstack/zstack-date.js';
import { appendTo } from '../multimap.js';

export interface QueryPort {
  queryPages(resource: QueryResource, conditions: string[], opts?: { fields?: string[] }): AsyncIterable<Record<string, unknown>[]>;
  guestToolsStateSupport(): Promise<GuestToolsStateSupport>;
}

const VERSION_TAG_PREFIX = 'GuestTools::';
/** Written by the MN on the VM when an attach succeeds (zstack-api.md 4.1). */
export const ATTACHED_TAG = 'guestToolsHasAttached';
/** Tag values longer than this are not versions; kept short so garbage cannot bloat the ledger or output. */
const MAX_TAG_VALUE = 64;
/** uuids per batched `?=` condition: keeps URLs well under common proxy limits. */
const UUID_BATCH = 200;
/** Batched version reads in flight at once (verification of many attached VMs). */
const BATCHES_IN_FLIGHT = 4;

const VM_FIELDS = ['uuid', 'name', 'state', 'platform', 'architecture', 'hypervisorType', 'type', 'zoneUuid', 'clusterUuid', 'hostUuid'];

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Shared by every VM without tags (nearly all): one empty array instead of two per VM. Never mutated. */
const NONE: string[] = Object.freeze([]) as unknown as string[];

/** What the inventory had to do without, for the run's record (the log said it once already). */
export function mnWarnings(client: { guestToolsStateSeen(): GuestToolsStateSupport | null }): RunWarning[] {
  return client.guestToolsStateSeen() === 'absent' ? [{ code: 'guest-tools-state-absent', message: GUEST_TOOLS_STATE_ABSENT }] : [];
}

export function tagVersion(tag: string): string | null {
  if (!tag.startsWith(VERSION_TAG_PREFIX)) return null;
  const value = tag.slice(VERSION_TAG_PREFIX.length);
  return value.length > MAX_TAG_VALUE ? `${value.slice(0, MAX_TAG_VALUE)}...` : value;
}

export interface VersionReadings {
  tags: Map<string, string[]>;
  reported: Map<string, string>;
}

/** GuestTools:: tags of VMs (never hosts or images) and guest reports, for all VMs or the given ones. */
export async function readVersions(client: QueryPort, vmUuids?: readonly string[]): Promise<VersionReadings> {
  const readings: VersionReadings = { tags: new Map(), reported: new Map() };
  const batches = vmUuids ? chunk(vmUuids, UUID_BATCH) : [null];
  // Batches (and the two queries of each) are independent: a few in flight hide the API's latency.
  await inParallel(batches, BATCHES_IN_FLIGHT, (batch) => readBatch(client, batch, readings));
  return readings;
}

async function readBatch(client: QueryPort, batch: string[] | null, readings: VersionReadings): Promise<void> {
  const tags = async () => {
    const tagConditions = ['resourceType=VmInstanceVO', `tag~=${VERSION_TAG_PREFIX}%`];
    if (batch) tagConditions.push(`resourceUuid?=${batch.join(',')}`);
    await collectTags(client, tagConditions, readings.tags, tagVersion);
  };
  const states = async () => {
    // Older MNs name the state field `state` and refuse `qgaState` in a query: filter here instead.
    const field = await client.guestToolsStateSupport();
    if (field === 'absent' || field === 'empty') return;
    const stateConditions = batch ? [`vmInstanceUuid?=${batch.join(',')}`] : [];
    for await (const page of client.queryPages('guesttools', stateConditions, { fields: ['vmInstanceUuid', 'version', field] })) {
      for (const row of page) {
        const uuid = str(row.vmInstanceUuid);
        const version = str(row.version);
        if (uuid && version && row[field] !== 'NotInstalled') readings.reported.set(uuid, version.slice(0, MAX_TAG_VALUE));
      }
    }
  };
  await Promise.all([tags(), states()]);
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Pages through system tags matching `conditions`, adding `pick(tag)` (when not null) to its VM's list. */
async function collectTags(
  client: QueryPort,
  conditions: string[],
  byVm: Map<string, string[]>,
  pick: (tag: string) => string | null,
): Promise<void> {
  for await (const page of client.queryPages('system-tags', conditions, { fields: ['resourceUuid', 'tag'] })) {
    for (const row of page) {
      const uuid = str(row.resourceUuid);
      const value = pick(str(row.tag) ?? '');
      if (!uuid || value === null) continue;
      appendTo(byVm, uuid, value);
    }
  }
}

export interface InventoryOptions {
  /** Tag names selectors use (system tag text, UI tag name): VmFacts.tags gets those each VM carries. */
  selectorTags: readonly string[];
  /** policy.exclude.tags: each must exist (checkExcludeTags), else a config error (exit 2). */
  excludeTags?: readonly string[];
  vmUuids?: readonly string[];
}

export async function readInventory(client: QueryPort, opts: InventoryOptions): Promise<VmFacts[]> {
  // Five independent paged reads at once: the run waits for the longest, not for their sum.
  const [vms, cdRoms, versions, selectorTags, attachedAt] = await Promise.all([
    readVms(client, opts.vmUuids),
    readCdRoms(client, opts.vmUuids),
    readVersions(client, opts.vmUuids),
    readSelectorTags(client, opts.selectorTags),
    readAttachedTags(client, opts.vmUuids),
  ]);
  checkExcludeTags(opts.excludeTags ?? [], selectorTags.known);
  for (const vm of vms) {
    vm.hasCdRom = cdRoms.withCdRom.has(vm.uuid);
    vm.cdRomIsoUuid = cdRoms.userIso.get(vm.uuid) ?? null;
    vm.tagVersions = versions.tags.get(vm.uuid) ?? NONE;
    vm.reportedVersion = versions.reported.get(vm.uuid) ?? null;
    vm.tags = selectorTags.byVm.get(vm.uuid) ?? NONE;
    vm.attachedAt = attachedAt.get(vm.uuid) ?? null;
  }
  return vms;
}

/** When each VM's guestToolsHasAttached tag was created (the newest, should there be several). */
async function readAttachedTags(client: QueryPort, vmUuids: readonly string[] | undefined): Promise<Map<string, number>> {
  const conditions = ['resourceType=VmInstanceVO', `tag=${ATTACHED_TAG}`];
  if (vmUuids) conditions.push(`resourceUuid?=${vmUuids.join(',')}`);
  const createdAt = new Map<string, number>();
  for await (const page of client.queryPages('system-tags', conditions, { fields: ['resourceUuid', 'createDate'] })) {
    for (const row of page) {
      const uuid = str(row.resourceUuid);
      const at = parseZStackDate(row.createDate);
      if (uuid && at !== null && at > (createdAt.get(uuid) ?? -Infinity)) createdAt.set(uuid, at);
    }
  }
  return createdAt;
}

async function readVms(client: QueryPort, vmUuids: readonly string[] | undefined): Promise<VmFacts[]> {
  const vms: VmFacts[] = [];
  // Zone, cluster and host uuids repeat across VMs: one string each instead of one per VM.
  const intern = new Map<string, string>();
  const shared = (v: unknown): string | null => {
    const s = str(v);
    if (s === null) return null;
    const known = intern.get(s);
    if (known !== undefined) return known;
    intern.set(s, s);
    return s;
  };
  const uuidFilter = vmUuids ? [`uuid?=${vmUuids.join(',')}`] : [];
  // Offset paging can return a VM twice when VMs are created during the read: keep the first.
  const seen = new Set<string>();
  for await (const page of client.queryPages('vm-instances', uuidFilter, { fields: VM_FIELDS })) {
    for (const row of page) {
      const uuid = str(row.uuid);
      if (!uuid || seen.has(uuid)) continue;
      seen.add(uuid);
      vms.push({
        uuid,
        name: str(row.name) ?? '',
        state: str(row.state) ?? 'Unknown',
        platform: str(row.platform) ?? 'Other',
        // Never guessed: a VM without one is skip/unknown-architecture.
        architecture: str(row.architecture) || null,
        hypervisorType: str(row.hypervisorType) ?? '',
        type: str(row.type) ?? '',
        zoneUuid: shared(row.zoneUuid),
        clusterUuid: shared(row.clusterUuid),
        hostUuid: shared(row.hostUuid),
        hasCdRom: false,
        cdRomIsoUuid: null,
        tagVersions: NONE,
        reportedVersion: null,
        tags: NONE,
        attachedAt: null,
      });
    }
  }
  return vms;
}

/** VMs with a CD-ROM, and the image-store ISO (isoUuid) in CD-ROM 0 where there is one: the attach may eject it. */
async function readCdRoms(client: QueryPort, vmUuids: readonly string[] | undefined): Promise<{ withCdRom: Set<string>; userIso: Map<string, string> }> {
  const cdromConditions = vmUuids ? [`vmInstanceUuid?=${vmUuids.join(',')}`] : [];
  const withCdRom = new Set<string>();
  const userIso = new Map<string, string>();
  for await (const page of client.queryPages('vm-instances/cdroms', cdromConditions, { fields: ['vmInstanceUuid', 'deviceId', 'isoUuid'] })) {
    for (const row of page) {
      const uuid = str(row.vmInstanceUuid);
      if (!uuid) continue;
      withCdRom.add(uuid);
      const iso = str(row.isoUuid);
      if (iso && row.deviceId === 0) userIso.set(uuid, iso.slice(0, MAX_TAG_VALUE));
    }
  }
  return { withCdRom, userIso };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i++) {
    if (i % size === 0) out.push([]);
    out[out.length - 1].push(items[i]);
  }
  return out;
}
