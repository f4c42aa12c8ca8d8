// The stored history in the JSON shapes of DESIGN.md section 5 (`runs --json`, `runs show ID --json`).
import type { ActionRecord, RunRecord } from '../ledger/index.js';
import { unlistedDecisions } from './stored-decisions.js';

export function runSummaryJson(r: RunRecord) {
  return { id: r.id, trigger: r.trigger, dryRun: r.dryRun, status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt, counts: r.counts };
}

export function runsJson(runs: readonly RunRecord[]) {
  return { runs: runs.map(runSummaryJson) };
}

export function runJson(run: RunRecord & { actions: ActionRecord[] }) {
  return {
    ...runSummaryJson(run),
    runId: run.id,
    planHash: run.planHash,
    targets: run.targets,
    message: run.message,
    // Not listed in actions: steady-state decisions (e.g. skip/up-to-date), stored as counts only, and
    // decisions unchanged since the VM's last stored one (listed in an earlier run).
    ...unlistedDecisions(run.counts, run.actions),
    actions: run.actions.map((a) => ({
      vmUuid: a.vmUuid,
      vmName: a.vmName,
      current: a.current,
      target: a.target,
      action: a.action,
      reason: a.reason,
      outcome: a.outcome,
      jobUuid: a.jobUuid,
      error: a.error,
      startedAt: a.startedAt,
      finishedAt: a.finishedAt,
    })),
  };
}
