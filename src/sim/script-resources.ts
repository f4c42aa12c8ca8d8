// QueryGuestVmScript, QueryGuestVmScriptExecutedRecord and QueryGuestVmScriptExecutedRecordDetail:
// their queryable fields (zstack-install-api.md 1.4, 1.6, 1.7; anything else is refused as on any
// query) and their inventories (null fields omitted, as Gson does).
import type { FieldSpec, Resource } from './query.js';
import type { DetailRow, RecordRow, ScriptRow, ScriptStore } from './script-store.js';
import { dropNulls, zsDate } from './wire.js';

const PKG = 'org.zstack.guesttools';
const str = <T>(get: (r: T) => string | null): FieldSpec<T> => ({ kind: 'string', get });
const num = <T>(get: (r: T) => number | null): FieldSpec<T> => ({ kind: 'number', get });
const date = <T>(get: (r: T) => number | null): FieldSpec<T> => ({ kind: 'date', get });
const one = <T>(row: T | undefined): T[] => (row === undefined ? [] : [row]);
const dateOrNull = (ms: number | null): string | null => (ms === null ? null : zsDate(ms));

export function scriptInventory(s: ScriptRow, encodingType: boolean): Record<string, unknown> {
  return dropNulls({
    uuid: s.uuid, name: s.name, description: s.description, encodingType: encodingType ? s.encodingType : null,
    scriptContent: s.scriptContent, renderParams: s.renderParams, platform: s.platform, scriptType: s.scriptType,
    scriptTimeout: s.scriptTimeout, createDate: zsDate(s.createdAt), lastOpDate: zsDate(s.lastOpAt),
  });
}

export function recordInventory(r: RecordRow, encodingType: boolean): Record<string, unknown> {
  return dropNulls({
    uuid: r.uuid, scriptUuid: r.scriptUuid, recordName: r.recordName, scriptTimeout: r.scriptTimeout, status: r.status,
    executor: r.executor, executionCount: r.executionCount, version: r.version, encodingType: encodingType ? r.encodingType : null,
    scriptContent: r.scriptContent, renderParams: r.renderParams, startTime: zsDate(r.startTime), endTime: dateOrNull(r.endTime),
  });
}

function detailInventory(d: DetailRow): Record<string, unknown> {
  return dropNulls({
    recordUuid: d.recordUuid, vmInstanceUuid: d.vmInstanceUuid, vmName: d.vmName, status: d.status, exitCode: d.exitCode,
    stdout: d.stdout, errCause: d.errCause, stderr: d.stderr, startTime: zsDate(d.startTime), endTime: dateOrNull(d.endTime),
  });
}

export function scriptResource(store: ScriptStore, encodingType: boolean): Resource<ScriptRow> {
  const fields: Record<string, FieldSpec<ScriptRow>> = {
    uuid: str((s) => s.uuid), name: str((s) => s.name), description: str((s) => s.description), platform: str((s) => s.platform),
    scriptType: str((s) => s.scriptType), scriptTimeout: num((s) => s.scriptTimeout), scriptContent: str((s) => s.scriptContent),
    renderParams: str((s) => s.renderParams), createDate: date((s) => s.createdAt), lastOpDate: date((s) => s.lastOpAt),
  };
  if (encodingType) fields.encodingType = str((s) => s.encodingType);
  return {
    name: 'guest-vm-script', className: `${PKG}.GuestVmScriptInventory`, fields, rows: () => store.allScripts(),
    index: { uuid: (u) => one(store.script(u)) },
    toInventory: (s) => scriptInventory(s, encodingType),
  };
}

export function recordResource(store: ScriptStore, encodingType: boolean): Resource<RecordRow> {
  const fields: Record<string, FieldSpec<RecordRow>> = {
    uuid: str((r) => r.uuid), scriptUuid: str((r) => r.scriptUuid), recordName: str((r) => r.recordName), executor: str((r) => r.executor),
    status: str((r) => r.status), version: num((r) => r.version), scriptTimeout: num((r) => r.scriptTimeout),
    executionCount: num((r) => r.executionCount), scriptContent: str((r) => r.scriptContent), renderParams: str((r) => r.renderParams),
    startTime: date((r) => r.startTime), endTime: date((r) => r.endTime),
  };
  if (encodingType) fields.encodingType = str((r) => r.encodingType);
  return {
    name: 'guest-vm-script-record', className: `${PKG}.GuestVmScriptExecutedRecordInventory`, fields, rows: () => store.allRecords(),
    index: { uuid: (u) => one(store.record(u)) },
    toInventory: (r) => recordInventory(r, encodingType),
  };
}

export function detailResource(store: ScriptStore): Resource<DetailRow> {
  return {
    name: 'guest-vm-script-detail', className: `${PKG}.GuestVmScriptExecutedRecordDetailInventory`,
    fields: {
      recordUuid: str((d) => d.recordUuid), vmInstanceUuid: str((d) => d.vmInstanceUuid), vmName: str((d) => d.vmName),
      status: str((d) => d.status), exitCode: num((d) => d.exitCode), stdout: str((d) => d.stdout), stderr: str((d) => d.stderr),
      errCause: str((d) => d.errCause), startTime: date((d) => d.startTime), endTime: date((d) => d.endTime),
    },
    rows: () => store.allDetails(),
    index: { recordUuid: (u) => store.detailsOf(u), vmInstanceUuid: (u) => store.detailsOfVm(u) },
    toInventory: detailInventory,
  };
}
