// Inventory: every VM with its facts, CD-ROMs, GuestTools:: tags, guest reports and the tags selectors
// name (selector-tags.ts), read with paged queries only (paged by key: src/zstack/query.ts), so the
// number of API calls grows with pages, never with VMs. Reads of given VMs (`--vm`, the re-read of the
// attach set before apply, verify) go in batches of `?=` uuid lists: a constant number of calls per batch.
import type { VmFacts } from '../domain.js';
import type { RunWarning } from '../ledger/index.js';
import { GUEST_TOOLS_STATE_ABSENT, type GuestToolsStateSupport, type QueryPort } from '../zstack/client.js';
import { checkExcludeTags, readSelectorTags } from './selector-tags.js';
import { parseZStackDate } from '../zstack/zstack-date.js';
import { appendTo } from '../multimap.js';
import { chunk } from '../chunk.js';

export type { QueryPort };

const VERSION_TAG_PREFIX = 'GuestTools::';
/** Written by the MN on the VM when an attach succeeds (zstack-api.md 4.1). */
const ATTACHED_TAG = 'guestToolsHasAttached';
/** The value of `GuestTools::` the guest's installer reports when it failed (zstack-api.md 11.0). */
export const INSTALL_FAILED = 'InstallFailed';
const INSTALL_FAILED_TAG = `${VERSION_TAG_PREFIX}${INSTALL_FAILED}`;
/** Tag values longer than this are not versions; kept short so garbage cannot bloat the ledger or output. */
const MAX_TAG_VALUE = 64;
/** uuids per batched `?=` condition: keeps URLs well under the MN's and common proxies' header limits. */
const UUID_BATCH = 200;
/** Batches read at once (verification or the re-read of many VMs). */
const BATCHES_IN_FLIGHT = 4;

const VM_FIELDS = ['uuid', 'name', 'state', 'platform', 'architecture', 'hypervisorType', 'type', 'zoneUuid', 'clusterUuid', 'hostUuid'];

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Shared by every VM without tags (nearly all): one empty array instead of two per VM. Never mutated. */
const NONE: string[] = Object.freeze([]) as unknown as string[];

/** What the inventory had to do without, for the run's record (the log said it once already). */
export function mnWarnings(client: { guestToolsStateSeen(): GuestToolsStateSupport | null }): RunWarning[] {
  return client.guestToolsStateSeen() === 'absent' ? [{ code: 'guest-tools-state-absent', message: GUEST_TOOLS_STATE_ABSENT }] : [];
}

function tagVersion(tag: string): string | null {
  if (!tag.startsWith(VERSION_TAG_PREFIX)) return null;
  const value = tag.slice(VERSION_TAG_PREFIX.length);
  return value.length > MAX_TAG_VALUE ? `${value.slice(0, MAX_TAG_VALUE)}...` : value;
}

interface VersionReadings {
  tags: Map<string, string[]>;
  reported: Map<string, string>;
  /** VMs whose guest agent runs (QueryGuestToolsState `qgaState` Running), with or without a version yet. */
  agentRunning: Set<string>;
}

/** What the inventory reads per VM besides its row; what the re-read before apply reads again (recheck.ts). */
interface VmDetails extends VersionReadings {
  withCdRom: Set<string>;
  /** VM uuid -> the image-store ISO in its CD-ROM 0. */
  userIso: Map<string, string>;
  /** VM uuid -> when its guestToolsHasAttached tag was created (the newest, should there be several). */
  attachedAt: Map<string, number>;
  /** VM uuid -> when its guest's installer last reported `GuestTools::InstallFailed` (the tag's createDate). */
  installFailedAt: Map<string, number>;
}

/** The conditions that keep a query to one batch of VMs (by the query's VM uuid field); none for the whole fleet. */
type Scope = (vmUuidField: string) => string[];

/**
 * Runs `work` once for the whole fleet (no `vmUuids`), else once per batch of UUID_BATCH uuids, a few
 * batches in flight (they are independent: a few at once hide the API's latency). Each query of a batch
 * is one paged query, so a batch costs a constant number of requests, whatever the fleet's size.
 */
async function forEachBatch(vmUuids: readonly string[] | undefined, work: (scope: Scope) => Promise<unknown>): Promise<void> {
  if (!vmUuids) {
    await work(() => []);
    return;
  }
  await inParallel(chunk(vmUuids, UUID_BATCH), BATCHES_IN_FLIGHT, async (batch) => {
    const list = batch.join(',');
    await work((field) => [`${field}?=${list}`]);
  });
}

/** GuestTools:: tags of VMs (never hosts or images) and guest reports, for all VMs or the given ones (verify). */
export async function readVersions(client: QueryPort, vmUuids?: readonly string[]): Promise<VersionReadings> {
  const readings: VersionReadings = { tags: new Map(), reported: new Map(), agentRunning: new Set() };
  await forEachBatch(vmUuids, (scope) => Promise.all([readVersionTags(client, scope, readings.tags), readReports(client, scope, readings)]));
  return readings;
}

/** CD-ROMs, GuestTools:: tags, guest reports, guestToolsHasAttached and InstallFailed tags, for all VMs or the given ones. */
export async function readVmDetails(client: QueryPort, vmUuids?: readonly string[]): Promise<VmDetails> {
  const d: VmDetails = {
    withCdRom: new Set(), userIso: new Map(), tags: new Map(), reported: new Map(), agentRunning: new Set(), attachedAt: new Map(), installFailedAt: new Map(),
  };
  await forEachBatch(vmUuids, (scope) => Promise.all([
    readCdRoms(client, scope, d),
    readVersionTags(client, scope, d.tags),
    readReports(client, scope, d),
    readDatedTags(client, scope, new Map([[ATTACHED_TAG, d.attachedAt], [INSTALL_FAILED_TAG, d.installFailedAt]])),
  ]));
  return d;
}

/** When the guests' installers last reported `GuestTools::InstallFailed`, for the given VMs (install evidence). */
export async function readInstallFailedAt(client: QueryPort, vmUuids: readonly string[]): Promise<Map<string, number>> {
  const at = new Map<string, number>();
  await forEachBatch(vmUuids, (scope) => readDatedTags(client, scope, new Map([[INSTALL_FAILED_TAG, at]])));
  return at;
}

/** Sets the facts `d` holds on `vm`; a VM the reads did not see has no CD-ROM, tag, report or attach tag. */
export function applyDetails(vm: VmFacts, d: VmDetails): VmFacts {
  vm.hasCdRom = d.withCdRom.has(vm.uuid);
  vm.cdRomIsoUuid = d.userIso.get(vm.uuid) ?? null;
  vm.tagVersions = d.tags.get(vm.uuid) ?? NONE;
  vm.reportedVersion = d.reported.get(vm.uuid) ?? null;
  vm.agentRunning = d.agentRunning.has(vm.uuid);
  vm.attachedAt = d.attachedAt.get(vm.uuid) ?? null;
  vm.installFailedAt = d.installFailedAt.get(vm.uuid) ?? null;
  return vm;
}

function readVersionTags(client: QueryPort, scope: Scope, byVm: Map<string, string[]>): Promise<void> {
  const conditions = ['resourceType=VmInstanceVO', `tag~=${VERSION_TAG_PREFIX}%`, ...scope('resourceUuid')];
  return collectTags(client, conditions, byVm, tagVersion);
}

/** Guest reports: the version where there is one (state other than NotInstalled), and whether the agent runs. */
async function readReports(client: QueryPort, scope: Scope, into: Pick<VersionReadings, 'reported' | 'agentRunning'>): Promise<void> {
  // Older MNs name the state field `state` and refuse `qgaState` in a query: filter here instead.
  const field = await client.guestToolsStateSupport();
  if (field === 'absent' || field === 'empty') return;
  for await (const page of client.queryPages('guesttools', scope('vmInstanceUuid'), { fields: ['vmInstanceUuid', 'version', field] })) {
    for (const row of page) {
      const uuid = str(row.vmInstanceUuid);
      const version = str(row.version);
      if (!uuid) continue;
      if (version && row[field] !== 'NotInstalled') into.reported.set(uuid, version.slice(0, MAX_TAG_VALUE));
      // An agent that runs but has not reported a version yet is still an agent.
      if (row[field] === 'Running') into.agentRunning.add(uuid);
    }
  }
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

interface InventoryOptions {
  /** Tag names selectors use (system tag text, UI tag name): VmFacts.tags gets those each VM carries. */
  selectorTags: readonly string[];
  /** policy.exclude.tags: each must exist (checkExcludeTags), else a config error (exit 2). */
  excludeTags?: readonly string[];
  vmUuids?: readonly string[];
}

export async function readInventory(client: QueryPort, opts: InventoryOptions): Promise<VmFacts[]> {
  // The VM rows, the four queries of the details and the selector tags at once: the run waits for the
  // longest, not for their sum.
  const [vms, details, selectorTags] = await Promise.all([
    readVms(client, opts.vmUuids),
    readVmDetails(client, opts.vmUuids),
    readSelectorTags(client, opts.selectorTags),
  ]);
  checkExcludeTags(opts.excludeTags ?? [], selectorTags.known);
  for (const vm of vms) {
    applyDetails(vm, details);
    vm.tags = selectorTags.byVm.get(vm.uuid) ?? NONE;
  }
  return vms;
}

/** For each tag of `byTag` (one query for all of them): VM uuid -> the createDate of the VM's newest such tag. */
async function readDatedTags(client: QueryPort, scope: Scope, byTag: ReadonlyMap<string, Map<string, number>>): Promise<void> {
  const conditions = ['resourceType=VmInstanceVO', `tag?=${[...byTag.keys()].join(',')}`, ...scope('resourceUuid')];
  for await (const page of client.queryPages('system-tags', conditions, { fields: ['resourceUuid', 'tag', 'createDate'] })) {
    for (const row of page) {
      const uuid = str(row.resourceUuid);
      const byVm = byTag.get(str(row.tag) ?? '');
      const at = parseZStackDate(row.createDate);
      if (uuid && byVm && at !== null && at > (byVm.get(uuid) ?? -Infinity)) byVm.set(uuid, at);
    }
  }
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
  // Paged by key, a VM comes once; `--vm` may still name one twice (and batches would each read it).
  const seen = new Set<string>();
  await forEachBatch(vmUuids, async (scope) => {
    for await (const page of client.queryPages('vm-instances', scope('uuid'), { fields: VM_FIELDS })) {
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
          agentRunning: false,
          tags: NONE,
          attachedAt: null,
          installFailedAt: null,
        });
      }
    }
  });
  return vms;
}

/** VMs with a CD-ROM, and the image-store ISO (isoUuid) in CD-ROM 0 where there is one: the attach may eject it. */
async function readCdRoms(client: QueryPort, scope: Scope, into: Pick<VmDetails, 'withCdRom' | 'userIso'>): Promise<void> {
  for await (const page of client.queryPages('vm-instances/cdroms', scope('vmInstanceUuid'), { fields: ['vmInstanceUuid', 'deviceId', 'isoUuid'] })) {
    for (const row of page) {
      const uuid = str(row.vmInstanceUuid);
      if (!uuid) continue;
      into.withCdRom.add(uuid);
      const iso = str(row.isoUuid);
      if (iso && row.deviceId === 0) into.userIso.set(uuid, iso.slice(0, MAX_TAG_VALUE));
    }
  }
}
