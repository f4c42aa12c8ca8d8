// Human output of the install part of `gtr status`: the funnel per group, the failed installs with
// their cause and stderr tail, the VMs awaiting a person's install with the Linux command to paste, and
// what the management node lacks. Nothing at all while nothing was ever attached and install is off.
import { MANUAL_WHY, type installStatusJson } from '../../views/install-status.js';
import { formatTable, type TableOptions } from '../../text/table.js';
import { localTime } from '../../time-format.js';
import { printable } from '../../text/printable.js';
import { wrapText } from '../../text/wrap.js';

type InstallStatus = ReturnType<typeof installStatusJson>;

const STDERR_LINES = 5;
/** VMs awaiting a person listed in the text (the JSON and the page have the run's stored list). */
const AWAITING_SHOWN = 20;

/** `warnedRunId`: the run whose warnings are printed already (the last run's, above): not said twice. */
export function installLines(s: InstallStatus, table: TableOptions, warnedRunId: number | null): string[] {
  const { funnel, failures, awaitingPerson: manual, unavailable } = s;
  const missing = [unavailable.scriptLibrary, unavailable.detach].filter((m) => m !== null);
  const nothing = funnel.length === 0 && failures.total === 0 && manual.total === 0 && missing.length === 0;
  if (nothing && s.mode === 'off') return [];
  const out = ['', `Install in the guest (install.mode ${s.mode}, policy.detachAfterVerify ${s.detachAfterVerify ? 'on' : 'off'}):`];
  if (unavailable.runId !== warnedRunId) for (const m of missing) out.push(`  unavailable (run #${unavailable.runId}): ${printable(m)}`);
  if (funnel.length === 0) out.push('  nothing attached by this reconciler yet.');
  else {
    out.push(formatTable(
      ['agent type', 'arch', 'target', 'attached', 'installing', 'verified', 'detached', 'awaiting', 'install-failed', 'no-evidence', 'detach-failed'],
      funnel.map((g) => [g.agentType ?? '?', g.architecture ?? '?', g.target, g.attached, g.installing, g.verified, g.detached, g.awaiting, g.installFailed, g.noEvidence, g.detachFailed]),
      table,
    ));
  }
  if (failures.total > 0) {
    out.push('', `Install failures (${failures.total} VMs; fix the guest, then gtr retry --vm UUID):`);
    out.push(formatTable(['vm', 'uuid', 'target', 'outcome', 'reason', 'finished'], failures.vms.map((f) => [
      f.vmName ?? '', f.vmUuid, f.target, f.state, f.reason ?? '-', f.finishedAt === null ? '-' : localTime(f.finishedAt),
    ]), table));
    for (const f of failures.vms) {
      if (f.errCause === null && f.stderrTail === null) continue;
      out.push(`  ${f.vmUuid}:`);
      if (f.errCause !== null) out.push(...wrapText(printable(f.errCause), 96).map((l) => `    ${l}`));
      if (f.stderrTail !== null) out.push('    stderr (tail):', ...f.stderrTail.split('\n').slice(-STDERR_LINES).map((l) => `      ${printable(l)}`));
    }
    if (failures.total > failures.vms.length) out.push(`  ... and ${failures.total - failures.vms.length} more (gtr status --json, the status page)`);
  }
  if (manual.total > 0) {
    out.push('', `Awaiting a person's install (${manual.total} VMs, as of run #${manual.runId}):`);
    const shown = manual.vms.slice(0, AWAITING_SHOWN);
    out.push(formatTable(['vm', 'uuid', 'platform', 'why'], shown.map((v) => [v.vmName ?? '', v.vmUuid, v.platform, MANUAL_WHY[v.why] ?? v.why]), table));
    if (manual.total > shown.length) out.push(`  ... and ${manual.total - shown.length} more (gtr status --json, the status page; gtr reconcile --json lists them all under manualInstall)`);
    if (manual.linuxCommand !== null) out.push('In each Linux guest, as root:', ...manual.linuxCommand.split('\n').map((l) => `  ${l}`));
  }
  return out;
}
