// Which VMs a run may attach, given the open rollouts and policy.mode / policy.isoSoak /
// rollout.autoStart. Pure: built from facts read before the run, consulted by the planner per VM.
//
// For a VM of agent type T whose catalog target is version V:
// 1. an open rollout covers T: attach only members of its started waves, only while it is active and
//    only for its target (otherwise defer/not-in-wave);
// 2. policy.mode 'rollout': attach only through rollouts (defer/not-in-wave);
// 3. the last rollout of (T, V) was aborted: held until a new rollout targets V (defer/not-in-wave);
// 4. the last rollout of (T, V) completed: attach;
// 5. rollout.autoStart: V is not attached outside the rollout that will be started for it;
// 6. V first seen less than policy.isoSoak ago: defer/iso-soak; else attach.
import type { AgentType } from '../domain.js';
import type { RolloutState } from './transitions.js';

export type GateReason = 'not-in-wave' | 'iso-soak';
export type AttachGate = (vmUuid: string, agentType: AgentType, target: string) => GateReason | null;

export interface GatePolicy {
  mode: 'auto' | 'rollout';
  isoSoakMs: number;
  autoStart: boolean;
}

export interface OpenRollout {
  agentTypes: readonly AgentType[];
  state: RolloutState;
  target: string;
  started: ReadonlySet<string>;
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

export function makeGate(policy: GatePolicy, facts: GateFacts): AttachGate {
  return (vmUuid, agentType, target) => {
    const rollout = facts.open.find((r) => r.agentTypes.includes(agentType));
    if (rollout) {
      const allowed = rollout.state === 'active' && rollout.target === target && rollout.started.has(vmUuid);
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
  };
}
