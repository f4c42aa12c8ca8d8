// The run report of a finished pass: every decision with exactly one outcome per attach (docs/design.md 3),
// the counts (one number per outcome), the run status and the message an operator must read.
import type { ApplyResult } from '../apply/apply.js';
import type { VerifiedBy } from '../ledger/index.js';
import { countDecisions, type Plan } from '../plan/plan.js';
import type { GroupCheck } from '../observe/catalog-check.js';
import type { Outcome } from '../domain.js';
import { runStatus, type ActionReport, type ManualInstall, type RunCounts, type RunReport, type RunStages } from './report.js';
import type { InstallStageResult } from '../apply/install.js';
import type { DetachResult } from '../apply/detach.js';
import type { SettledInstall } from './install-evidence.js';

/** What the install and clean-up stages of a real run did (absent: a dry run). */
interface AfterAttach {
  installEnabled: boolean;
  /** The library's answer when asked before planning (null: not asked). */
  library: RunStages['install']['library'];
  install: InstallStageResult | null;
  detachEnabled: boolean;
  detach: DetachResult | null;
  settled: readonly SettledInstall[];
  /** The Linux install command, for VMs awaiting a person's install. */
  linuxCommand: string | null;
  /** The ISOs this reconciler attached, as the run read them before planning. */
  mounted: ReadonlyMap<string, { target: string }>;
}

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
  after?: AfterAttach;
}): RunReport {
  const inst = r.after?.install ?? null;
  const deferred = r.applied?.deferred;
  const abandoned = new Map((r.applied?.abandoned ?? []).map((a) => [a.vmUuid, a.jobUuid]));
  const actions: ActionReport[] = r.plan.decisions.map((d) => {
    const gated = d.action === 'install' ? inst?.deferred.get(d.vmUuid) : deferred?.get(d.vmUuid);
    const result = r.applied?.results.get(d.vmUuid);
    let outcome: Outcome | null = null;
    if (d.action === 'attach' && gated === undefined && !r.dryRun) {
      if (result) outcome = result.outcome === 'attached' ? (r.verified.has(d.vmUuid) ? 'verified' : installOutcome(inst, d.vmUuid) ?? 'attached') : result.outcome;
      else outcome = abandoned.has(d.vmUuid) ? 'interrupted' : 'not-started';
    }
    if (d.action === 'install' && gated === undefined && !r.dryRun) outcome = installOutcome(inst, d.vmUuid) ?? 'not-started';
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
  const byOutcome: Record<Outcome, number> = { verified: 0, attached: 0, failed: 0, 'in-doubt': 0, 'not-started': 0, interrupted: 0, installing: 0, 'install-failed': 0 };
  let succeeded = 0;
  for (const a of actions) {
    if (a.outcome === null) continue;
    byOutcome[a.outcome]++;
    // An attach that went through, whatever became of its install.
    if (a.action === 'attach' && ['verified', 'attached', 'installing', 'install-failed'].includes(a.outcome)) succeeded++;
  }
  const verifiedByTag = actions.filter((a) => a.verifiedBy === 'tag').length;
  const counts = { ...countDecisions(actions), ...byOutcome, succeeded, verifiedByTag, regressions: r.regressions.length, resolved: r.resolved ?? 0 } as RunCounts;
  const status = runStatus({
    dryRun: r.dryRun,
    attach: counts.attach,
    succeeded,
    failed: byOutcome.failed,
    halted: r.applied?.halted ?? false,
    interrupted: byOutcome['not-started'] + byOutcome.interrupted > 0 || r.applied?.stoppedBy === 'shutdown' || r.applied?.stoppedBy === 'lease-lost' || r.applied?.stoppedBy === 'not-leader',
  });
  const report: RunReport = {
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
  if (r.after) Object.assign(report, afterAttach(r.after, r.plan, actions));
  return report;
}

function installOutcome(inst: InstallStageResult | null, vmUuid: string): Outcome | null {
  if (inst?.refused.has(vmUuid)) return 'install-failed';
  return inst?.started.has(vmUuid) ? 'installing' : null;
}

/** The stages, the installs settled and the VMs awaiting a person's install. */
function afterAttach(after: AfterAttach, plan: Plan, actions: readonly ActionReport[]): Pick<RunReport, 'stages' | 'installs' | 'manualInstall'> {
  const manual: ManualInstall['vms'] = [];
  let attach = { started: 0, attached: 0, verified: 0, failed: 0, inDoubt: 0 };
  // actions[i] is plan.decisions[i]'s (buildReport maps them in order): no 100k-entry map to look them up.
  for (let i = 0; i < plan.decisions.length; i++) {
    const d = plan.decisions[i];
    const a = actions[i];
    if (d.action !== 'attach' || a.action !== 'attach' || a.outcome === null || a.outcome === 'not-started') continue;
    attach = {
      started: attach.started + 1,
      attached: attach.attached + (a.outcome === 'failed' || a.outcome === 'in-doubt' || a.outcome === 'interrupted' ? 0 : 1),
      verified: attach.verified + (a.outcome === 'verified' ? 1 : 0),
      failed: attach.failed + (a.outcome === 'failed' ? 1 : 0),
      inDoubt: attach.inDoubt + (a.outcome === 'in-doubt' || a.outcome === 'interrupted' ? 1 : 0),
    };
    if (a.outcome === 'attached' && (d.install === 'no-agent' || d.install === 'no-command')) manual.push(manualEntry(d, d.install));
  }
  const attachedNow = manual.length;
  // And those attached in an earlier run whose ISO is still ours and mounted for the target: still a person's.
  for (const d of plan.decisions) {
    if (d.action !== 'defer' || d.reason !== 'awaiting-install' || (d.install !== 'no-agent' && d.install !== 'no-command')) continue;
    if (d.target !== null && after.mounted.get(d.vmUuid)?.target === d.target) manual.push(manualEntry(d, d.install));
  }
  const settledAs = (outcome: string, reason?: string) => after.settled.filter((s) => s.outcome === outcome && (reason === undefined || s.reason === reason)).length;
  const stages: RunStages = {
    attach,
    install: {
      enabled: after.installEnabled, library: after.install?.library ?? after.library,
      started: after.install?.started.size ?? 0, batches: after.install?.batches ?? 0, inDoubt: after.install?.inDoubt.size ?? 0,
      deferred: after.install?.deferred.size ?? 0, verified: settledAs('verified'),
      installFailed: settledAs('install-failed') + (after.install?.refused.size ?? 0), noEvidence: settledAs('failed', 'no-evidence'), attachOnly: attachedNow,
    },
    detach: {
      enabled: after.detachEnabled, api: after.detach?.api ?? null, detached: after.detach?.detached.length ?? 0,
      failed: after.detach?.failed.size ?? 0, inDoubt: after.detach?.inDoubt.length ?? 0, deferred: after.detach?.deferred.size ?? 0,
    },
  };
  const out: Pick<RunReport, 'stages' | 'installs' | 'manualInstall'> = { stages };
  if (after.settled.length > 0) {
    out.installs = after.settled.map((s) => ({
      vmUuid: s.vmUuid, target: s.target, startedBy: s.startedBy, outcome: s.outcome, reason: s.reason,
      ...(s.verifiedBy ? { verifiedBy: s.verifiedBy } : {}), ...(s.errCause ? { errCause: s.errCause } : {}), ...(s.stderrTail ? { stderrTail: s.stderrTail } : {}),
    }));
  }
  if (manual.length > 0) out.manualInstall = { linuxCommand: manual.some((m) => m.platform === 'Linux') ? after.linuxCommand : null, total: manual.length, vms: manual };
  return out;
}

function manualEntry(d: Plan['decisions'][number], why: 'no-agent' | 'no-command'): ManualInstall['vms'][number] {
  return { vmUuid: d.vmUuid, vmName: d.vmName, platform: d.agentType === 'WindowsOnKvm' ? 'Windows' : 'Linux', why };
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
