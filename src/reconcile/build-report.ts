// The run report of a finished pass: every decision with exactly one outcome per attach (docs/design.md 3),
// the counts (one number per outcome), the run status and the message an operator must read.
import type { ApplyResult } from '../apply/apply.js';
import type { VerifiedBy } from '../ledger/index.js';
import { countDecisions, type Plan } from '../plan/plan.js';
import type { GroupCheck } from '../observe/catalog-check.js';
import type { Outcome } from '../domain.js';
import { runStatus, type ActionReport, type RunCounts, type RunReport } from './report.js';

export function buildReport(r: {
  runId: number;
  dryRun: boolean;
  plan: Plan;
  applied: ApplyResult | null;
  verified: ReadonlyMap<string, VerifiedBy>;
  catalogChecks: GroupCheck[];
  regressions: RunReport['regressions'];
  targets: RunReport['targets'];
  /** Attaches of earlier, stopped runs whose result this run's replay learned (written on their rows). */
  resolved?: number;
}): RunReport {
  const deferred = r.applied?.deferred;
  const abandoned = new Map((r.applied?.abandoned ?? []).map((a) => [a.vmUuid, a.jobUuid]));
  const actions: ActionReport[] = r.plan.decisions.map((d) => {
    const gated = deferred?.get(d.vmUuid);
    const result = r.applied?.results.get(d.vmUuid);
    let outcome: Outcome | null = null;
    if (d.action === 'attach' && gated === undefined && !r.dryRun) {
      if (result) outcome = result.outcome === 'attached' ? (r.verified.has(d.vmUuid) ? 'verified' : 'attached') : result.outcome;
      else outcome = abandoned.has(d.vmUuid) ? 'interrupted' : 'not-started';
    }
    const action: ActionReport = {
      vmUuid: d.vmUuid,
      vmName: d.vmName,
      current: d.current,
      target: d.target,
      action: gated ? 'defer' : d.action,
      reason: gated ?? d.reason,
      outcome,
      error: result?.error ?? null,
    };
    // Only where they say something: a 100k-VM report stays the size it was.
    if (d.message !== null) action.detail = d.message;
    if (outcome === 'verified') action.verifiedBy = r.verified.get(d.vmUuid) ?? null;
    const jobUuid = result?.jobUuid ?? abandoned.get(d.vmUuid);
    if (jobUuid !== undefined) action.jobUuid = jobUuid;
    return action;
  });
  const byOutcome: Record<Outcome, number> = { verified: 0, attached: 0, failed: 0, 'in-doubt': 0, 'not-started': 0, interrupted: 0 };
  for (const a of actions) if (a.outcome !== null) byOutcome[a.outcome]++;
  const verifiedByTag = actions.filter((a) => a.verifiedBy === 'tag').length;
  const succeeded = byOutcome.verified + byOutcome.attached;
  const counts = { ...countDecisions(actions), ...byOutcome, succeeded, verifiedByTag, regressions: r.regressions.length, resolved: r.resolved ?? 0 } as RunCounts;
  const status = runStatus({
    dryRun: r.dryRun,
    attach: counts.attach,
    succeeded,
    failed: byOutcome.failed,
    halted: r.applied?.halted ?? false,
    interrupted: byOutcome['not-started'] + byOutcome.interrupted > 0 || r.applied?.stoppedBy === 'shutdown' || r.applied?.stoppedBy === 'lease-lost' || r.applied?.stoppedBy === 'not-leader',
  });
  return {
    runId: r.runId,
    status,
    dryRun: r.dryRun,
    planHash: r.plan.hash,
    targets: r.targets,
    counts,
    catalogChecks: r.catalogChecks,
    regressions: r.regressions,
    message: runMessage(r.catalogChecks, r.applied?.stoppedBy === 'outside-window' ? counts['defer/outside-window'] ?? 0 : null),
    actions,
  };
}

/** Said loudly: a group the MN does not offer the catalog's ISO for, or whose probe failed. */
function runMessage(checks: readonly GroupCheck[], closedWindowDeferred: number | null): string | null {
  const parts: string[] = [];
  if (closedWindowDeferred !== null) {
    parts.push(`the maintenance window closed during the run: ${closedWindowDeferred} attaches not started are deferred (outside-window); those in flight finished`);
  }
  const mismatches = checks.filter((c) => c.mismatch);
  if (mismatches.length > 0) {
    parts.push(`catalog mismatch for ${mismatches.map((c) => `${c.group} (ISO folder ${c.catalogVersion}, management node offers ${c.offeredVersion ?? 'the VM its current version'})`).join(', ')}: restart the management node so it loads the new ISO`);
  }
  const failed = checks.filter((c) => !c.mismatch && c.error !== null);
  if (failed.length > 0) {
    parts.push(`catalog probe failed for ${failed.map((c) => `${c.group} (${c.error ?? ''})`).join(', ')}: those VMs are deferred (catalog-unverified) until a probe succeeds`);
  }
  return parts.length > 0 ? parts.join('; ') : null;
}
