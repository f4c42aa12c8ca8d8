// The stored history in the JSON shapes of `runs --json` and `runs show ID --json` (README "Usage").
import type { ActionRecord, RunRecord } from '../ledger/index.js';
import { unlistedDecisions } from '../reconcile/stored-decisions.js';

export function runSummaryJson(r: RunRecord) {
  return {
    id: r.id, trigger: r.trigger, dryRun: r.dryRun, status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt,
    // A run a later process found dead: finishedAt is its last sign of life, this when it was marked.
    ...(r.interruptedAt === null ? {} : { interruptedAt: r.interruptedAt }),
    counts: r.counts,
  };
}

/**
 * A decision's outcome as people read it: an `interrupted` attach with what a later run's replay learned
 * of it ("interrupted -> attached, resolved by run 12"), or that nobody knows yet.
 */
export function outcomeText(a: Pick<ActionRecord, 'outcome'> & Partial<Pick<ActionRecord, 'resolution' | 'resolvedBy'>>): string {
  if (a.outcome !== 'interrupted') return a.outcome ?? '-';
  if (!a.resolution) return 'interrupted (job not resolved yet: the next run polls it)';
  return `interrupted -> ${a.resolution}${a.resolvedBy == null ? '' : `, resolved by run ${a.resolvedBy}`}`;
}

/** The run's time span, and for a run marked interrupted by a later process, when that was. */
/** `time` shows each instant (the CLI: the local zone with its offset; the status page: as stored, UTC). */
export function runSpanText(r: Pick<RunRecord, 'startedAt' | 'finishedAt'> & { interruptedAt?: string | null }, time: (at: string) => string = (at) => at): string {
  const span = `${time(r.startedAt)} .. ${r.finishedAt === null ? 'running' : time(r.finishedAt)}`;
  return r.interruptedAt == null ? span : `${span} (last seen alive; found stopped and marked interrupted at ${time(r.interruptedAt)})`;
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
    ...(a.resolution === null ? {} : { resolution: a.resolution, resolvedBy: a.resolvedBy }),
    verifiedBy: a.verifiedBy,
    jobUuid: a.jobUuid,
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
