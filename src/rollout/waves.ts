// Wave progression, a pure function of (rollout, waves, member statuses, now): which steps the
// reconciler takes next. A wave completes when every member is verified, skipped for good or failed,
// or when its timeout passes (its unfinished members then count as failures). The next wave starts
// once the soak after the previous one has passed; the rollout completes with its last wave. Failures
// beyond the error budget (counted since the last resume) pause the rollout with reason error-budget.
import type { Limit } from '../config/types.js';
import { errorBudgetFor } from '../apply/limits.js';
import type { RolloutState } from './transitions.js';

export const MEMBER_STATUSES = ['pending', 'attached', 'verified', 'failed', 'skipped'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

/** Finished for the wave: it needs nothing more from this rollout. */
export function isFinal(status: MemberStatus): boolean {
  return status === 'verified' || status === 'skipped' || status === 'failed';
}

export interface WaveView {
  number: number;
  startedAt: number | null;
  completedAt: number | null;
  soakUntil: number | null;
}

export interface MemberView {
  vmUuid: string;
  wave: number;
  status: MemberStatus;
}

export interface ProgressInput {
  state: RolloutState;
  waves: readonly WaveView[];
  members: readonly MemberView[];
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Limit;
  errorsAcknowledged: number;
  now: number;
}

export type ProgressStep =
  | { kind: 'time-out'; wave: number; vmUuids: string[] }
  | { kind: 'complete-wave'; wave: number; soakUntil: number }
  | { kind: 'start-wave'; wave: number }
  | { kind: 'pause'; reason: 'error-budget'; failures: number; budget: number }
  | { kind: 'complete-rollout' };

export function errorBudget(input: Pick<ProgressInput, 'maxErrors' | 'members'>): number {
  return errorBudgetFor(input.maxErrors, input.members.length);
}

export function failuresOf(members: readonly MemberView[]): number {
  return members.filter((m) => m.status === 'failed').length;
}

/** The steps to take now, in order; applying them and asking again gives no further steps. */
export function progress(input: ProgressInput): ProgressStep[] {
  if (input.state !== 'active') return [];
  const waves = input.waves.map((w) => ({ ...w }));
  const members = input.members.map((m) => ({ ...m }));
  const steps: ProgressStep[] = [];
  const budget = errorBudget(input);
  const overBudget = (): ProgressStep | null => {
    const failures = failuresOf(members);
    return failures - input.errorsAcknowledged > budget ? { kind: 'pause', reason: 'error-budget', failures, budget } : null;
  };
  // Each pass takes at most one step per wave event, so the loop ends after a few passes per wave.
  for (let guard = 0; guard < waves.length * 3 + 3; guard++) {
    const pause = overBudget();
    if (pause) return [...steps, pause];
    const current = [...waves].reverse().find((w) => w.startedAt !== null);
    if (!current) {
      if (waves.length === 0) return [...steps, { kind: 'complete-rollout' }];
      waves[0].startedAt = input.now;
      steps.push({ kind: 'start-wave', wave: waves[0].number });
      continue;
    }
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
        for (const m of late) m.status = 'failed';
        steps.push({ kind: 'time-out', wave: current.number, vmUuids: late.map((m) => m.vmUuid) });
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

/** Members of started waves: the only VMs of the rollout's agent types that may be attached. */
export function startedMembers(waves: readonly WaveView[], members: readonly MemberView[]): Set<string> {
  const started = new Set(waves.filter((w) => w.startedAt !== null).map((w) => w.number));
  return new Set(members.filter((m) => started.has(m.wave)).map((m) => m.vmUuid));
}
