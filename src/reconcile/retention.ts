// Ledger retention (`ledger.retainDays`, `ledger.retainRuns`), applied after every real run by
// `gtr reconcile`, the daemon and rollout steps: runs older than retainDays go (0: keep forever), and
// only the newest retainRuns are kept (0: no limit). Their decision rows go with them (cascade).
// A failure here is logged, never fails the run that just finished.
import type { Logger } from 'pino';
import { errorToJson } from '../errors.js';

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  retainDays: number;
  retainRuns: number;
}

interface PruneLedger {
  pruneRuns(r: { olderThan: number; keep: number }): number;
}

/** Deletes what the policy no longer keeps; returns the number of runs deleted. */
export function applyRetention(ledger: PruneLedger, policy: RetentionPolicy, now: number, logger?: Logger): number {
  let deleted = 0;
  try {
    if (policy.retainDays > 0) deleted += ledger.pruneRuns({ olderThan: now - policy.retainDays * DAY_MS, keep: 0 });
    // Every run started before "now + 1 day" (all of them) beyond the newest retainRuns.
    if (policy.retainRuns > 0) deleted += ledger.pruneRuns({ olderThan: now + DAY_MS, keep: policy.retainRuns });
  } catch (error) {
    logger?.warn({ error: errorToJson(error) }, 'ledger retention failed; history is kept until the next run');
    return deleted;
  }
  if (deleted > 0) logger?.info({ deleted, ...policy }, 'ledger retention: old runs deleted');
  return deleted;
}
