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
  /** Verified on a GuestTools:: tag only (no guest report). */
  verifiedByTag: number;
  regressions: number;
  /** Attaches of earlier runs that stopped before their end whose result this run learned (its journal replay). */
  resolved: number;
  [reason: `${string}/${string}`]: number;
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
}

export function runStatus(r: { dryRun: boolean; attach: number; succeeded: number; failed: number; halted: boolean; interrupted: boolean }): RunStatus {
  if (r.dryRun) return 'dry-run';
  if (r.interrupted) return 'interrupted';
  if (r.halted) return 'halted';
  if (r.attach === 0) return 'noop';
  if (r.failed === 0) return 'succeeded';
  return r.succeeded > 0 ? 'partial' : 'failed';
}
