// What a reconcile run tells about rollout members: a pure mapping from the run's per-VM decision and
// outcome to the member's new status. The evidence rules are the planner's (docs/design.md 3 and 7): a member
// is verified when the run verified its attach, or the plan's current version is at or past the
// member's target and comes from the guest's report or a tag this reconciler did not send (our own
// tag, zstack.recordVersionTag, is never evidence). There is no "done without evidence": a member
// attached and waiting stays `attached` until the guest shows the target or its wave times out. A
// member whose attach was lost (GTR_JOB_LOST: the MN does not know the job, in the run or found by the
// replay of a crashed run) is failed for the wave, although the run counts that attach as in doubt.
import { compareVersions, parseVersion } from '../tools-version.js';
import type { AgentType, Outcome } from '../domain.js';
import type { VersionSource } from '../plan/plan.js';
import { reasonsWhere, type Action } from '../plan/reasons.js';
import { NOT_RUNNING, type MemberStatus } from './waves.js';

/** The error code of an attach whose job the MN does not know (src/zstack/jobs.ts). */
export const JOB_LOST = 'GTR_JOB_LOST';

/** One VM as a run saw it: the plan's decision joined with the apply outcome. */
export interface RunObservation {
  vmUuid: string;
  vmName: string;
  agentType: AgentType;
  architecture: string;
  /** A guest agent runs (the plan's: a reported version, or qgaState Running before its first one). */
  guestAgent: boolean;
  action: Action;
  reason: string;
  current: string | null;
  /** Where `current` comes from, by the plan's rules: `sent-tag` (our own tag) is no evidence. */
  source: VersionSource;
  target: string | null;
  outcome: Outcome | null;
  errorCode: string | null;
  /**
   * The VM's newest attach on record (the ledger, after any replay of a crashed run) ended in doubt with
   * GTR_JOB_LOST: when it started. Null otherwise, or when the run did not look (only waiting VMs are).
   */
  lostAttachAt: number | null;
}

/** Skips that no later run will turn into an attach for this target (REASONS' rollout 'final'; catalog-mismatch may clear). */
const FINAL_SKIPS: ReadonlySet<string> = new Set(reasonsWhere((r) => r.rollout === 'final').map((key) => key.replace(/^skip\//, '')));

/** Defers that still make a VM a rollout candidate (REASONS' rollout 'candidate': attached if its wave had started). */
const CANDIDATE_DEFERS: ReadonlySet<string> = new Set(reasonsWhere((r) => r.rollout === 'candidate').map((key) => key.replace(/^defer\//, '')));

interface StatusChange {
  status: MemberStatus;
  reason: string | null;
}

function atOrPast(version: string | null, target: string): boolean {
  const v = version === null ? null : parseVersion(version);
  const t = parseVersion(target);
  return v !== null && t !== null && compareVersions(v, t) >= 0;
}

/** Does the run show the guest at or past `target`, on evidence the planner accepts? */
function hasEvidence(obs: Pick<RunObservation, 'outcome' | 'current' | 'source'>, target: string): boolean {
  if (obs.outcome === 'verified') return true;
  return (obs.source === 'guest' || obs.source === 'tag') && atOrPast(obs.current, target);
}

/** Was the member's attach lost (in this run, or found by a replay since the member joined)? */
function attachLost(obs: Pick<RunObservation, 'outcome' | 'errorCode' | 'lostAttachAt'>, joinedAt: number): boolean {
  if (obs.outcome === 'in-doubt') return obs.errorCode === JOB_LOST;
  return obs.lostAttachAt !== null && obs.lostAttachAt >= joinedAt;
}

/**
 * The member's new status, or null when this run says nothing new. `obs` is undefined when the run did
 * not see the VM: with `fullFleet` that means the VM is gone.
 */
export function observeMember(
  member: { status: MemberStatus; target: string; reason: string | null; joinedAt: number },
  obs: RunObservation | undefined,
  fullFleet: boolean,
): StatusChange | null {
  const current = member.status;
  if (current === 'verified') return null;
  if (!obs) return fullFleet && current !== 'skipped' ? { status: 'skipped', reason: 'gone' } : null;
  if (hasEvidence(obs, member.target)) return { status: 'verified', reason: null };
  if (attachLost(obs, member.joinedAt)) return { status: 'failed', reason: JOB_LOST };
  if (obs.outcome === 'failed') return { status: 'failed', reason: obs.errorCode ?? 'attach-failed' };
  // The installer failed in the guest (or the MN refused the script): done, failed for the wave.
  if (obs.outcome === 'install-failed' || (obs.action === 'skip' && obs.reason === 'install-failed')) {
    return current === 'failed' ? null : { status: 'failed', reason: 'install-failed' };
  }
  // The installer runs; the member is done only on the guest's evidence.
  if (obs.outcome === 'installing' || (obs.action === 'defer' && obs.reason === 'installing')) {
    return current === 'installing' ? null : { status: 'installing', reason: null };
  }
  // Another doubt (SYS.1001, a poll without answer) may have attached: the member waits for evidence.
  if (obs.outcome === 'attached' || obs.outcome === 'in-doubt') return { status: 'attached', reason: obs.outcome === 'in-doubt' ? obs.errorCode : null };
  if (obs.action === 'skip' && FINAL_SKIPS.has(obs.reason)) return current === 'skipped' ? null : { status: 'skipped', reason: obs.reason };
  if (current !== 'pending') return null;
  // After a crash the attach is known only from the ledger: the planner then waits for the install.
  if (obs.action === 'defer' && obs.reason === 'awaiting-install') return { status: 'attached', reason: null };
  // A stopped member is remembered as such: at its wave's timeout it moves to the last wave instead of failing.
  const stopped = obs.action === 'defer' && obs.reason === 'not-running';
  if (stopped !== (member.reason === NOT_RUNNING)) return { status: 'pending', reason: stopped ? NOT_RUNNING : null };
  return null;
}

/** Orders version strings: parseable ones by version, anything else as text. */
export function compareRaw(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  return va && vb ? compareVersions(va, vb) : a < b ? -1 : a > b ? 1 : 0;
}

/** Would this VM be attached for its group's target if a rollout wave allowed it? (Start and late joiners.) */
export function isCandidate(obs: Pick<RunObservation, 'action' | 'reason' | 'target'>): boolean {
  if (obs.target === null) return false;
  return obs.action === 'attach' || obs.action === 'install' || (obs.action === 'defer' && CANDIDATE_DEFERS.has(obs.reason));
}
