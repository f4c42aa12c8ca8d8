// Starting a rollout: order the candidates (canaries first), size the waves, store it with wave 1
// started. Shared by `gtr rollout start` and rollout.autoStart.
import { GtrError } from '../errors.js';
import type { AgentType } from '../domain.js';
import { orderCandidates, placeMembers, type Candidate, type Canaries, type PlacedMember } from './membership.js';
import type { RolloutStore } from './store.js';
import type { GroupTarget } from './records.js';
import type { Limit, WaveStep } from '../count-or-percent.js';
import { waveSizes, type WaveSize } from './wave-spec.js';

interface StartInput {
  agentTypes: AgentType[];
  candidates: readonly Candidate[];
  canaries: Canaries;
  wavesSpec: string;
  steps: readonly WaveStep[];
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Limit;
  /** rollout start --install: install in the members' guests (DESIGN.md 2.7). */
  install?: boolean;
  who: string;
  why: string;
  now: number;
}

interface Started {
  id: number;
  targets: GroupTarget[];
  waves: WaveSize[];
  members: PlacedMember[];
}

export function startRollout(store: RolloutStore, input: StartInput): Started {
  if (input.candidates.length === 0) {
    throw new GtrError('GTR_ROLLOUT_REFUSED', `nothing to roll out: no out-of-date eligible VM of ${input.agentTypes.join(', ')} (see gtr plan)`, {
      details: { agentTypes: input.agentTypes },
    });
  }
  const ordered = orderCandidates(input.candidates, input.canaries);
  const waves = waveSizes(input.steps, ordered.length);
  const members = placeMembers(ordered, waves);
  const id = store.create({
    agentTypes: input.agentTypes,
    targets: groupTargets(input.candidates),
    wavesSpec: input.wavesSpec,
    waves,
    members,
    soakMs: input.soakMs,
    waveTimeoutMs: input.waveTimeoutMs,
    maxErrors: input.maxErrors,
    canaries: input.canaries,
    install: input.install ?? false,
    who: input.who,
    why: input.why,
    now: input.now,
  });
  return { id, targets: groupTargets(input.candidates), waves, members };
}

/** The (agent type, VM architecture) groups of the candidates with their catalog targets. */
export function groupTargets(candidates: readonly Pick<Candidate, 'agentType' | 'architecture' | 'target'>[]): GroupTarget[] {
  const groups = new Map<string, GroupTarget>();
  for (const c of candidates) groups.set(`${c.agentType}/${c.architecture}`, { agentType: c.agentType, architecture: c.architecture, version: c.target });
  return [...groups.values()].sort((a, b) => (a.agentType === b.agentType ? (a.architecture < b.architecture ? -1 : 1) : a.agentType < b.agentType ? 1 : -1));
}
