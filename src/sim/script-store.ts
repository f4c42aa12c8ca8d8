// The script library's tables (zstack-install-api.md 1): GuestVmScriptVO, GuestVmScriptExecutedRecordVO
// and its details, one per (record, VM). A version counter of their own keys their query caches, so a
// detail changing status never throws away the VM and tag caches the attach path lives on.
import { appendTo } from '../multimap.js';
import type { ScriptStatusPreset, ScriptStatusSpelling } from './types.js';

export interface ScriptRow {
  uuid: string;
  name: string;
  description: string | null;
  platform: string;
  scriptType: string;
  scriptTimeout: number;
  /** null on MNs without the field (5.2.x). */
  encodingType: string | null;
  /** As sent (Base64 stays Base64: the row keeps its encodingType beside it). */
  scriptContent: string;
  renderParams: string | null;
  version: number;
  createdAt: number;
  lastOpAt: number;
}

export interface RecordRow {
  uuid: string;
  scriptUuid: string;
  recordName: string;
  scriptTimeout: number;
  status: string;
  executor: string;
  executionCount: number;
  version: number;
  encodingType: string | null;
  scriptContent: string;
  renderParams: string | null;
  startTime: number;
  endTime: number | null;
}

export interface DetailRow {
  recordUuid: string;
  vmInstanceUuid: string;
  vmName: string;
  status: string;
  exitCode: number | null;
  stdout: string | null;
  stderr: string | null;
  errCause: string | null;
  startTime: number;
  endTime: number | null;
}

export const SCRIPT_STATUS_PRESETS: Record<ScriptStatusPreset, ScriptStatusSpelling> = {
  // The reference's defaults (zstack-install-api.md 1.8).
  Succeed: {
    record: { running: 'Running', succeeded: 'Succeed', failed: 'Failed', partial: 'Failed' },
    detail: { running: 'Running', succeeded: 'Succeed', failed: 'Failed', timeout: 'Timeout' },
  },
  // The Go SDK's comment: "Running, Succeeded, Failed"; a timeout is just a failure.
  Succeeded: {
    record: { running: 'Running', succeeded: 'Succeeded', failed: 'Failed', partial: 'Failed' },
    detail: { running: 'Running', succeeded: 'Succeeded', failed: 'Failed', timeout: 'Failed' },
  },
  // The dev manual's detail example `Completed`, TFP's `Exception`; the record says Completed once every
  // VM is done, whatever their outcome (so only the details tell success).
  Completed: {
    record: { running: 'Running', succeeded: 'Completed', failed: 'Exception', partial: 'Completed' },
    detail: { running: 'Running', succeeded: 'Completed', failed: 'Exception', timeout: 'Timeout' },
  },
};

export class ScriptStore {
  version = 0;
  private readonly scripts = new Map<string, ScriptRow>();
  private readonly records = new Map<string, RecordRow>();
  private readonly details = new Map<string, DetailRow[]>();
  private readonly detailsByVm = new Map<string, DetailRow[]>();
  private scriptList: ScriptRow[] | null = null;
  private recordList: RecordRow[] | null = null;
  private detailList: DetailRow[] | null = null;

  touch(): void {
    this.version++;
    this.scriptList = null;
    this.recordList = null;
    this.detailList = null;
  }

  script(uuid: string): ScriptRow | undefined {
    return this.scripts.get(uuid);
  }

  record(uuid: string): RecordRow | undefined {
    return this.records.get(uuid);
  }

  detailsOf(recordUuid: string): readonly DetailRow[] {
    return this.details.get(recordUuid) ?? [];
  }

  detailsOfVm(vmUuid: string): readonly DetailRow[] {
    return this.detailsByVm.get(vmUuid) ?? [];
  }

  allScripts(): ScriptRow[] {
    this.scriptList ??= Array.from(this.scripts.values());
    return this.scriptList;
  }

  allRecords(): RecordRow[] {
    this.recordList ??= Array.from(this.records.values());
    return this.recordList;
  }

  allDetails(): DetailRow[] {
    this.detailList ??= Array.from(this.details.values()).flat();
    return this.detailList;
  }

  addScript(row: ScriptRow): void {
    this.scripts.set(row.uuid, row);
    this.touch();
  }

  addRecord(row: RecordRow, details: DetailRow[]): void {
    this.records.set(row.uuid, row);
    this.details.set(row.uuid, details);
    for (const d of details) appendTo(this.detailsByVm, d.vmInstanceUuid, d);
    this.touch();
  }
}
