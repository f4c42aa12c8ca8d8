// Crash recovery: runs left `running` by a dead process become `interrupted`; the job uuids they
// recorded before their PUTs are polled to learn what happened, never re-sent.
import type { Logger } from 'pino';
import { errorToJson } from '../errors.js';
import type { Ledger } from '../ledger/index.js';
import type { ZStackClient } from '../zstack/client.js';
import { jobLost } from '../zstack/jobs.js';

export async function recoverInterruptedRuns(
  ledger: Ledger,
  client: Pick<ZStackClient, 'checkJob'>,
  logger: Logger,
  now: () => number,
): Promise<{ runs: number[]; jobs: number }> {
  const { runIds, pendingJobs } = ledger.markInterruptedRuns(now());
  if (runIds.length > 0) logger.warn({ runIds, pendingJobs: pendingJobs.length }, 'marked interrupted runs');
  for (const job of pendingJobs) {
    let outcome: 'attached' | 'failed';
    let error = null;
    let inDoubt = false;
    try {
      const state = await client.checkJob(job.jobUuid);
      if (state.state === 'succeeded' || state.state === 'running') outcome = 'attached';
      else if (state.state === 'failed') {
        outcome = 'failed';
        error = errorToJson(state.error);
      } else {
        // Unknown to the MN: the PUT never arrived, is still on its way (a slow proxy or MN), or its
        // record expired after it ran. Only the first is safe to forget, and they look alike: so the
        // VM waits for reattachAfter rather than risk a second attach (found by the crash soak).
        outcome = 'failed';
        error = errorToJson(jobLost('AttachGuestToolsIsoToVm', job.jobUuid));
        inDoubt = true;
      }
    } catch (e) {
      logger.warn({ jobUuid: job.jobUuid, error: errorToJson(e) }, 'could not poll an interrupted job; leaving it pending');
      continue;
    }
    ledger.resolvePendingJob(job.runId, job.vmUuid, outcome, error, now(), inDoubt);
    logger.info({ runId: job.runId, vmUuid: job.vmUuid, jobUuid: job.jobUuid, outcome }, 'resolved interrupted attach');
  }
  return { runs: runIds, jobs: pendingJobs.length };
}
