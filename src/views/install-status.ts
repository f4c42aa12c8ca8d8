// The install part of `gtr status --json` and the status page (issue 23 step 7), from the ledger alone:
// the funnel per group of the ISOs this reconciler attached (attached -> installing -> verified ->
// detached), the failed installs with their cause, the VMs awaiting a person's install with the Linux
// command to paste, and what the management node lacks (no script library, no detach).
import type { Config } from '../config/schema.js';
import type { FunnelCount, Ledger, RunRecord } from '../ledger/index.js';
import { iso } from '../time-format.js';
import { DETACH_ABSENT, LIBRARY_ABSENT } from '../reconcile/run.js';

const INSTALL_FAILURES_PAGE_SIZE = 50;

/** Why a VM's install is a person's (ManualInstall's `why`), as every view says it. */
export const MANUAL_WHY: Readonly<Record<string, string>> = { 'no-agent': 'no running guest agent', 'no-command': 'no install.windows.command' };

/** One group's funnel. attached = awaiting + installing + verified + installFailed + noEvidence; detached and detachFailed are of the verified. */
interface FunnelRow {
  agentType: string | null;
  architecture: string | null;
  target: string;
  attached: number;
  installing: number;
  verified: number;
  detached: number;
  /** Attached, no installer started yet: the next run's install, or a person's. */
  awaiting: number;
  installFailed: number;
  noEvidence: number;
  detachFailed: number;
}

function funnelRows(counts: readonly FunnelCount[]): FunnelRow[] {
  const rows = new Map<string, FunnelRow>();
  for (const c of counts) {
    const key = JSON.stringify([c.agentType, c.architecture, c.target]);
    const row = rows.get(key) ?? { agentType: c.agentType, architecture: c.architecture, target: c.target, attached: 0, installing: 0, verified: 0, detached: 0, awaiting: 0, installFailed: 0, noEvidence: 0, detachFailed: 0 };
    rows.set(key, row);
    row.attached += c.count;
    if (c.stage === 'awaiting') row.awaiting += c.count;
    else if (c.stage === 'installing') row.installing += c.count;
    else if (c.stage === 'install-failed') row.installFailed += c.count;
    else if (c.stage === 'no-evidence') row.noEvidence += c.count;
    else {
      row.verified += c.count;
      if (c.stage === 'detached') row.detached += c.count;
      if (c.stage === 'detach-failed') row.detachFailed += c.count;
    }
  }
  return [...rows.values()];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null);

/** The newest real run that recorded its stages (a dry run has none). */
function newestStagedRun(ledger: Ledger): RunRecord | undefined {
  return ledger.listRuns(50).find((r) => r.stages !== null);
}

/** VMs awaiting a person's install as the newest real run listed them (its stored list is cut at 200; `total` is whole). */
function awaitingPerson(run: RunRecord | undefined) {
  const manual = obj(run?.stages?.manualInstall);
  const vms = Array.isArray(manual?.vms) ? manual.vms.flatMap((v) => {
    const o = obj(v);
    return o && typeof o.vmUuid === 'string' ? [{ vmUuid: o.vmUuid, vmName: typeof o.vmName === 'string' ? o.vmName : null, platform: String(o.platform), why: String(o.why) }] : [];
  }) : [];
  return {
    runId: run?.id ?? null,
    total: typeof manual?.total === 'number' ? manual.total : vms.length,
    linuxCommand: typeof manual?.linuxCommand === 'string' ? manual.linuxCommand : null,
    vms,
  };
}

const warningOf = (run: RunRecord | undefined, code: string): string | null => run?.warnings.find((w) => w.code === code)?.message ?? null;

export function installStatusJson(ledger: Ledger, config: Pick<Config, 'install' | 'policy'>) {
  const { counts, failures } = ledger.installFunnel(INSTALL_FAILURES_PAGE_SIZE);
  const run = newestStagedRun(ledger);
  return {
    mode: config.install.mode,
    detachAfterVerify: config.policy.detachAfterVerify,
    funnel: funnelRows(counts),
    failures: {
      total: failures.total,
      vms: failures.rows.map((f) => ({ ...f, finishedAt: f.finishedAt === null ? null : iso(f.finishedAt), fix: `gtr retry --vm ${f.vmUuid}` })),
    },
    awaitingPerson: awaitingPerson(run),
    // What the newest real run found the management node without: that run's warning, or null.
    unavailable: {
      runId: run?.id ?? null,
      scriptLibrary: warningOf(run, LIBRARY_ABSENT.code),
      detach: warningOf(run, DETACH_ABSENT.code),
    },
  };
}
