// What the ledger stores and returns (docs/design.md 6). Reason codes are plain strings
// here: the planner owns their vocabulary, the ledger only keeps them.

export type RunTrigger = 'schedule' | 'cli' | 'rollout';
import type { Outcome as AttachOutcome, RunStatus as FinishedRunStatus } from '../domain.js';

export type RunStatus = FinishedRunStatus | 'running';
export type Outcome = AttachOutcome | 'pending';
/** What confirmed a verified attach: the guest's own report, or a GuestTools:: tag this reconciler did not send. */
export type VerifiedBy = 'guest' | 'tag';
export type DecisionAction = 'attach' | 'skip' | 'defer' | 'install';

export interface ActionError {
  code: string;
  description: string;
  details: string;
}

export interface DecisionRow {
  vmUuid: string;
  vmName: string;
  action: DecisionAction;
  reason: string;
  current: string | null;
  target: string | null;
  agentType: string | null;
  architecture: string | null;
  hostUuid: string | null;
  message?: string | null;
}

/** What a later run's journal replay learned of an `interrupted` attach. */
export type Resolution = 'attached' | 'failed' | 'in-doubt';

export interface ActionRecord extends DecisionRow {
  outcome: Outcome | null;
  /** Of an `interrupted` attach: what its job turned out to be, and the run whose replay learned it; null until then. */
  resolution: Resolution | null;
  resolvedBy: number | null;
  verifiedBy: VerifiedBy | null;
  jobUuid: string | null;
  error: ActionError | null;
  /** ISO-8601 UTC. */
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RunRecord {
  id: number;
  trigger: RunTrigger;
  dryRun: boolean;
  status: RunStatus;
  /** ISO-8601 UTC. */
  startedAt: string;
  /** For a run marked interrupted by a later process: its last sign of life (see interruptedAt). */
  finishedAt: string | null;
  /** When a later process found the run's process gone and marked it interrupted; null otherwise. */
  interruptedAt: string | null;
  planHash: string | null;
  targets: unknown[];
  counts: Record<string, number>;
  message: string | null;
  /** What the run worked around, e.g. an MN without QueryGuestToolsState; [] when nothing. */
  warnings: RunWarning[];
  /** What the run did per stage (attach, install, detach; src/reconcile/report.ts RunStages); null before 0012 or in a dry run. */
  stages: Record<string, unknown> | null;
  pid: number;
  host: string;
  bootId: string | null;
  startTime: string | null;
}

export interface RunWarning {
  /** Stable, for programs (e.g. a doctor): 'guest-tools-state-absent'. */
  code: string;
  message: string;
}

export interface VmState {
  vmUuid: string;
  lastSeenVersion: string | null;
  lastAttachTarget: string | null;
  /** Epoch ms. */
  lastAttachAt: number | null;
  consecutiveFailures: number;
  /** Epoch ms. */
  quarantineUntil: number | null;
  /** e.g. '1.2.0 -> 1.1.0'; cleared when the version moves forward again. */
  regression: string | null;
  /** Attaches of attemptsTarget that went through (or may have); `gtr retry` resets them. */
  attempts: number;
  attemptsTarget: string | null;
  /** The last attach sent its GuestTools:: tag (zstack.recordVersionTag). */
  lastAttachTagged: boolean;
  /** The MN said the last attach did not happen (refused, or ran and failed); false while pending or in doubt. */
  lastAttachFailed: boolean;
  /** Epoch ms: when `gtr retry` last re-armed the VM. */
  retriedAt: number | null;
}

/** The newest started attach of a VM (a job uuid on record): what became of it, as the ledger has it now. */
export interface LastAttach {
  runId: number;
  target: string | null;
  /** `pending` while its job is unresolved (an `interrupted` one resolved by a replay: its resolution); an `in-doubt` one may have run (see errorCode). */
  outcome: Outcome | null;
  /** e.g. GTR_JOB_LOST (the MN does not know the job: lost in a restart, or never arrived), SYS.1006. */
  errorCode: string | null;
  /** Epoch ms when its PUT was permitted. */
  startedAt: number | null;
}

export interface PendingJob {
  runId: number;
  vmUuid: string;
  jobUuid: string;
  target: string | null;
}

export interface LeaseHolder {
  holder: string;
  host: string;
  pid: number;
  /** Epoch ms. */
  acquiredAt: number;
  expiresAt: number;
  purpose: string;
  /** The holder's boot id and process start time (null in rows older than migration 0009). */
  bootId: string | null;
  startTime: string | null;
}

export interface QuarantinePolicy {
  /** Failures in a row before the first quarantine. */
  afterFailures: number;
  /** First quarantine length; doubles with each further failure. */
  baseMs: number;
  maxMs: number;
}

/** Whether process `pid` on `host` still runs; injected by tests, defaults to a signal-0 probe. */
export type { IsAlive, ProcessIdentity } from './process-alive.js';
