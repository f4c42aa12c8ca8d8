// What a finished (or failed) real run tells the operators through notify.webhooks: run.failed
// (status failed or partial), run.halted, run.interrupted, catalog.problem (empty, mismatch,
// unverified), vm.not-converging and install.failed (all such VMs of the run in one event each). Pure:
// report in, events out.
import { errorToJson, GtrError } from '../errors.js';
import type { GtrEvent } from '../events.js';
import type { RunReport } from './report.js';

const NAMES_SHOWN = 5;
/** A string, not the Reason type: the event works whether or not this planner gives the reason yet. */
const NOT_CONVERGING: string = 'not-converging';

function contractCounts(c: RunReport['counts']): Record<string, number> {
  return { vms: c.vms, attach: c.attach, skip: c.skip, defer: c.defer, succeeded: c.succeeded, failed: c.failed };
}

function someNames(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  return names.length > NAMES_SHOWN ? `${shown} and ${names.length - NAMES_SHOWN} more` : shown;
}

export function runEvents(report: RunReport): GtrEvent[] {
  const { runId, status } = report;
  const counts = contractCounts(report.counts);
  const events: GtrEvent[] = [];
  if (status === 'failed' || status === 'partial') {
    events.push({ event: 'run.failed', runId, status, counts, summary: `run #${runId} ${status}: ${counts.failed} of ${counts.attach} attaches failed` });
  } else if (status === 'halted') {
    events.push({ event: 'run.halted', runId, status, counts, summary: `run #${runId} halted by the error budget (policy.maxErrors) after ${counts.failed} failed attaches` });
  } else if (status === 'interrupted') {
    events.push({ event: 'run.interrupted', runId, status, counts, summary: `run #${runId} was interrupted before every attach started` });
  }
  if (report.targets.length === 0) {
    events.push({ event: 'catalog.problem', runId, reason: 'empty', summary: `run #${runId}: the ISO folder holds no GuestTools ISO; nothing can be attached` });
  }
  const mismatches = report.catalogChecks.filter((c) => c.mismatch);
  if (mismatches.length > 0) {
    const groups = mismatches.map((c) => `${c.group} (ISO folder ${c.catalogVersion}, management node ${c.offeredVersion ?? 'none'})`);
    events.push({ event: 'catalog.problem', runId, reason: 'mismatch', summary: `run #${runId}: catalog mismatch for ${groups.join(', ')}; restart the management node so it loads the new ISO` });
  }
  const unverified = report.catalogChecks.filter((c) => !c.mismatch && c.error !== null);
  if (unverified.length > 0) {
    events.push({ event: 'catalog.problem', runId, reason: 'unverified', summary: `run #${runId}: the catalog check failed for ${unverified.map((c) => c.group).join(', ')}; those groups wait` });
  }
  const stuck = report.actions.filter((a) => a.reason === NOT_CONVERGING);
  if (stuck.length > 0) {
    events.push({
      event: 'vm.not-converging', runId, counts: { vms: stuck.length },
      summary: `run #${runId}: ${stuck.length} VMs do not converge (attached repeatedly without the guest installing): ${someNames(stuck.map((a) => a.vmName || a.vmUuid))}; see gtr retry`,
    });
  }
  const failedInstalls = installFailures(report);
  if (failedInstalls.length > 0) {
    const installFailed = failedInstalls.filter((f) => f.outcome === 'install-failed').length;
    events.push({
      event: 'install.failed', runId, reason: installFailed > 0 ? 'install-failed' : 'no-evidence',
      counts: { vms: failedInstalls.length, installFailed, noEvidence: failedInstalls.length - installFailed },
      summary: `run #${runId}: the install in the guest failed on ${failedInstalls.length} VMs: ${someNames(failedInstalls.map((f) => `${f.name} (${f.why})`))}; `
        + 'gtr status lists the causes; fix the guest, then gtr retry --vm UUID',
    });
  }
  return events;
}

/** Installs whose failure this run learned: the evidence it read (install-failed, no-evidence) and the MN's refusals of its calls. */
function installFailures(report: RunReport): { name: string; outcome: 'install-failed' | 'failed'; why: string }[] {
  const names = new Map(report.actions.map((a) => [a.vmUuid, a.vmName || a.vmUuid]));
  const settled = (report.installs ?? []).filter((i) => i.outcome !== 'verified').map((i) => ({
    name: names.get(i.vmUuid) ?? i.vmUuid,
    outcome: i.outcome as 'install-failed' | 'failed',
    why: i.outcome === 'failed' ? 'no evidence by install.timeout' : (i.reason ?? 'install-failed'),
  }));
  const refused = report.actions.filter((a) => a.outcome === 'install-failed').map((a) => ({
    name: a.vmName || a.vmUuid, outcome: 'install-failed' as const, why: 'the MN refused the script',
  }));
  return [...settled, ...refused];
}

/** A run that stopped with an error: interrupted when aborted, else failed (and a catalog problem when it was the catalog). */
export function failedRunEvents(runId: number, error: unknown): GtrEvent[] {
  const e = errorToJson(error);
  if (error instanceof GtrError && error.code === 'GTR_ABORTED') {
    return [{ event: 'run.interrupted', runId, status: 'interrupted', summary: `run #${runId} was interrupted: ${e.details.slice(0, 300)}` }];
  }
  const events: GtrEvent[] = [{ event: 'run.failed', runId, status: 'failed', summary: `run #${runId} failed: ${e.code}: ${e.details.slice(0, 300)}` }];
  if (error instanceof GtrError && error.code.startsWith('GTR_CATALOG')) {
    events.push({ event: 'catalog.problem', runId, reason: 'empty', summary: `run #${runId}: the ISO catalog is unusable: ${e.details.slice(0, 300)}` });
  }
  return events;
}
