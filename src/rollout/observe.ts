// What a reconcile run tells about rollout members: a pure mapping from the run's per-VM decision and
// outcome to the member's new status. Verified means the VM's current version (the guest's report,
// else the tag: DESIGN.md 2.5) is at or past the member's target. A member attached while no guest
// agent could confirm the install (no QueryGuestToolsState report) is done as `unconfirmed`.
import { compareVersions, parseVersion } from '../tools-version.js';
import type { AgentType, Outcome } from '../domain.js';
import { NOT_RUNNING, type MemberStatus } from './waves.js';

/** One VM as a run saw it: the plan's decision joined with the apply outcome. */
export interface RunObservation {
  vmUuid: string;
  vmName: string;
  agentType: AgentType;
  architecture: string;
  /** The guest reports its tools (QueryGuestToolsState), so an install can be confirmed. */
  guestAgent: boolean;
  action: 'attach' | 'skip' | 'defer';
  reason: string;
  current: string | null;
  target: string | null;
  outcome: Outcome | null;
  errorCode: string | null;
}

/** Skips that no later run will turn into an attach for this target (catalog-mismatch may clear). */
const FINAL_SKIPS = new Set(['excluded', 'not-user-vm', 'unsupported-hypervisor', 'no-iso', 'untagged', 'unparseable-tag', 'no-cdrom']);

/** Defers that still make a VM a rollout candidate (it would be attached if its wave had started). */
const CANDIDATE_DEFERS = new Set(['not-in-wave', 'iso-soak', 'run-limit', 'budget-halted', 'outside-window', 'awaiting-install']);

export interface StatusChange {
  status: MemberStatus;
  reason: string | null;
}

export function atOrPast(version: string | null, target: string): boolean {
  const v = version === null ? null : parseVersion(version);
  const t = parseVersion(target);
  return v !== null && t !== null && compareVersions(v, t) >= 0;
}

/**
 * The member's new status, or null when this run says nothing new. `obs` is undefined when the run did
 * not see the VM: with `fullFleet` that means the VM is gone.
 */
export function observeMember(
  member: { status: MemberStatus; target: string; reason: string | null },
  obs: RunObservation | undefined,
  fullFleet: boolean,
): StatusChange | null {
  const current = member.status;
  if (current === 'verified') return null;
  if (!obs) return fullFleet && current !== 'skipped' ? { status: 'skipped', reason: 'gone' } : null;
  if (atOrPast(obs.current, member.target) || obs.outcome === 'verified') return { status: 'verified', reason: null };
  if (current === 'unconfirmed') return null;
  if (obs.outcome === 'failed') return { status: 'failed', reason: obs.errorCode ?? 'attach-failed' };
  const attached = { status: obs.guestAgent ? 'attached' : 'unconfirmed', reason: null } as const;
  if (obs.outcome === 'attached') return attached;
  if (obs.action === 'skip' && FINAL_SKIPS.has(obs.reason)) return current === 'skipped' ? null : { status: 'skipped', reason: obs.reason };
  if (current !== 'pending') return null;
  // After a crash the attach is known only from the ledger: the planner then waits for the install.
  if (obs.action === 'defer' && obs.reason === 'awaiting-install') return attached;
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
  return obs.action === 'attach' || (obs.action === 'defer' && CANDIDATE_DEFERS.has(obs.reason));
}
