// Starting a rollout: order the candidates (canaries first), size the waves, store it with wave 1
// started. Shared by `gtr rollout start` and rollout.autoStart.
import type { Limit } from '../config/types.js';
import { GtrError } from '../errors.js';
import type { AgentType } from '../domain.js';
import { orderCandidates, placeMembers, type Candidate, type Canaries, type PlacedMember } from './membership.js';
import type { RolloutStore } from './store.js';
import type { WaveStep } from '../config/count-or-percent.js';
import { waveSizes, type WaveSize } from './wave-spec.js';

export interface StartInput {
  agentTypes: AgentType[];
  target: string;
  candidates: readonly Candidate[];
  canaries: Canaries;
  wavesSpec: string;
  steps: readonly WaveStep[];
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Limit;
  who: string;
  why: string;
  now: number;
}

export interface Started {
  id: number;
  waves: WaveSize[];
  members: PlacedMember[];
}

export function startRollout(store: RolloutStore, input: StartInput): Started {
  if (input.candidates.length === 0) {
    throw new GtrError('GTR_ROLLOUT', `nothing to roll out: no out-of-date eligible VM of ${input.agentTypes.join(', ')} targets ${input.target} (see gtr plan)`, {
      details: { target: input.target },
    });
  }
  const ordered = orderCandidates(input.candidates, input.canaries);
  const waves = waveSizes(input.steps, ordered.length);
  const members = placeMembers(ordered, waves);
  const id = store.create({
    agentTypes: input.agentTypes,
    target: input.target,
    wavesSpec: input.wavesSpec,
    waves,
    members,
    soakMs: input.soakMs,
    waveTimeoutMs: input.waveTimeoutMs,
    maxErrors: input.maxErrors,
    canaries: input.canaries,
    who: input.who,
    why: input.why,
    now: input.now,
  });
  return { id, waves, members };
}
