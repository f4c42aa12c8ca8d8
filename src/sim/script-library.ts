// The script library's async APIs (zstack-install-api.md 1.1, 1.5): CreateGuestVmScript and
// ExecuteGuestVmScript. Both check their parameters inside the job (a failed job, SYS.1007/SYS.1003),
// as every API interceptor does. Execute's job returns the record while it is Running; each VM's detail
// then ends on its own (MN side: an MN restart leaves the Running ones Running for good) and the record
// ends after its last detail. See guest-os.ts for what the guest does with the script.
import { checkParams, missingResource, missingResources, type ParamSpec } from './api-params.js';
import type { Faults } from './faults.js';
import { isWindowsPlatform, type GuestOs } from './guest-os.js';
import type { Job, Jobs } from './jobs.js';
import type { JobHold } from './job-hold.js';
import { rngUuid, type Rng } from './rng.js';
import type { DetailRow, RecordRow, ScriptRow, ScriptStore } from './script-store.js';
import { recordInventory, scriptInventory } from './script-resources.js';
import type { TimerSet } from './timers.js';
import type { ScriptExecution, ScriptStatusSpelling } from './types.js';
import { zsError, type ZsError } from './wire.js';
import type { VmRow, World } from './world.js';

const PKG = 'org.zstack.guesttools';
const CREATE_CLASS = `${PKG}.APICreateGuestVmScriptMsg`;
const EXECUTE_CLASS = `${PKG}.APIExecuteGuestVmScriptMsg`;

const NAME_RE = { java: '^(?! )[\\u4E00-\\u9FFFa-zA-Z0-9_\\-\\.():+\\s]*(?<! )$', re: /^(?! )[\u4E00-\u9FFFa-zA-Z0-9_\-.():+\s]*(?<! )$/ };

export function createSpecs(encodingType: boolean): ParamSpec[] {
  return [
    { name: 'name', kind: 'string', required: true, maxLength: 128, minLength: 1, regex: NAME_RE },
    { name: 'description', kind: 'string', maxLength: 256 },
    ...(encodingType ? [{ name: 'encodingType', kind: 'string', validValues: ['Base64', 'PlainText'] } as ParamSpec] : []),
    { name: 'scriptContent', kind: 'string', required: true, maxLength: 65536, minLength: 1 },
    { name: 'renderParams', kind: 'string', maxLength: 5120 },
    { name: 'platform', kind: 'string', required: true, validValues: ['Windows', 'Linux'] },
    { name: 'scriptType', kind: 'string', required: true, validValues: ['Shell', 'Python', 'Perl', 'Bat', 'Powershell'] },
    { name: 'scriptTimeout', kind: 'int', range: [1, 86400], dflt: 60 },
    { name: 'resourceUuid', kind: 'string' },
  ];
}

export const EXECUTE_SPECS: ParamSpec[] = [
  { name: 'vmInstanceUuids', kind: 'list', required: true },
  { name: 'scriptTimeout', kind: 'int', range: [10, 86400] },
  { name: 'logPath', kind: 'string' },
];

interface ScriptLibraryOptions {
  jobDurationMs: number;
  scriptMs: number;
  statuses: ScriptStatusSpelling;
  unreachableVms: 'detail' | 'refuse';
  stderrFails: boolean;
  encodingType: boolean;
  accountName: string;
}

interface ScriptLibraryDeps {
  world: World;
  store: ScriptStore;
  jobs: Jobs;
  faults: Faults;
  guestOs: GuestOs;
  /** Cancelled by an MN restart. */
  jobTimers: TimerSet;
  /** Script runs a test holds Running. */
  hold: JobHold;
  rng: Rng;
  opts: ScriptLibraryOptions;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const notConnected = 'Guest agent is not responding: QEMU guest agent is not connected';

/** The path the agent writes a VM's script to (one file per VM: runs on one VM overwrite each other). */
function scriptFile(vmUuid: string, platform: 'Linux' | 'Windows', type: string): string {
  const ext: Record<string, string> = { Shell: 'sh', Python: 'py', Perl: 'pl', Bat: 'bat', Powershell: 'ps1' };
  const dir = platform === 'Linux' ? '/var/lib/zstack/script' : 'C:/Program Files/Qemu-ga/script';
  return `${dir}/${vmUuid}.${ext[type] ?? 'sh'}`;
}

function recordName(at: number, name: string): string {
  const d = new Date(at);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}_${name}`;
}

/** Decoded and rendered as the agent would before running it (Jinja2 `{{ key }}` only, when renderParams is given). */
function scriptText(row: ScriptRow): string {
  let text = row.encodingType === 'Base64' ? Buffer.from(row.scriptContent, 'base64').toString('utf8') : row.scriptContent;
  if (row.renderParams) {
    let params: unknown;
    try {
      params = JSON.parse(row.renderParams);
    } catch {
      params = [];
    }
    const values = new Map<string, string>();
    if (Array.isArray(params)) for (const p of params as { key?: unknown; value?: unknown }[]) if (typeof p?.key === 'string') values.set(p.key, String(p.value ?? ''));
    text = text.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, key: string) => values.get(key) ?? '');
  }
  return text;
}

export class ScriptLibrary {
  readonly executions: ScriptExecution[] = [];
  readonly overlaps: string[] = [];
  private readonly runningOn = new Map<string, number>();
  /** Bumped by an MN restart: what the old MN had in flight never reaches the tables. */
  private epoch = 0;

  constructor(private readonly d: ScriptLibraryDeps) {}

  startCreate(job: Job, params: Record<string, unknown>): void {
    const { jobs, jobTimers, store, opts } = this.d;
    jobTimers.after(opts.jobDurationMs, () => {
      if (!jobs.alive(job)) return;
      const v = checkParams(CREATE_CLASS, createSpecs(opts.encodingType), params);
      if ('code' in v) return jobs.fail(job, v as ZsError);
      const encodingType = opts.encodingType ? (typeof v.encodingType === 'string' ? v.encodingType : 'Base64') : null;
      const canonical = encodingType === null ? null : encodingType.toLowerCase() === 'base64' ? 'Base64' : 'PlainText';
      const content = params.scriptContent as string;
      if (canonical === 'Base64' && !BASE64.test(content.replace(/\s+/g, ''))) {
        return jobs.fail(job, zsError('SYS.1007', 'scriptContent is not a valid Base64 string'));
      }
      const uuid = typeof v.resourceUuid === 'string' && v.resourceUuid !== '' ? v.resourceUuid : rngUuid(this.d.rng);
      if (store.script(uuid)) return jobs.fail(job, zsError('SYS.1007', `resource uuid[${uuid}] has been used by another resource`));
      const now = Date.now();
      const row: ScriptRow = {
        uuid, name: v.name as string, description: (v.description as string | undefined) ?? null, platform: canonicalOf(v.platform as string, ['Windows', 'Linux']),
        scriptType: canonicalOf(v.scriptType as string, ['Shell', 'Python', 'Perl', 'Bat', 'Powershell']), scriptTimeout: v.scriptTimeout as number,
        encodingType: canonical, scriptContent: content, renderParams: (v.renderParams as string | undefined) || null, version: 1, createdAt: now, lastOpAt: now,
      };
      store.addScript(row);
      jobs.succeed(job, JSON.stringify({ inventory: scriptInventory(row, opts.encodingType) }));
    });
  }

  startExecute(job: Job, scriptUuid: string, params: Record<string, unknown>): void {
    const { jobs, jobTimers, opts } = this.d;
    const vmUuids = Array.isArray(params.vmInstanceUuids) ? params.vmInstanceUuids.map(String) : [];
    const exec: ScriptExecution = { jobUuid: job.uuid, scriptUuid, vmUuids, at: Date.now() };
    this.executions.push(exec);
    jobTimers.after(opts.jobDurationMs, () => {
      if (!jobs.alive(job)) return;
      const refused = this.executeProblem(scriptUuid, params);
      if (refused) {
        exec.failedWith = refused.code;
        return jobs.fail(job, refused);
      }
      const record = this.begin(scriptUuid, vmUuids, params);
      exec.recordUuid = record.uuid;
      jobs.succeed(job, JSON.stringify({ inventory: recordInventory(record, opts.encodingType) }));
    });
  }

  /** The interceptor refused the call before it ran (ID.1001): recorded, nothing runs. */
  rejectedUnrun(job: Job, scriptUuid: string, params: Record<string, unknown>): void {
    const vmUuids = Array.isArray(params.vmInstanceUuids) ? params.vmInstanceUuids.map(String) : [];
    this.executions.push({ jobUuid: job.uuid, scriptUuid, vmUuids, at: Date.now(), failedWith: job.error?.code ?? 'ID.1001' });
  }

  /** MN restart: runs in flight are forgotten (their details stay Running); the guests go on. */
  reset(): void {
    this.epoch++;
    this.runningOn.clear();
    this.d.hold.drop();
  }

  private executeProblem(scriptUuid: string, params: Record<string, unknown>): ZsError | null {
    const { world, store, opts } = this.d;
    const script = store.script(scriptUuid);
    if (!script) return missingResource('uuid', 'GuestVmScriptVO', scriptUuid);
    const v = checkParams(EXECUTE_CLASS, EXECUTE_SPECS, params);
    if ('code' in v) return v as ZsError;
    const uuids = v.vmInstanceUuids as string[];
    if (uuids.length === 0) return zsError('SYS.1007', 'field[vmInstanceUuids] must be a nonempty list');
    const missing = uuids.filter((u) => !world.getVm(u));
    if (missing.length > 0) return missingResources('vmInstanceUuids', 'VmInstanceVO', missing);
    const dup = uuids.find((u, i) => uuids.indexOf(u) !== i);
    if (dup !== undefined) return zsError('SYS.1000', `Duplicate entry for key 'PRIMARY' (recordUuid, vmInstanceUuid[${dup}])`);
    if (opts.unreachableVms === 'refuse') {
      for (const u of uuids) {
        const why = this.unreachable(world.getVm(u) as VmRow, script);
        if (why) return zsError('SYS.1007', `cannot execute script on vm[uuid:${u}] because ${why.refusal}`);
      }
    }
    return null;
  }

  /** Why a script cannot run on this VM: the refusal (refuse mode) and the agent's error (detail mode). */
  private unreachable(vm: VmRow, script: ScriptRow): { refusal: string; errCause: string } | null {
    const file = scriptFile(vm.uuid, script.platform === 'Windows' ? 'Windows' : 'Linux', script.scriptType);
    const qga = (what: string): string => `exec qga command[guest-file-open] args[{"path": "${file}", "mode": "w"}] error: ${what}`;
    if (vm.state !== 'Running') return { refusal: "it's not running", errCause: qga('Requested operation is not valid: domain is not running') };
    if (!this.d.guestOs.agentRunning(vm)) return { refusal: 'its qemu guest agent is not connected', errCause: qga(notConnected) };
    const vmPlatform = isWindowsPlatform(vm.platform) ? 'Windows' : 'Linux';
    if (vmPlatform !== script.platform) {
      const shell = script.platform === 'Linux' ? 'bash' : 'cmd';
      return {
        refusal: `its platform[${vmPlatform}] does not match the platform[${script.platform}] of script[uuid:${script.uuid}]`,
        errCause: `exec qga command[guest-exec] args[{"path": "${shell}"}] error: internal error: unable to execute QEMU agent command 'guest-exec': Failed to execute child process "${shell}" (No such file or directory)`,
      };
    }
    return null;
  }

  private begin(scriptUuid: string, vmUuids: string[], params: Record<string, unknown>): RecordRow {
    const { world, store, rng, opts } = this.d;
    const script = store.script(scriptUuid) as ScriptRow;
    const now = Date.now();
    const timeout = typeof params.scriptTimeout === 'number' || typeof params.scriptTimeout === 'string' ? Number(params.scriptTimeout) : script.scriptTimeout;
    const record: RecordRow = {
      uuid: rngUuid(rng), scriptUuid, recordName: recordName(now, script.name), scriptTimeout: timeout, status: opts.statuses.record.running,
      executor: opts.accountName, executionCount: vmUuids.length, version: script.version, encodingType: script.encodingType,
      scriptContent: script.scriptContent, renderParams: script.renderParams, startTime: now, endTime: null,
    };
    const details: DetailRow[] = vmUuids.map((u) => ({
      recordUuid: record.uuid, vmInstanceUuid: u, vmName: world.getVm(u)?.name ?? '', status: opts.statuses.detail.running,
      exitCode: null, stdout: null, stderr: null, errCause: null, startTime: now, endTime: null,
    }));
    store.addRecord(record, details);
    const text = scriptText(script);
    for (const detail of details) this.runOn(record, detail, script, text);
    return record;
  }

  private runOn(record: RecordRow, detail: DetailRow, script: ScriptRow, text: string): void {
    const { world, guestOs, faults, jobTimers, hold, opts } = this.d;
    const { detail: st } = opts.statuses;
    const vm = world.getVm(detail.vmInstanceUuid) as VmRow;
    const epoch = this.epoch;
    let counted = false;
    const end = (patch: Partial<DetailRow>, afterMs: number): void => {
      jobTimers.after(afterMs, () => hold.finishWhenReleased(() => {
        if (epoch === this.epoch) this.finish(record, detail, patch, counted);
      }));
    };
    const why = this.unreachable(vm, script);
    if (why) return end({ status: st.failed, errCause: why.errCause }, opts.scriptMs);
    counted = true;
    const running = (this.runningOn.get(vm.uuid) ?? 0) + 1;
    this.runningOn.set(vm.uuid, running);
    if (running > 1) this.overlaps.push(vm.uuid);
    const platform = script.platform === 'Windows' ? 'Windows' : 'Linux';
    const run = guestOs.run(vm, platform, text, record.uuid, () => {
      end({ status: st.failed, exitCode: null, errCause: `exec qga command[guest-exec-status] args[{"pid": 1}] error: ${notConnected}` }, 0);
    });
    if (faults.scriptTimesOut(vm.uuid)) {
      const cmd = `bash -c "${scriptFile(vm.uuid, platform, script.scriptType)}"`;
      return end({ status: st.timeout, errCause: `qga exec cmd ${cmd} timeout for vm ${vm.uuid}` }, opts.scriptMs);
    }
    if (run.waitsForInstaller) return; // ends when the installer restarts the agent (the callback above)
    const stderr = tail(run.stderr);
    const failed = opts.stderrFails && stderr !== '';
    end({ status: failed ? st.failed : st.succeeded, exitCode: 0, stdout: tail(run.stdout), stderr }, opts.scriptMs);
  }

  private finish(record: RecordRow, detail: DetailRow, patch: Partial<DetailRow>, counted: boolean): void {
    const { store, opts } = this.d;
    if (detail.endTime !== null) return;
    Object.assign(detail, patch);
    detail.endTime = Date.now();
    const left = (this.runningOn.get(detail.vmInstanceUuid) ?? 0) - (counted ? 1 : 0);
    if (left <= 0) this.runningOn.delete(detail.vmInstanceUuid);
    else this.runningOn.set(detail.vmInstanceUuid, left);
    const all = store.detailsOf(record.uuid);
    if (all.every((x) => x.endTime !== null)) {
      const ok = all.filter((x) => x.status === opts.statuses.detail.succeeded).length;
      const r = opts.statuses.record;
      record.status = ok === all.length ? r.succeeded : ok === 0 ? r.failed : r.partial;
      record.endTime = detail.endTime;
    }
    store.touch();
  }
}

/** The agent keeps the last 1000 lines of each stream. */
function tail(text: string): string {
  const lines = text.split('\n');
  return lines.length <= 1000 ? text : lines.slice(-1000).join('\n');
}

/** validValues are compared case-insensitively; the row keeps the canonical spelling. */
function canonicalOf(value: string, valid: readonly string[]): string {
  return valid.find((x) => x.toLowerCase() === value.toLowerCase()) ?? value;
}
