// Clean up (DESIGN.md 2.8, policy.detachAfterVerify): once a VM is verified for the target, detach the
// GuestTools ISO this reconciler attached (it also deletes the Windows temp disk). Only VMs with an
// attached_isos row are ever passed here: an ISO we did not attach is never detached. Each detach goes
// through the run's start path (gated, its job uuid recorded before the PUT); one already sent whose
// result is unknown is polled, never sent again. An MN without the API makes the stage unavailable.
import type { Logger } from 'pino';
import { errorToJson, ZStackApiError } from '../errors.js';
import type { AgentType } from '../domain.js';
import type { Ledger, MountedIso } from '../ledger/index.js';
import type { DeferReason } from '../plan/reasons.js';
import type { ActionOptions, ActionResult, DetachSupport, JobCheck } from '../zstack/client.js';
import type { StartPath } from './start-path.js';

interface DetachClient {
  detachSupport(): Promise<DetachSupport>;
  detachGuestToolsIso(vmUuid: string, opts: ActionOptions): Promise<ActionResult>;
  checkJob(jobUuid: string): Promise<JobCheck>;
}

interface DetachCandidate {
  vmUuid: string;
  agentType: AgentType;
  mounted: MountedIso;
}

export interface DetachResult {
  /** 'absent': the MN has no DetachGuestToolsIsoFromVm; 'error': its probe failed this run. */
  api: DetachSupport | 'error';
  detached: string[];
  failed: Map<string, string>;
  /** Sent, result unknown: polled by the next run. */
  inDoubt: string[];
  deferred: Map<string, DeferReason>;
}

interface DetachOptions {
  runId: number;
  start: StartPath;
  installs: Ledger['installs'];
  newJobUuid: () => string;
  now: () => number;
  logger: Logger;
  concurrency: number;
}

export async function detachVerified(candidates: readonly DetachCandidate[], client: DetachClient, opts: DetachOptions): Promise<DetachResult> {
  const result: DetachResult = { api: 'present', detached: [], failed: new Map(), inDoubt: [], deferred: new Map() };
  if (candidates.length === 0) return result;
  try {
    result.api = await client.detachSupport();
  } catch (error) {
    opts.logger.warn({ error: errorToJson(error) }, 'could not find out whether the management node can detach the GuestTools ISO; the next run tries again');
    result.api = 'error';
  }
  if (result.api !== 'present') return result;
  let stopped: DeferReason | null = null;
  let next = 0;
  const lane = async () => {
    while (next < candidates.length) {
      const c = candidates[next++];
      if (stopped !== null) {
        result.deferred.set(c.vmUuid, stopped);
        continue;
      }
      const stop = await detachOne(c, client, opts, result);
      stopped ??= stop;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, candidates.length) }, lane));
  return result;
}

async function detachOne(c: DetachCandidate, client: DetachClient, opts: DetachOptions, result: DetachResult): Promise<DeferReason | null> {
  const done = (error: string | null) => {
    opts.installs.finishDetach(c.vmUuid, error, opts.now());
    if (error === null) result.detached.push(c.vmUuid);
    else result.failed.set(c.vmUuid, error);
  };
  if (c.mounted.detachJob !== null) {
    const state = await client.checkJob(c.mounted.detachJob);
    if (state.state === 'succeeded') done(null);
    else if (state.state === 'failed') done(`${state.error.zstack.code}: ${state.error.zstack.details}`);
    else result.inDoubt.push(c.vmUuid);
    return null;
  }
  let stop: DeferReason | null = null;
  let sent = false;
  try {
    const answer = await client.detachGuestToolsIso(c.vmUuid, {
      permit: async () => {
        const jobUuid = opts.newJobUuid();
        const a = await opts.start.start({
          api: 'DetachGuestToolsIsoFromVm',
          subject: { vmUuid: c.vmUuid, agentType: c.agentType, architecture: null, target: null },
          jobUuid,
          record: () => opts.installs.beginDetach(c.vmUuid, jobUuid, opts.runId),
        });
        if (a.refusal) {
          result.deferred.set(c.vmUuid, a.refusal.reason);
          if (a.refusal.gate.stopsRun) stop = a.refusal.reason;
        } else sent = true;
        return a.permit;
      },
    });
    if (answer === 'done') done(null);
  } catch (error) {
    if (!sent) throw error;
    // Only the management node's own refusal is final; transport trouble is settled by polling the job next time.
    if (error instanceof ZStackApiError) {
      const e = errorToJson(error);
      done(`${e.code}: ${e.details || e.description}`);
      opts.logger.warn({ vmUuid: c.vmUuid, error: e }, 'detach failed');
    } else {
      result.inDoubt.push(c.vmUuid);
      opts.logger.warn({ vmUuid: c.vmUuid, error: errorToJson(error) }, 'detach in doubt; its job is polled by the next run');
    }
  }
  return stop;
}
