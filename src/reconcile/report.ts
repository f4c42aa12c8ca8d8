// The run report: the JSON document of `plan --json` / `reconcile --json`,
// also the source of the human summary.
import type { CatalogTarget, Outcome, RunStatus } from '../domain.js';
import type { ZStackErrorBody } from '../errors.js';
import type { Action, Reason } from '../plan/reasons.js';
import type { GroupCheck } from '../observe/catalog-check.js';


export interface ActionReport {
  vmUuid: string;
  vmName: string;
  current: string | null;
  target: string | null;
  action: Action;
  reason: Reason;
  outcome: Outcome | null;
  error: ZStackErrorBody | null;
  /** Verified by the guest's own report, or by a GuestTools:: tag this reconciler did not send. */
  verifiedBy?: 'guest' | 'tag' | null;
  /** The attach's job uuid (also of an `interrupted` one, whose result the next run's replay records). */
  jobUuid?: string;
  /** Extra facts: the selector that excluded the VM (`policy.exclude.tags: canary`), a probe's error, a user ISO in the CD-ROM, a tag we sent, several tags. */
  detail?: string;
}

export interface RunCounts {
  vms: number;
  attach: number;
  /** install/attached decisions (installs of ISOs attached in earlier runs); absent when there are none. */
  install?: number;
  skip: number;
  defer: number;
  succeeded: number;
  verified: number;
  attached: number;
  failed: number;
  /** PUT sent, result unknown (lost job, MN restart, no answer, SYS.1001): not failed, not in the error budget. */
  'in-doubt': number;
  'not-started': number;
  interrupted: number;
  /** Installers started in the guest (attach or install decisions); evidence comes in a later run. */
  installing: number;
  /** The MN refused the install script for these VMs. */
  'install-failed': number;
  /** Verified on a GuestTools:: tag only (no guest report). */
  verifiedByTag: number;
  regressions: number;
  /** Attaches of earlier runs that stopped before their end whose result this run learned (its journal replay). */
  resolved: number;
  [reason: `${string}/${string}`]: number;
}

/** What each stage of the run did (DESIGN.md 2: attach -> install -> verify -> clean up). */
export interface RunStages {
  attach: { started: number; attached: number; verified: number; failed: number; inDoubt: number };
  install: {
    /** install.mode "qga", or an open rollout with --install. */
    enabled: boolean;
    /** Whether the MN has the script library: null when nothing asked (install off, nothing to install). */
    library: 'present' | 'absent' | 'error' | null;
    /** Installers started in this run, in how many ExecuteGuestVmScript batches. */
    started: number;
    batches: number;
    /** Started, the call's answer unknown: the next run polls the recorded job. */
    inDoubt: number;
    /** A gate kept them from starting (a rollout pause, the window, shutdown...). */
    deferred: number;
    /** Evidence read in this run for installs of this or earlier runs. */
    verified: number;
    installFailed: number;
    noEvidence: number;
    /** Attached in this run without an install: no running guest agent, or no command for the platform. */
    attachOnly: number;
  };
  detach: {
    /** policy.detachAfterVerify. */
    enabled: boolean;
    /** Whether the MN has DetachGuestToolsIsoFromVm: null when nothing asked. */
    api: 'present' | 'absent' | 'error' | null;
    detached: number;
    failed: number;
    inDoubt: number;
    deferred: number;
  };
}

/** An install whose evidence this run read (it may have started in an earlier run). */
interface InstallReport {
  vmUuid: string;
  target: string;
  /** The run that started it. */
  startedBy: number;
  outcome: 'verified' | 'install-failed' | 'failed';
  /** 'no-evidence' (failed), 'InstallFailed', 'detail-failed' or the MN's error code (install-failed). */
  reason: string | null;
  verifiedBy?: 'guest' | 'tag' | null;
  errCause?: string | null;
  stderrTail?: string | null;
}

/**
 * VMs whose install is a person's (no running guest agent, or Windows without install.windows.command)
 * while the ISO this reconciler attached for the target is mounted: attached in this run, or awaiting
 * the install since an earlier one. What to paste in each guest (Linux).
 */
export interface ManualInstall {
  /** The Linux command (install.linux.command, else ZStack's procedure); null when only Windows VMs are listed. */
  linuxCommand: string | null;
  /** All of them; the run's stored stages keep the first MANUAL_INSTALL_STORED (src/reconcile/run.ts) in `vms`. */
  total: number;
  vms: { vmUuid: string; vmName: string; platform: 'Linux' | 'Windows'; why: 'no-agent' | 'no-command' }[];
}

export interface RunReport {
  runId: number;
  status: RunStatus;
  dryRun: boolean;
  planHash: string;
  targets: CatalogTarget[];
  counts: RunCounts;
  catalogChecks: GroupCheck[];
  regressions: { vmUuid: string; from: string; to: string }[];
  message: string | null;
  actions: ActionReport[];
  /** Bookkeeping steps after the run that failed (rollouts, retention, events); the run's record stands. */
  bookkeepingFailures?: string[];
  /** Real runs: what each stage did. */
  stages?: RunStages;
  /** Installs whose evidence this run read. */
  installs?: InstallReport[];
  /** VMs with our ISO mounted awaiting a person's install (no running agent, no Windows command); absent when none. */
  manualInstall?: ManualInstall;
  /** What the run worked around (an MN without the script library or without detach, ...). */
  warnings?: { code: string; message: string }[];
}

export function runStatus(r: { dryRun: boolean; attach: number; succeeded: number; failed: number; halted: boolean; interrupted: boolean }): RunStatus {
  if (r.dryRun) return 'dry-run';
  if (r.interrupted) return 'interrupted';
  if (r.halted) return 'halted';
  if (r.attach === 0) return 'noop';
  if (r.failed === 0) return 'succeeded';
  return r.succeeded > 0 ? 'partial' : 'failed';
}
