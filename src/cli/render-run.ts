// Human summary of a run: targets, counts by action and reason, failures with their ZStack error.
import type { RunReport } from '../reconcile/report.js';
import { printable } from '../text/printable.js';
import { formatTable, type TableOptions } from '../text/table.js';
import { errorBlock } from '../text/wrap.js';
import { settledInstallLines, stageCountLines } from '../views/history.js';

const LIST_LIMIT = 20;

export function renderRun(report: RunReport, table: TableOptions = {}): string {
  const out: string[] = [];
  const label = report.dryRun ? 'Plan' : 'Run';
  out.push(`${label} #${report.runId}: ${report.status}   (plan ${report.planHash.slice(0, 19)}...)`);
  out.push('');
  if (report.targets.length === 0) out.push('No GuestTools ISO found: nothing can be attached.');
  else {
    out.push('Targets (highest version per agent type and ISO architecture):');
    out.push(indent(formatTable(['agent type', 'arch', 'version', 'iso'], report.targets.map((t) => [t.agentType, t.architecture, t.version, t.iso]), { ...table, full: ['iso'] })));
  }
  out.push('');
  const c = report.counts;
  out.push(`VMs: ${c.vms}   attach: ${c.attach}   skip: ${c.skip}   defer: ${c.defer}`);
  const reasons = Object.entries(c)
    .filter(([k]) => k.includes('/'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => [...k.split('/'), n] as [string, string, number]);
  if (reasons.length > 0) out.push(indent(formatTable(['action', 'reason', 'VMs'], reasons, table)));
  if (!report.dryRun && c.attach > 0) {
    out.push('');
    const doubt = c['in-doubt'] ?? 0;
    const interrupted = c.interrupted ?? 0;
    const notStarted = c['not-started'] ?? 0;
    const installing = c.installing ?? 0;
    const installFailed = c['install-failed'] ?? 0;
    out.push(`Outcomes: verified ${c.verified}${installing > 0 ? `, installing ${installing}` : ''}, attached (awaiting install) ${c.attached}${installFailed > 0 ? `, install-failed ${installFailed}` : ''}, failed ${c.failed}` +
      (doubt > 0 ? `, in doubt ${doubt} (may have run: not failed, not in the error budget; they wait for policy.reattachAfter)` : '') +
      (interrupted > 0 ? `, interrupted ${interrupted} (sent, result unknown)` : '') +
      (notStarted > 0 ? `, not started ${notStarted}` : ''));
    // Attaches a signal kept from starting are defers (shutdown): for the operator, not started either.
    const leftOver = notStarted + (c['defer/shutdown'] ?? 0);
    if (interrupted + leftOver > 0) out.push(nextRunWill(interrupted, leftOver));
  }
  out.push(...stageSummary(report));
  if ((c.resolved ?? 0) > 0) {
    out.push('');
    out.push(`Earlier runs: this run learned the result of ${c.resolved} attaches sent by runs that stopped before their end (gtr runs show ID lists them).`);
  }
  if ((c['defer/lease-lost'] ?? 0) > 0) {
    out.push('');
    out.push(`WARNING: this run lost its lease to another run (a takeover): ${c['defer/lease-lost']} attaches not started are deferred (lease-lost); exit 5`);
  }
  const failures = report.actions.filter((a) => a.outcome === 'failed');
  if (failures.length > 0) {
    out.push('');
    out.push('Failures:');
    // The whole ZStack error (code, description, details), wrapped: the cause is often at the end.
    const rows = failures.slice(0, LIST_LIMIT).map((a) => [a.vmName, a.vmUuid, a.error?.code ?? '']);
    out.push(indent(formatTable(['vm', 'uuid', 'code'], rows, table)));
    for (const a of failures.slice(0, LIST_LIMIT)) {
      if (a.error) out.push('', `  ${a.vmUuid}:`, ...errorBlock(a.error, '    '));
    }
    if (failures.length > LIST_LIMIT) out.push(`  ... and ${failures.length - LIST_LIMIT} more (use --json)`);
  }
  if (report.dryRun) {
    const attaches = report.actions.filter((a) => a.action === 'attach');
    if (attaches.length > 0) {
      out.push('');
      out.push('Would attach:');
      const rows = attaches.slice(0, LIST_LIMIT).map((a) => [a.vmName, a.vmUuid, a.current ?? '-', a.target ?? '-', a.reason]);
      out.push(indent(formatTable(['vm', 'uuid', 'current', 'target', 'reason'], rows, table)));
      if (attaches.length > LIST_LIMIT) out.push(`  ... and ${attaches.length - LIST_LIMIT} more (use --json)`);
    }
  }
  if (report.regressions.length > 0) {
    out.push('');
    out.push(`Regressions (version went backwards): ${report.regressions.map((r) => `${r.vmUuid} ${r.from} -> ${r.to}`).slice(0, LIST_LIMIT).join(', ')}`);
  }
  if (report.message) {
    out.push('');
    out.push(`WARNING: ${report.message}`);
  }
  return printable(out.join('\n'), { keepNewlines: true }) + '\n';
}

/** The install and clean-up stages, when either did something or install is on: counts, the failures read, who awaits a person. */
function stageSummary(report: RunReport): string[] {
  const s = report.stages;
  if (!s) return [];
  const detachDid = s.detach.detached + s.detach.failed + s.detach.inDoubt + s.detach.deferred > 0;
  const installDid = s.install.started + s.install.verified + s.install.installFailed + s.install.noEvidence > 0;
  if (!s.install.enabled && !detachDid && !installDid) return [];
  const failed = (report.installs ?? []).filter((i) => i.outcome !== 'verified').slice(0, LIST_LIMIT);
  const manual = report.manualInstall;
  return [
    '', 'Stages:', ...stageCountLines(s).map((l) => `  ${l}`),
    ...(failed.length > 0 ? ['Installs that failed (fix the guest, then gtr retry --vm UUID):', ...settledInstallLines(failed)] : []),
    ...(manual ? [`${manual.total} VMs with the GuestTools ISO attached await a person's install in the guest (gtr status lists them with the Linux command to paste)`] : []),
  ];
}

/** One sentence: what the next run does with what this run left. */
function nextRunWill(interrupted: number, notStarted: number): string {
  const parts = [
    interrupted > 0 ? `polls the jobs of the ${interrupted} sent (never sends them again)` : null,
    notStarted > 0 ? `plans the ${notStarted} not started again` : null,
  ].filter((p) => p !== null);
  return `The next run ${parts.join(' and ')}.`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
