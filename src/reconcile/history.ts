// The stored history in the JSON shapes of DESIGN.md section 5 (`runs --json`, `runs show ID --json`).
import type { ActionRecord, RunRecord } from '../ledger/index.js';
import { unlistedDecisions } from './stored-decisions.js';

export function runSummaryJson(r: RunRecord) {
  return { id: r.id, trigger: r.trigger, dryRun: r.dryRun, status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt, counts: r.counts };
}

export function runsJson(runs: readonly RunRecord[]) {
  return { runs: runs.map(runSummaryJson) };
}

function actionJson(a: ActionRecord) {
  return {
    vmUuid: a.vmUuid,
    vmName: a.vmName,
    current: a.current,
    target: a.target,
    action: a.action,
    reason: a.reason,
    outcome: a.outcome,
    verifiedBy: a.verifiedBy,
    jobUuid: a.jobUuid,
    detail: a.message,
    error: a.error,
    startedAt: a.startedAt,
    finishedAt: a.finishedAt,
    ...(a.message === null ? {} : { detail: a.message }),
  };
}

/** The run without its decisions; `stored` tallies the decisions it stored (one per row, or with `n`). */
function runHeadJson(run: RunRecord, stored: readonly { action: string; reason: string; n?: number }[]) {
  return {
    ...runSummaryJson(run),
    runId: run.id,
    planHash: run.planHash,
    targets: run.targets,
    message: run.message,
    warnings: run.warnings,
    // Not listed in actions: steady-state decisions (e.g. skip/up-to-date), stored as counts only, and
    // decisions unchanged since the VM's last stored one (listed in an earlier run).
    ...unlistedDecisions(run.counts, stored),
  };
}

export function runJson(run: RunRecord & { actions: ActionRecord[] }) {
  return { ...runHeadJson(run, run.actions), actions: run.actions.map(actionJson) };
}

/** One page of a run's stored decisions (the status page's /runs/ID): `total` of the filter, `kinds` of the run. */
export function runPageJson(run: RunRecord & { kinds: { action: string; reason: string; n: number }[]; total: number; rows: ActionRecord[] }, page: number, pageSize: number) {
  return { ...runHeadJson(run, run.kinds), kinds: run.kinds, total: run.total, page, pageSize, actions: run.rows.map(actionJson) };
}
