// Wave progression, a pure function of (rollout, waves, member statuses, now): which steps the
// reconciler takes next. A wave completes when every member is done (verified on the guest's evidence,
// skipped for good, or failed: there is no "done without evidence", docs/design.md 7), or when its timeout
// passes: its unfinished members then count as failed (`no-evidence`), except members that are not
// running, which move to the last wave. The next wave starts once the
// soak after the previous one has passed; the rollout completes with its last wave. The error budget
// is per wave, on the wave's own members: failures beyond it (counted since the last resume) pause
// the rollout with reason error-budget before the next wave starts.
import type { Limit } from '../count-or-percent.js';
import { errorBudgetFor } from '../apply/limits.js';
import type { RolloutState } from './transitions.js';

/**
 * pending: not attached yet; attached: attached and waiting for the guest's evidence; installing: the
 * installer was started in the guest (rollout start --install, install.mode qga); verified: the guest
 * shows the target; failed: the attach failed, was lost (GTR_JOB_LOST), or no evidence came within the
 * wave timeout (no-evidence); skipped: never for this rollout (no CD-ROM, excluded, gone).
 */
export const MEMBER_STATUSES = ['pending', 'attached', 'installing', 'verified', 'failed', 'skipped'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/** Reason of a member failed at its wave's timeout: attached (or not even that) and the guest never showed the target. */
export const NO_EVIDENCE = 'no-evidence';

/** Reason kept on a pending member the last run saw stopped: at the wave timeout it moves on, not fails. */
export const NOT_RUNNING = 'not-running';

/** Done for the wave: it needs nothing more from this rollout. */
export function isFinal(status: MemberStatus): boolean {
  return status === 'verified' || status === 'skipped' || status === 'failed';
}

export interface WaveView {
  number: number;
  startedAt: number | null;
  completedAt: number | null;
  soakUntil: number | null;
  errorsAcknowledged: number;
}

interface MemberView {
  vmUuid: string;
  wave: number;
  status: MemberStatus;
  reason: string | null;
}

export interface ProgressInput {
  state: RolloutState;
  waves: readonly WaveView[];
  members: readonly MemberView[];
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Limit;
  now: number;
}

export type ProgressStep =
  | { kind: 'time-out'; wave: number; vmUuids: string[]; moved: string[]; lastWave: number }
  | { kind: 'complete-wave'; wave: number; soakUntil: number }
  | { kind: 'start-wave'; wave: number }
  | { kind: 'pause'; reason: 'error-budget'; wave: number; failures: number; budget: number }
  | { kind: 'complete-rollout' };

/** Failures of `wave` beyond its budget count, and that budget (percent of its own members, rounded down). */
export function waveBudget(wave: Pick<WaveView, 'number' | 'errorsAcknowledged'>, members: readonly MemberView[], maxErrors: Limit) {
  const own = members.filter((m) => m.wave === wave.number);
  const failures = own.filter((m) => m.status === 'failed').length;
  return { failures, budget: errorBudgetFor(maxErrors, own.length), exceeded: failures - wave.errorsAcknowledged > errorBudgetFor(maxErrors, own.length) };
}

/** The wave that runs or ran last: the highest started one. */
export function currentWave<W extends WaveView>(waves: readonly W[]): W | null {
  return [...waves].reverse().find((w) => w.startedAt !== null) ?? null;
}

/** The steps to take now, in order; applying them and asking again gives no further steps. */
export function progress(input: ProgressInput): ProgressStep[] {
  if (input.state !== 'active') return [];
  const waves = input.waves.map((w) => ({ ...w }));
  const members = input.members.map((m) => ({ ...m }));
  const steps: ProgressStep[] = [];
  const last = waves[waves.length - 1];
  // Each pass takes at most one step per wave event, so the loop ends after a few passes per wave.
  for (let guard = 0; guard < waves.length * 3 + 3; guard++) {
    const current = currentWave(waves);
    if (!current) {
      if (waves.length === 0) return [...steps, { kind: 'complete-rollout' }];
      waves[0].startedAt = input.now;
      steps.push({ kind: 'start-wave', wave: waves[0].number });
      continue;
    }
    const budget = waveBudget(current, members, input.maxErrors);
    if (budget.exceeded) return [...steps, { kind: 'pause', reason: 'error-budget', wave: current.number, failures: budget.failures, budget: budget.budget }];
    if (current.completedAt === null) {
      const own = members.filter((m) => m.wave === current.number);
      if (own.every((m) => isFinal(m.status))) {
        current.completedAt = input.now;
        current.soakUntil = input.now + input.soakMs;
        steps.push({ kind: 'complete-wave', wave: current.number, soakUntil: current.soakUntil });
        continue;
      }
      if (input.now - (current.startedAt ?? input.now) >= input.waveTimeoutMs) {
        const late = own.filter((m) => !isFinal(m.status));
        // Stopped members move to the last wave (and wait there); in the last wave they can only fail.
        const canMove = current !== last;
        const moved = late.filter((m) => canMove && m.status === 'pending' && m.reason === NOT_RUNNING);
        const failed = late.filter((m) => !moved.includes(m));
        for (const m of failed) m.status = 'failed';
        for (const m of moved) m.wave = last.number;
        steps.push({ kind: 'time-out', wave: current.number, vmUuids: failed.map((m) => m.vmUuid), moved: moved.map((m) => m.vmUuid), lastWave: last.number });
        continue;
      }
      return steps;
    }
    const next = waves.find((w) => w.number === current.number + 1);
    if (!next) return [...steps, { kind: 'complete-rollout' }];
    if (input.now < (current.soakUntil ?? 0)) return steps;
    next.startedAt = input.now;
    steps.push({ kind: 'start-wave', wave: next.number });
  }
  return steps;
}

/** Members of started waves with their targets: the only VMs of the rollout's groups that may be attached. */
export function startedMembers(waves: readonly WaveView[], members: readonly (MemberView & { target: string })[]): Map<string, string> {
  const started = new Set(waves.filter((w) => w.startedAt !== null).map((w) => w.number));
  return new Map(members.filter((m) => started.has(m.wave)).map((m) => [m.vmUuid, m.target]));
}
