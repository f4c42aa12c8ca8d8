// URL -> API mapping of the REST server (paths after /zstack). Unknown paths get RestServer's 404 text.
import type { ApiName } from './types.js';

export type RouteKind =
  | 'login' | 'logout' | 'validate' | 'query-vm' | 'query-cdrom' | 'query-tag' | 'query-tag-pattern' | 'query-user-tag' | 'query-guest'
  | 'actions' | 'latest' | 'info' | 'job' | 'update-guest-state'
  | 'script-create' | 'script-actions' | 'query-script' | 'query-record' | 'query-detail';

/** The script library's routes: absent (404 `no api mapping`) on an MN without it. */
export const SCRIPT_KINDS: ReadonlySet<RouteKind> = new Set(['script-create', 'script-actions', 'query-script', 'query-record', 'query-detail']);

export interface Route {
  kind: RouteKind;
  /** Known up front; 'actions' is decided by the body key. */
  api: ApiName | null;
  uuid?: string;
}

const ROUTES: { method: string | null; re: RegExp; kind: RouteKind; api: ApiName | null }[] = [
  // First: job polls are the most frequent request. Any method: a non-GET poll gets 405 from the job handler.
  { method: null, re: /^\/v1\/api-jobs\/([^/]+)$/, kind: 'job', api: 'QueryJob' },
  { method: 'PUT', re: /^\/v1\/accounts\/login$/, kind: 'login', api: 'LogInByAccount' },
  { method: 'DELETE', re: /^\/v1\/accounts\/sessions\/([^/]+)$/, kind: 'logout', api: 'LogOut' },
  { method: 'GET', re: /^\/v1\/accounts\/sessions\/([^/]+)\/valid$/, kind: 'validate', api: 'ValidateSession' },
  { method: 'GET', re: /^\/v1\/vm-instances$/, kind: 'query-vm', api: 'QueryVmInstance' },
  { method: 'GET', re: /^\/v1\/vm-instances\/cdroms$/, kind: 'query-cdrom', api: 'QueryVmCdRom' },
  { method: 'GET', re: /^\/v1\/vm-instances\/([^/]+)$/, kind: 'query-vm', api: 'QueryVmInstance' },
  { method: 'PUT', re: /^\/v1\/vm-instances\/([^/]+)\/actions$/, kind: 'actions', api: null },
  { method: 'GET', re: /^\/v1\/vm-instances\/([^/]+)\/latest-guest-tools$/, kind: 'latest', api: 'GetLatestGuestToolsForVm' },
  { method: 'GET', re: /^\/v1\/vm-instances\/([^/]+)\/guest-tools-infos$/, kind: 'info', api: 'GetVmGuestToolsInfo' },
  { method: 'PUT', re: /^\/v1\/vm-instances\/([^/]+)\/guesttools-state$/, kind: 'update-guest-state', api: 'UpdateGuestToolsState' },
  // Static segments (records, details) before {uuid}.
  { method: 'POST', re: /^\/v1\/scripts$/, kind: 'script-create', api: 'CreateGuestVmScript' },
  { method: 'GET', re: /^\/v1\/scripts$/, kind: 'query-script', api: 'QueryGuestVmScript' },
  { method: 'GET', re: /^\/v1\/scripts\/records$/, kind: 'query-record', api: 'QueryGuestVmScriptExecutedRecord' },
  { method: 'GET', re: /^\/v1\/scripts\/records\/details$/, kind: 'query-detail', api: 'QueryGuestVmScriptExecutedRecordDetail' },
  { method: 'GET', re: /^\/v1\/scripts\/records\/([^/]+)$/, kind: 'query-record', api: 'QueryGuestVmScriptExecutedRecord' },
  { method: 'GET', re: /^\/v1\/scripts\/([^/]+)$/, kind: 'query-script', api: 'QueryGuestVmScript' },
  { method: 'PUT', re: /^\/v1\/scripts\/([^/]+)\/actions$/, kind: 'script-actions', api: null },
  { method: 'GET', re: /^\/v1\/system-tags$/, kind: 'query-tag', api: 'QuerySystemTag' },
  { method: 'GET', re: /^\/v1\/system-tags\/([^/]+)$/, kind: 'query-tag', api: 'QuerySystemTag' },
  { method: 'GET', re: /^\/v1\/tags$/, kind: 'query-tag-pattern', api: 'QueryTag' },
  { method: 'GET', re: /^\/v1\/tags\/([^/]+)$/, kind: 'query-tag-pattern', api: 'QueryTag' },
  { method: 'GET', re: /^\/v1\/user-tags$/, kind: 'query-user-tag', api: 'QueryUserTag' },
  { method: 'GET', re: /^\/v1\/user-tags\/([^/]+)$/, kind: 'query-user-tag', api: 'QueryUserTag' },
  { method: 'GET', re: /^\/v1\/guesttools(?:\/state)?$/, kind: 'query-guest', api: 'QueryGuestToolsState' },
];

/** `path` is the part after the `/zstack` context, e.g. `/v1/vm-instances`. */
export function route(method: string, path: string): Route | null {
  for (const r of ROUTES) {
    if (r.method !== null && r.method !== method) continue;
    const m = r.re.exec(path);
    if (!m) continue;
    return m[1] === undefined ? { kind: r.kind, api: r.api } : { kind: r.kind, api: r.api, uuid: safeDecode(m[1]) };
  }
  return null;
}

export const ACTIONS: Record<string, ApiName> = {
  attachGuestToolsIsoToVm: 'AttachGuestToolsIsoToVm',
  detachGuestToolsIsoFromVm: 'DetachGuestToolsIsoFromVm',
};

/** The script library's actions the simulator has (UpdateGuestVmScript is not simulated). */
export const SCRIPT_ACTIONS: Record<string, ApiName> = {
  executeGuestVmScript: 'ExecuteGuestVmScript',
};

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
