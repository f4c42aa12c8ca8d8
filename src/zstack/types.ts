// Names and reply shapes of the ZStack APIs the reconciler uses, with small type guards:
// replies are validated here instead of trusted, and a wrong shape becomes GTR_ZSTACK_BAD_REPLY.
import { GtrError, type ZStackErrorBody } from '../errors.js';
import { isPlainObject } from '../plain-object.js';

export const API_NAMES = [
  'LogInByAccount',
  'LogOut',
  'QueryVmInstance',
  'QueryVmCdRom',
  'QuerySystemTag',
  'QueryTag',
  'QueryUserTag',
  'QueryGuestToolsState',
  'AttachGuestToolsIsoToVm',
  'DetachGuestToolsIsoFromVm',
  'GetLatestGuestToolsForVm',
  'GetVmGuestToolsInfo',
  'UpdateGuestToolsState',
  'CreateGuestVmScript',
  'QueryGuestVmScript',
  'ExecuteGuestVmScript',
  'QueryGuestVmScriptExecutedRecord',
  'QueryGuestVmScriptExecutedRecordDetail',
  'QueryJob',
] as const;
export type ApiName = (typeof API_NAMES)[number];

export type QueryResource =
  | 'vm-instances' | 'vm-instances/cdroms' | 'system-tags' | 'tags' | 'user-tags' | 'guesttools'
  | 'scripts' | 'scripts/records' | 'scripts/records/details';

interface QueryResourceInfo {
  api: ApiName;
  /** The unique primitive key queries sort on and page by (`sort=+key`, then `q=key>LAST`: src/zstack/query.ts). */
  sortField: string;
}

export const QUERY_RESOURCES: Record<QueryResource, QueryResourceInfo> = {
  'vm-instances': { api: 'QueryVmInstance', sortField: 'uuid' },
  'vm-instances/cdroms': { api: 'QueryVmCdRom', sortField: 'uuid' },
  'system-tags': { api: 'QuerySystemTag', sortField: 'uuid' },
  // UI tags: tag patterns and the user tags that put them on resources (zstack-api.md 10.1).
  tags: { api: 'QueryTag', sortField: 'uuid' },
  'user-tags': { api: 'QueryUserTag', sortField: 'uuid' },
  // GuestToolsStateInventory has no `uuid`; its key is the VM uuid.
  guesttools: { api: 'QueryGuestToolsState', sortField: 'vmInstanceUuid' },
  // The script library (5.2.0+, zstack-install-api.md 1).
  scripts: { api: 'QueryGuestVmScript', sortField: 'uuid' },
  'scripts/records': { api: 'QueryGuestVmScriptExecutedRecord', sortField: 'uuid' },
  // Details have no uuid (their key is recordUuid + vmInstanceUuid): query them with `recordUuid=R`,
  // so the VM uuid is unique within the query and serves as its paging key.
  'scripts/records/details': { api: 'QueryGuestVmScriptExecutedRecordDetail', sortField: 'vmInstanceUuid' },
};

export interface GuestToolsInventory {
  uuid: string;
  version: string;
  agentType: string;
  architecture: string;
  hypervisorType: string;
}

export function badReply(api: ApiName, what: string): GtrError {
  return new GtrError('GTR_ZSTACK_BAD_REPLY', `${api}: unexpected reply from the management node: ${what}`, {
    details: { api },
  });
}

/** `{"error": {code, description, details}}` as sent with 503; null when the body is not one. */
export function zstackErrorOf(body: unknown): ZStackErrorBody | null {
  if (!isPlainObject(body) || !isPlainObject(body.error)) return null;
  const { code, description, details } = body.error;
  if (typeof code !== 'string' || code === '') return null;
  return {
    code,
    description: typeof description === 'string' ? description : '',
    details: typeof details === 'string' ? details : '',
  };
}

export function inventoriesOf(api: ApiName, body: Record<string, unknown>): Record<string, unknown>[] {
  const list = body.inventories;
  if (!Array.isArray(list)) return fail(api, '"inventories" is missing or not an array');
  list.forEach((item, i) => {
    if (!isPlainObject(item)) fail(api, `inventories[${i}] is not an object`);
  });
  return list as Record<string, unknown>[];
}

export function totalOf(api: ApiName, body: Record<string, unknown>): number {
  const total = body.total;
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0) {
    return fail(api, '"total" is missing or not a non-negative integer');
  }
  return total;
}

export function sessionUuidOf(body: Record<string, unknown>): string {
  const inv = body.inventory;
  // The message never echoes the value: it is the session id.
  if (!isPlainObject(inv) || typeof inv.uuid !== 'string' || inv.uuid === '') {
    return fail('LogInByAccount', '"inventory.uuid" (the session id) is missing');
  }
  return inv.uuid;
}

/** The job location of a 202, or null when the reply carries none (the caller falls back to its own job uuid). */
export function locationOf(body: Record<string, unknown>): string | null {
  return typeof body.location === 'string' && body.location !== '' ? body.location : null;
}

export function guestToolsInventoryOf(api: ApiName, body: Record<string, unknown>): GuestToolsInventory | null {
  const inv = body.inventory;
  if (inv === undefined || inv === null) return null;
  if (!isPlainObject(inv)) return fail(api, '"inventory" is not an object');
  const fields = ['uuid', 'version', 'agentType', 'architecture', 'hypervisorType'] as const;
  for (const f of fields) {
    if (typeof inv[f] !== 'string') return fail(api, `"inventory.${f}" is missing or not a string`);
  }
  return {
    uuid: inv.uuid as string,
    version: inv.version as string,
    agentType: inv.agentType as string,
    architecture: inv.architecture as string,
    hypervisorType: inv.hypervisorType as string,
  };
}

function fail(api: ApiName, what: string): never {
  throw badReply(api, what);
}
