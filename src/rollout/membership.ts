// Who is in a rollout and in which wave: the out-of-date eligible VMs at start, canaries first, then
// a stable order by sha256 of the VM uuid (the same fleet always gives the same waves, and the order
// does not follow names, clusters or creation time). Pure: no I/O.
import { createHash } from 'node:crypto';
import type { AgentType } from '../domain.js';
import type { WaveSize } from './wave-spec.js';

export interface Candidate {
  uuid: string;
  name: string;
  agentType: AgentType;
  architecture: string;
  /** The catalog target of the VM's group. */
  target: string;
  clusterUuid: string | null;
  /** Tags of the VM that canary selectors may name. */
  tags: readonly string[];
}

export interface Canaries {
  vms: string[];
  clusters: string[];
  tags: string[];
}

export interface PlacedMember {
  uuid: string;
  name: string;
  agentType: AgentType;
  architecture: string;
  target: string;
  canary: boolean;
  /** 0-based order in the rollout. */
  position: number;
  wave: number;
}

export const NO_CANARIES: Canaries = { vms: [], clusters: [], tags: [] };

export function stableKey(uuid: string): string {
  return createHash('sha256').update(uuid).digest('hex');
}

function isCanary(c: Candidate, canaries: Canaries): boolean {
  return (
    canaries.vms.includes(c.uuid) ||
    (c.clusterUuid !== null && canaries.clusters.includes(c.clusterUuid)) ||
    c.tags.some((t) => canaries.tags.includes(t))
  );
}

/**
 * The canary selectors that match no candidate, each as its flag and value (e.g. `--canary-tag gt-canry`):
 * a mistyped one would make the first wave VMs in hash order instead of the canaries.
 */
export function unmatchedCanaries(canaries: Canaries, candidates: readonly Pick<Candidate, 'uuid' | 'clusterUuid' | 'tags'>[]): string[] {
  const out: string[] = [];
  for (const vm of canaries.vms) if (!candidates.some((c) => c.uuid === vm)) out.push(`--canary-vm ${vm}`);
  for (const cluster of canaries.clusters) if (!candidates.some((c) => c.clusterUuid === cluster)) out.push(`--canary-cluster ${cluster}`);
  for (const tag of canaries.tags) if (!candidates.some((c) => c.tags.includes(tag))) out.push(`--canary-tag ${tag}`);
  return out;
}

/** Canaries first, each group by sha256(uuid) (uuid breaks a tie), duplicates dropped. */
export function orderCandidates(candidates: readonly Candidate[], canaries: Canaries): (Candidate & { canary: boolean })[] {
  const unique = [...new Map(candidates.map((c) => [c.uuid, c])).values()];
  const keyed = unique.map((c) => ({ ...c, canary: isCanary(c, canaries), key: stableKey(c.uuid) }));
  keyed.sort((a, b) => Number(b.canary) - Number(a.canary) || cmp(a.key, b.key) || cmp(a.uuid, b.uuid));
  return keyed.map(({ key: _key, ...c }) => c);
}

/** Places ordered members into waves of the given sizes (sizes must add up to the member count). */
export function placeMembers(ordered: readonly (Candidate & { canary: boolean })[], waves: readonly WaveSize[]): PlacedMember[] {
  const placed: PlacedMember[] = [];
  let w = 0;
  ordered.forEach((c, position) => {
    while (w < waves.length - 1 && position >= waves[w].cumulative) w++;
    placed.push({ uuid: c.uuid, name: c.name, agentType: c.agentType, architecture: c.architecture, target: c.target, canary: c.canary, position, wave: waves[w].number });
  });
  return placed;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
