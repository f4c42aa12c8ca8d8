// The rollout gate (src/plan/gates.ts): which VMs a run may attach, given the open rollouts and
// policy.mode / policy.isoSoak / rollout.autoStart. The decision is pure, over facts read at the start
// of the run; before each attach starts, apply refreshes the facts inside the write transaction that
// records the attach, so a `rollout pause|abort` that returned stops the members' attaches.
//
// For a VM of agent type T whose catalog target is version V:
// 1. an open rollout covers T: attach only members of its started waves, only while it is active and
//    only for the member's group target (otherwise defer/not-in-wave);
// 2. policy.mode 'rollout': attach only through rollouts (defer/not-in-wave);
// 3. the last rollout of (T, V) was aborted: held until a new rollout targets V (defer/not-in-wave);
// 4. the last rollout of (T, V) completed: attach;
// 5. rollout.autoStart: V is not attached outside the rollout that will be started for it;
// 6. V first seen less than policy.isoSoak ago: defer/iso-soak; else attach.
import type { AgentType } from '../domain.js';
import type { AttachGate, AttachObserver, GateSubject } from '../plan/gates.js';
import type { RolloutState } from './transitions.js';
import { JOB_LOST } from './observe.js';

type GateReason = 'not-in-wave' | 'iso-soak';

export interface GatePolicy {
  mode: 'auto' | 'rollout';
  isoSoakMs: number;
  autoStart: boolean;
}

interface OpenRollout {
  id: number;
  agentTypes: readonly AgentType[];
  state: RolloutState;
  /** Members of started waves -> their group's target. */
  started: ReadonlyMap<string, string>;
}

export interface GateFacts {
  open: readonly OpenRollout[];
  /** `${agentType}/${version}` -> state of the newest rollout that targeted it. */
  lastRollout: ReadonlyMap<string, RolloutState>;
  /** `${agentType}/${version}` -> epoch ms when first seen as a catalog target. */
  firstSeen: ReadonlyMap<string, number>;
  now: number;
}

export const versionKey = (agentType: string, version: string) => `${agentType}/${version}`;

/** The gate's answer for one VM: a defer reason, or null to let it attach. */
export function gateReason(policy: GatePolicy, facts: GateFacts, s: Pick<GateSubject, 'vmUuid' | 'agentType'> & { target: string }): GateReason | null {
  const { vmUuid, agentType, target } = s;
  const rollout = facts.open.find((r) => r.agentTypes.includes(agentType));
  if (rollout) {
    const allowed = rollout.state === 'active' && rollout.started.get(vmUuid) === target;
    return allowed ? null : 'not-in-wave';
  }
  if (policy.mode === 'rollout') return 'not-in-wave';
  const key = versionKey(agentType, target);
  const last = facts.lastRollout.get(key);
  if (last === 'aborted') return 'not-in-wave';
  if (last === 'completed') return null;
  if (policy.autoStart) return 'not-in-wave';
  // A version not recorded yet is being seen for the first time now.
  const firstSeen = facts.firstSeen.get(key) ?? facts.now;
  return facts.now - firstSeen < policy.isoSoakMs ? 'iso-soak' : null;
}

interface GateSource {
  /** Changes whenever an open rollout changes (state, waves) or one opens or closes. */
  openStamp(): string;
  /** The facts as stored now. */
  gateFacts(now: number): GateFacts;
  /** Records a member's failed attach; pauses the rollout when its wave's error budget is exceeded. */
  memberFailed(rolloutId: number, vmUuid: string, reason: string, now: number, who: string): void;
}

/**
 * The rollout gate over `source`; facts are read at construction and again when the stamp changes.
 * Also an observer: a member's failed or lost attach is recorded at once (in the transaction of its
 * outcome), so a wave's exceeded error budget pauses the rollout before any other member's attach starts.
 */
export class RolloutGate implements AttachGate, AttachObserver {
  readonly name = 'rollout';
  private facts: GateFacts;
  private stamp: string;

  constructor(private readonly policy: GatePolicy, private readonly source: GateSource, now: number, private readonly actor: string) {
    this.stamp = source.openStamp();
    this.facts = source.gateFacts(now);
  }

  refresh(): void {
    // One small indexed read per transaction; the full facts only when a rollout command changed them.
    const stamp = this.source.openStamp();
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    this.facts = this.source.gateFacts(this.facts.now);
  }

  check(subject: GateSubject): GateReason | null {
    return subject.target === null ? null : gateReason(this.policy, this.facts, { ...subject, target: subject.target });
  }

  onOutcome(subject: GateSubject, outcome: { failed: boolean; errorCode: string | null }, now: number): void {
    // A lost job is in doubt for the run (not in its budget), but the member it was is failed for the wave.
    if (!outcome.failed && outcome.errorCode !== JOB_LOST) return;
    const rollout = this.facts.open.find((r) => r.started.has(subject.vmUuid));
    if (rollout) this.source.memberFailed(rollout.id, subject.vmUuid, outcome.errorCode ?? 'attach-failed', now, this.actor);
  }
}
