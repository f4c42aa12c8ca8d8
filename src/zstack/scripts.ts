// The script library (5.2.0+, zstack-install-api.md 1) and UpdateGuestToolsState (4.6.21, 3.4) as the
// reconciler uses them: typed, validated reply shapes, and the start calls' requests. Create and
// Execute change ZStack, so they go through runStart with a start permit (actions.ts); the queries
// and UpdateGuestToolsState (which only re-reads the guest) go through the idempotent retry path.
//
// Statuses: the MN's spellings are not public (Succeed, Succeeded, Completed, Failed, Exception,
// Timeout all appear in sources). `Running`, `Pending`, `Waiting` and `Executing` mean not finished;
// every other word means finished. Success is decided per detail (scriptDetailSucceeded), never from
// the record.
import { executeSubject } from './start-permit.js';
import type { StartCall } from './actions.js';
import { badReply, type ApiName } from './types.js';
import { isPlainObject } from '../plain-object.js';

export interface ScriptSpec {
  /** Chosen by the caller and recorded before the call: the permit's subject, and how a lost job is found again. */
  resourceUuid: string;
  name: string;
  platform: 'Linux' | 'Windows';
  scriptType: 'Shell' | 'Python' | 'Perl' | 'Bat' | 'Powershell';
  /** The plain script text. */
  content: string;
  /** Seconds, 1-86400 (the MN's default 60). */
  scriptTimeout?: number;
  description?: string;
  /**
   * `PlainText` (default): works on every release (5.2.x ignores the field and keeps the text as sent).
   * `Base64`: the content is base64-encoded here; only for MNs known to have the field.
   */
  encoding?: 'PlainText' | 'Base64';
}

export interface GuestVmScript {
  uuid: string;
  name: string;
  platform: string;
  scriptType: string;
  scriptTimeout: number | null;
  /** null on MNs without the field. */
  encodingType: string | null;
  scriptContent: string;
}

export interface ScriptRecord {
  uuid: string;
  scriptUuid: string;
  recordName: string | null;
  status: string;
  executionCount: number | null;
  startTime: string | null;
  endTime: string | null;
}

export interface ScriptDetail {
  recordUuid: string;
  vmInstanceUuid: string;
  status: string;
  exitCode: number | null;
  stdout: string | null;
  stderr: string | null;
  errCause: string | null;
  startTime: string | null;
  endTime: string | null;
}

export interface GuestToolsState {
  vmInstanceUuid: string;
  qgaState: string | null;
  zwatchState: string | null;
  version: string | null;
  platform: string | null;
  osType: string | null;
}

/** Whether the MN has the script library (probed once per client). */
export type ScriptLibrarySupport = 'present' | 'absent';
/** Whether the MN has DetachGuestToolsIsoFromVm. */
export type DetachSupport = 'present' | 'absent';

const RUNNING = /^(running|pending|waiting|executing)$/i;

/** Not finished yet (any spelling the sources show for it). */
export function isScriptStatusRunning(status: string): boolean {
  return RUNNING.test(status.trim());
}

/**
 * A finished detail that ran: its status is a success word, no errCause. Anything else finished is a
 * failure (a timeout, an unreachable guest, stderr output). Decide per VM, never from the record.
 */
export function scriptDetailSucceeded(detail: ScriptDetail): boolean {
  if (isScriptStatusRunning(detail.status)) return false;
  return /^(succeed|succeeded|success|completed|done|ok)$/i.test(detail.status.trim()) && (detail.errCause === null || detail.errCause === '');
}

export function createScriptCall(spec: ScriptSpec): StartCall {
  const encoding = spec.encoding ?? 'PlainText';
  const params: Record<string, unknown> = {
    resourceUuid: spec.resourceUuid, name: spec.name, platform: spec.platform, scriptType: spec.scriptType, encodingType: encoding,
    scriptContent: encoding === 'Base64' ? Buffer.from(spec.content, 'utf8').toString('base64') : spec.content,
  };
  if (spec.scriptTimeout !== undefined) params.scriptTimeout = spec.scriptTimeout;
  if (spec.description !== undefined) params.description = spec.description;
  return {
    api: 'CreateGuestVmScript', subject: spec.resourceUuid, method: 'POST', path: '/zstack/v1/scripts',
    body: { params, systemTags: [], userTags: [] }, log: { scriptUuid: spec.resourceUuid },
  };
}

export function executeScriptCall(scriptUuid: string, vmUuids: readonly string[], scriptTimeout?: number): StartCall {
  const inner: Record<string, unknown> = { vmInstanceUuids: [...vmUuids] };
  if (scriptTimeout !== undefined) inner.scriptTimeout = scriptTimeout;
  return {
    api: 'ExecuteGuestVmScript', subject: executeSubject(scriptUuid, vmUuids), method: 'PUT',
    path: `/zstack/v1/scripts/${encodeURIComponent(scriptUuid)}/actions`,
    body: { executeGuestVmScript: inner, systemTags: [], userTags: [] }, log: { scriptUuid, vms: vmUuids.length },
  };
}

const str = (row: Record<string, unknown>, f: string): string | null => (typeof row[f] === 'string' ? (row[f] as string) : null);
const num = (row: Record<string, unknown>, f: string): number | null => (typeof row[f] === 'number' ? (row[f] as number) : null);

function required(api: ApiName, row: Record<string, unknown>, f: string, what: string): string {
  const v = row[f];
  if (typeof v !== 'string' || v === '') throw badReply(api, `${what} without "${f}"`);
  return v;
}

/** The `inventory` object of a job result or sync reply. */
export function inventoryOf(api: ApiName, body: Record<string, unknown>): Record<string, unknown> {
  if (!isPlainObject(body.inventory)) throw badReply(api, '"inventory" is missing or not an object');
  return body.inventory;
}

export function guestVmScriptOf(api: ApiName, row: Record<string, unknown>): GuestVmScript {
  return {
    uuid: required(api, row, 'uuid', 'a script'), name: str(row, 'name') ?? '', platform: str(row, 'platform') ?? '',
    scriptType: str(row, 'scriptType') ?? '', scriptTimeout: num(row, 'scriptTimeout'), encodingType: str(row, 'encodingType'),
    scriptContent: str(row, 'scriptContent') ?? '',
  };
}

export function scriptRecordOf(api: ApiName, row: Record<string, unknown>): ScriptRecord {
  return {
    uuid: required(api, row, 'uuid', 'a record'), scriptUuid: str(row, 'scriptUuid') ?? '', recordName: str(row, 'recordName'),
    status: required(api, row, 'status', 'a record'), executionCount: num(row, 'executionCount'),
    startTime: str(row, 'startTime'), endTime: str(row, 'endTime'),
  };
}

export function scriptDetailOf(api: ApiName, row: Record<string, unknown>): ScriptDetail {
  return {
    recordUuid: required(api, row, 'recordUuid', 'a detail'), vmInstanceUuid: required(api, row, 'vmInstanceUuid', 'a detail'),
    status: required(api, row, 'status', 'a detail'), exitCode: num(row, 'exitCode'), stdout: str(row, 'stdout'), stderr: str(row, 'stderr'),
    errCause: str(row, 'errCause'), startTime: str(row, 'startTime'), endTime: str(row, 'endTime'),
  };
}

export function guestToolsStateOf(api: ApiName, row: Record<string, unknown>): GuestToolsState {
  return {
    vmInstanceUuid: required(api, row, 'vmInstanceUuid', 'a guest-tools state'), qgaState: str(row, 'qgaState') ?? str(row, 'state'),
    zwatchState: str(row, 'zwatchState'), version: str(row, 'version'), platform: str(row, 'platform'), osType: str(row, 'osType'),
  };
}
