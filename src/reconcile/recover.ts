// Crash recovery, the first step of every real run: runs left `running` by a dead process become
// `interrupted`; the job uuids they recorded before their PUTs are polled to learn what happened, never
// re-sent. Each result is written on the old row with the id of the run that learned it.
import type { Logger } from 'pino';
import { errorToJson, type ZStackErrorBody } from '../errors.js';
import type { Ledger } from '../ledger/index.js';
import type { JobCheck, ZStackClient } from '../zstack/client.js';
import { jobLost } from '../zstack/jobs.js';
import { isInDoubt } from '../apply/apply.js';

export async function recoverInterruptedRuns(
  ledger: Ledger,
  client: Pick<ZStackClient, 'followJob'>,
  logger: Logger,
  now: () => number,
  resolvedBy: number,
): Promise<{ resolved: number }> {
  const { runIds, pendingJobs } = ledger.markInterruptedRuns(now());
  if (runIds.length > 0) logger.warn({ runIds, pendingJobs: pendingJobs.length }, 'marked interrupted runs');
  // Followed together: a run killed with 50 attaches in flight waits for the slowest, not for their sum.
  const states = await Promise.all(pendingJobs.map((job) => client.followJob(job.jobUuid).catch((error: unknown) => ({ state: 'unpolled' as const, error }))));
  let resolved = 0;
  pendingJobs.forEach((job, i) => {
    const state = states[i];
    if (state.state === 'unpolled') {
      logger.warn({ jobUuid: job.jobUuid, error: errorToJson(state.error) }, 'could not poll an interrupted job; leaving it pending');
      return;
    }
    if (state.state === 'running') {
      // Never recorded `attached` before its job succeeded: it stays pending (the VM waits) and the next start polls again.
      logger.info({ runId: job.runId, vmUuid: job.vmUuid, jobUuid: job.jobUuid }, 'interrupted attach still running; polled again at the next start');
      return;
    }
    const { outcome, error } = settled(state, job.jobUuid);
    ledger.resolvePendingJob(job.runId, job.vmUuid, { outcome, error, now: now(), resolvedBy });
    resolved++;
    logger.info({ runId: job.runId, vmUuid: job.vmUuid, jobUuid: job.jobUuid, outcome }, 'resolved interrupted attach');
  });
  return { resolved };
}

/** What an ended job says of its attach. */
function settled(state: Exclude<JobCheck, { state: 'running' }>, jobUuid: string): { outcome: 'attached' | 'failed' | 'in-doubt'; error: ZStackErrorBody | null } {
  if (state.state === 'succeeded') return { outcome: 'attached', error: null };
  // The MN's own timeout (SYS.1001) says the host may still finish it: doubt, not failure.
  if (state.state === 'failed') return { outcome: isInDoubt(state.error) ? 'in-doubt' : 'failed', error: errorToJson(state.error) };
  // Unknown to the MN: the PUT never arrived, is still on its way (a slow proxy or MN), or its record
  // expired after it ran. Only the first is safe to forget, and they look alike: so the VM waits for
  // reattachAfter rather than risk a second attach (found by the crash soak).
  return { outcome: 'in-doubt', error: errorToJson(jobLost('AttachGuestToolsIsoToVm', jobUuid)) };
}
