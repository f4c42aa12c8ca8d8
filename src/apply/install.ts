// The install stage (DESIGN.md 2.7): the installer runs inside the guests of VMs whose attach of the
// target succeeded (in this run, or an earlier one: install/attached), that are Running with a running
// guest agent and a command for their platform. One script per (platform, command), found by its name
// or created once (its resourceUuid recorded first); then ExecuteGuestVmScript on batches of
// install.maxConcurrency VMs, one batch at a time, so no VM ever has two scripts in flight.
//
// Every execute goes through the run's start path (start-path.ts, startMany): each VM of the batch is
// gated (window, rollout pause/abort, budget, shutdown, leader, lease) and the batch is recorded (one
// installs row per VM, the job uuid we chose) in one transaction before the call. A VM a gate refuses
// leaves the batch (a defer); a refusal that stops the run stops every later batch. Doubt (a lost job,
// a timeout, a shutdown mid-call) is never a failure and never a reason to send again: the rows stay
// `installing` and the next run polls the recorded job or record (install-evidence.ts). Only the MN's
// own refusal of the call (a failed job) is an `install-failed` of those VMs.
import type { Logger } from 'pino';
import { errorToJson, GtrError, ZStackApiError, type ZStackErrorBody } from '../errors.js';
import type { AgentType } from '../domain.js';
import type { InstallPlatform, Ledger } from '../ledger/index.js';
import type { DeferReason } from '../plan/reasons.js';
import type { GateSubject } from '../plan/gates.js';
import { executeSubject, type GuestVmScript, type ScriptLibrarySupport, type ScriptRecord, type ScriptSpec, type StartPermit } from '../zstack/client.js';
import type { ActionOptions } from '../zstack/client.js';
import { OPERATION_TIMEOUT } from '../zstack/reply.js';
import { installScriptSpec, LAUNCHER_TIMEOUT_S, type InstallScriptSpec } from './install-commands.js';
import type { StartPath } from './start-path.js';

interface InstallClient {
  scriptLibrarySupport(): Promise<ScriptLibrarySupport>;
  queryGuestVmScripts(conditions: string[]): Promise<GuestVmScript[]>;
  createGuestVmScript(spec: ScriptSpec, opts: Pick<ActionOptions, 'permit'>): Promise<GuestVmScript | null>;
  executeGuestVmScript(scriptUuid: string, vmUuids: readonly string[], opts: Pick<ActionOptions, 'permit'> & { scriptTimeout?: number }): Promise<ScriptRecord | null>;
}

/** A VM whose installer may run now. */
interface InstallSubject extends GateSubject {
  target: string;
}

interface InstallStageOptions {
  runId: number;
  start: StartPath;
  installs: Ledger['installs'];
  /** The command per platform (null: none, those VMs are not passed here). */
  commands: Record<InstallPlatform, string | null>;
  batchSize: number;
  newJobUuid: () => string;
  now: () => number;
  logger: Logger;
}

export interface InstallStageResult {
  /** 'absent': the MN has no script library (nothing was sent); 'error': its probe failed this run. */
  library: ScriptLibrarySupport | 'error';
  /** VMs whose installer was started (the call went out under a permit). */
  started: Set<string>;
  /** Of those, the ones whose call ended in doubt (no record yet): the next run polls the job. */
  inDoubt: Set<string>;
  /** VMs the MN refused the script for (a failed job): install-failed. */
  refused: Map<string, ZStackErrorBody>;
  /** VMs a gate kept from starting, with its reason. */
  deferred: Map<string, DeferReason>;
  batches: number;
}

const platformOf = (agentType: AgentType): InstallPlatform => (agentType === 'WindowsOnKvm' ? 'Windows' : 'Linux');

export async function runInstalls(subjects: readonly InstallSubject[], client: InstallClient, opts: InstallStageOptions): Promise<InstallStageResult> {
  const result: InstallStageResult = { library: 'present', started: new Set(), inDoubt: new Set(), refused: new Map(), deferred: new Map(), batches: 0 };
  if (subjects.length === 0) return result;
  try {
    result.library = await client.scriptLibrarySupport();
  } catch (error) {
    opts.logger.warn({ error: errorToJson(error) }, 'could not find out whether the management node has the script library; installs wait for the next run');
    result.library = 'error';
  }
  if (result.library !== 'present') return result;
  let stopped: DeferReason | null = null;
  for (const platform of ['Linux', 'Windows'] as const) {
    const command = opts.commands[platform];
    const vms = subjects.filter((s) => platformOf(s.agentType) === platform);
    if (command === null || vms.length === 0) continue;
    if (stopped !== null) {
      for (const vm of vms) result.deferred.set(vm.vmUuid, stopped);
      continue;
    }
    const script = await ensureScript(installScriptSpec(platform, command), vms[0], client, opts).catch((error: unknown) => {
      opts.logger.warn({ platform, error: errorToJson(error) }, 'could not find or create the install script; installs wait for the next run');
      return null;
    });
    if (script === null) continue;
    if (typeof script !== 'string') {
      stopped = script.refusal;
      for (const vm of vms) result.deferred.set(vm.vmUuid, script.refusal);
      continue;
    }
    for (let i = 0; i < vms.length; i += opts.batchSize) {
      const batch = vms.slice(i, i + opts.batchSize);
      if (stopped === null) stopped = await runBatch(batch, platform, script, client, opts, result);
      else for (const vm of batch) result.deferred.set(vm.vmUuid, stopped);
    }
  }
  return result;
}

/**
 * The script's uuid in ZStack: found by its name (a script of ours from an earlier run, or one whose
 * create job was lost), else created under a permit; `{refusal}` when a gate refused the create.
 */
async function ensureScript(spec: InstallScriptSpec, first: InstallSubject, client: InstallClient, opts: InstallStageOptions): Promise<string | { refusal: DeferReason }> {
  const known = opts.installs.script(spec.key);
  const found = (await client.queryGuestVmScripts([`name=${spec.name}`]))[0]
    ?? (known ? (await client.queryGuestVmScripts([`uuid=${known.resourceUuid}`]))[0] : undefined);
  if (found) {
    if (known?.scriptUuid !== found.uuid) opts.installs.setScriptUuid(spec.key, spec.name, found.uuid, opts.now());
    return found.uuid;
  }
  const resourceUuid = opts.newJobUuid();
  let refusal: DeferReason | null = null;
  const created = await client.createGuestVmScript(
    { resourceUuid, name: spec.name, platform: spec.platform, scriptType: spec.scriptType, content: spec.command, scriptTimeout: LAUNCHER_TIMEOUT_S,
      description: 'guesttools-reconciler: installs GuestTools from the attached ISO' },
    {
      permit: async () => {
        // Creating a script starts nothing on a VM: the run-wide gates decide (window, shutdown, leader, lease).
        const answer = await opts.start.start({
          api: 'CreateGuestVmScript', subject: { vmUuid: resourceUuid, agentType: first.agentType, architecture: null, target: null }, jobUuid: opts.newJobUuid(),
          record: () => opts.installs.rememberScript(spec.key, spec.name, resourceUuid, opts.now()),
        });
        refusal = answer.refusal?.reason ?? null;
        return answer.permit;
      },
    },
  );
  if (created === null) return { refusal: refusal ?? 'shutdown' };
  opts.installs.setScriptUuid(spec.key, spec.name, created.uuid, opts.now());
  opts.logger.info({ platform: spec.platform, scriptUuid: created.uuid, name: spec.name }, 'install script created');
  return created.uuid;
}

/** One batch: asks until the VMs the gates let through are started (or none is left). Returns a run-stopping refusal. */
async function runBatch(
  batch: readonly InstallSubject[],
  platform: InstallPlatform,
  scriptUuid: string,
  client: InstallClient,
  opts: InstallStageOptions,
  result: InstallStageResult,
): Promise<DeferReason | null> {
  let vms = [...batch];
  while (vms.length > 0) {
    const uuids = vms.map((v) => v.vmUuid);
    let jobUuid = '';
    let stop: DeferReason | null = null;
    const refusedHere = new Set<string>();
    const permit = async (attempt: 'first' | 'resend'): Promise<StartPermit | null> => {
      const next = opts.newJobUuid();
      const previous = jobUuid;
      const answer = await opts.start.startMany({
        api: 'ExecuteGuestVmScript', subjects: vms, permitSubject: executeSubject(scriptUuid, uuids), jobUuid: next,
        record: () => {
          if (attempt === 'first') opts.installs.begin(opts.runId, vms, { platform, scriptUuid, jobUuid: next, now: opts.now() });
          else opts.installs.replaceJob(previous, next);
        },
        refused: (refusals) => {
          const first = [...refusals.values()][0];
          if (attempt === 'resend') {
            // Nothing ran (ID.1001); the whole batch waits, as after any refusal that stops the run.
            opts.installs.unstart(opts.runId, previous, first.reason);
            for (const vm of vms) refusedHere.add(vm.vmUuid);
            stop = first.reason;
          }
          for (const [vmUuid, r] of refusals) {
            refusedHere.add(vmUuid);
            opts.installs.deferInstall(opts.runId, vmUuid, r.reason);
            result.deferred.set(vmUuid, r.reason);
            if (r.gate.stopsRun) stop = r.reason;
          }
        },
      });
      if (answer.permit) jobUuid = next;
      return answer.permit;
    };
    let record: ScriptRecord | null = null;
    try {
      record = await client.executeGuestVmScript(scriptUuid, uuids, { permit, scriptTimeout: LAUNCHER_TIMEOUT_S });
    } catch (error) {
      if (jobUuid === '') throw error; // before any call (a login, a ledger write): nothing started
      result.batches++;
      for (const u of uuids) result.started.add(u);
      if (error instanceof ZStackApiError && error.zstack.code !== OPERATION_TIMEOUT) {
        const e = errorToJson(error);
        for (const vm of vms) {
          opts.installs.settle(vm.vmUuid, vm.target, { state: 'install-failed', reason: e.code, errCause: `${e.description}: ${e.details}`, now: opts.now(), runId: opts.runId });
          result.refused.set(vm.vmUuid, e);
        }
        opts.logger.warn({ platform, vms: uuids.length, jobUuid, error: e }, 'the management node refused the install script');
      } else {
        for (const u of uuids) result.inDoubt.add(u);
        const aborted = error instanceof GtrError && error.code === 'GTR_ABORTED';
        opts.logger.warn({ platform, vms: uuids.length, jobUuid, error: errorToJson(error) },
          aborted ? 'install batch abandoned at shutdown; its job is polled by the next run' : 'install batch in doubt: it may have run; the next run polls its job, never sends it again');
      }
      return null;
    }
    if (record !== null) {
      result.batches++;
      for (const u of uuids) result.started.add(u);
      opts.installs.setRecord(jobUuid, record.uuid);
      opts.logger.info({ platform, vms: uuids.length, jobUuid, recordUuid: record.uuid }, 'installer launched in the guests of a batch');
      return null;
    }
    if (stop !== null) {
      for (const vm of vms) if (!refusedHere.has(vm.vmUuid)) result.deferred.set(vm.vmUuid, stop);
      return stop;
    }
    vms = vms.filter((v) => !refusedHere.has(v.vmUuid));
  }
  return null;
}
