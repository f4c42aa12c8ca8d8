// The stored history in the JSON shapes of `runs --json` and `runs show ID --json` (README "Usage").
import type { ActionRecord, RunRecord } from '../ledger/index.js';
import { MANUAL_WHY } from './install-status.js';
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
    // What each stage did (attach, install, detach), the installs it settled and the VMs awaiting a person.
    ...(run.stages === null ? {} : { stages: run.stages }),
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

const num = (o: unknown, k: string): number => (typeof o === 'object' && o !== null && typeof (o as Record<string, unknown>)[k] === 'number' ? (o as Record<string, number>)[k] : 0);
const list = (o: unknown, k: string): Record<string, unknown>[] => {
  const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
  return Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null) as Record<string, unknown>[]) : [];
};

/** What each stage of a run did, one line per stage (attach, install, detach). */
export function stageCountLines(stages: object): string[] {
  const { attach, install, detach } = stages as Record<string, unknown>;
  return [
    `attach: started ${num(attach, 'started')}, attached ${num(attach, 'attached')}, verified ${num(attach, 'verified')}, failed ${num(attach, 'failed')}, in doubt ${num(attach, 'inDoubt')}`,
    `install: started ${num(install, 'started')} in ${num(install, 'batches')} batches, in doubt ${num(install, 'inDoubt')}, deferred ${num(install, 'deferred')}; `
      + `evidence read: verified ${num(install, 'verified')}, install-failed ${num(install, 'installFailed')}, no-evidence ${num(install, 'noEvidence')}; attach only ${num(install, 'attachOnly')}`,
    `detach: detached ${num(detach, 'detached')}, detach-failed ${num(detach, 'failed')}, in doubt ${num(detach, 'inDoubt')}, deferred ${num(detach, 'deferred')}`,
  ];
}

/** One line per install whose evidence a run read: its outcome, cause and stderr tail. */
export function settledInstallLines(installs: readonly object[]): string[] {
  return (installs as readonly Record<string, unknown>[]).map((i) => {
    const cause = typeof i.errCause === 'string' ? `: ${i.errCause}` : '';
    const stderr = typeof i.stderrTail === 'string' ? `\n    stderr: ${i.stderrTail.split('\n').join('\n    ')}` : '';
    return `  install ${String(i.vmUuid)} (started by run ${String(i.startedBy)}): ${String(i.outcome)}${i.reason ? ` (${String(i.reason)})` : ''}${cause}${stderr}`;
  });
}

/** `runs show`: what each stage of the run did, as lines of text (empty for runs without stages). */
export function stagesText(stages: Record<string, unknown> | null): string {
  if (stages === null) return '';
  const lines = [...stageCountLines(stages), ...settledInstallLines(list(stages, 'installs'))];
  const manual = stages.manualInstall;
  const vms = list(manual, 'vms');
  if (vms.length > 0) {
    const total = num(manual, 'total') || vms.length;
    lines.push(`${total} VMs with the GuestTools ISO attached await a person's install in the guest${total > vms.length ? ` (the first ${vms.length} listed)` : ''}:`);
    for (const v of vms) lines.push(`  ${String(v.vmUuid)} ${String(v.platform)}: ${MANUAL_WHY[String(v.why)] ?? String(v.why)}`);
    const command = (manual as Record<string, unknown>).linuxCommand;
    if (typeof command === 'string') lines.push('in each Linux guest, as root:', ...command.split('\n').map((l) => `  ${l}`));
  }
  return `${lines.join('\n')}\n`;
}
