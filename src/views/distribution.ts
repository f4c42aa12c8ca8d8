// The fleet against its targets, per (agent type, architecture): how many VMs are on the catalog
// target (confirmed, or by the tag this reconciler sent only), older, ahead of it, or of unknown
// version. Read from the last recorded fleet and the targets of the run that saw it;
// `gtr status --json`, the status page and /metrics all show this.
import { agentTypeForPlatform, AGENT_TYPES, type AgentType, type CatalogTarget, type FleetRow } from '../domain.js';
import { compareVersions, parseVersion } from '../tools-version.js';
import { targetForVm } from '../catalog/targets.js';

/**
 * In the order the page draws them; they add up to the group's total.
 * `onTargetConfirmed`: the guest reports the target (QueryGuestToolsState), or a GuestTools:: tag this
 * reconciler did not send shows it. `onTargetTagOnly`: only the tag this reconciler sent with its last
 * attach (zstack.recordVersionTag) says so: no evidence of an install (docs/design.md 3).
 * `unknown`: no or unparseable version, or no target for the group.
 */
export const VERSION_STATES = ['onTargetConfirmed', 'onTargetTagOnly', 'older', 'ahead', 'unknown'] as const;
export type VersionState = (typeof VERSION_STATES)[number];

export type DistributionGroup = {
  agentType: AgentType;
  architecture: string;
  /** The catalog target of the group when the fleet was read; null when the catalog had none. */
  target: string | null;
  total: number;
  /** onTargetConfirmed + onTargetTagOnly. */
  onTarget: number;
} & Record<VersionState, number>;

function isTarget(value: unknown): value is CatalogTarget {
  const t = value as CatalogTarget;
  return typeof t === 'object' && t !== null && (AGENT_TYPES as readonly string[]).includes(t.agentType) && typeof t.architecture === 'string' && typeof t.version === 'string';
}

/** The version against the target; on target splits by its source (rows of older runs carry none: confirmed). */
function versionState(version: string | null, target: string | null, source?: FleetRow['source']): VersionState {
  const current = version === null ? null : parseVersion(version);
  const wanted = target === null ? null : parseVersion(target);
  if (current === null || wanted === null) return 'unknown';
  const order = compareVersions(current, wanted);
  if (order === 0) return source === 'sent-tag' ? 'onTargetTagOnly' : 'onTargetConfirmed';
  return order < 0 ? 'older' : 'ahead';
}

export function fleetDistribution(rows: readonly FleetRow[], storedTargets: readonly unknown[]): DistributionGroup[] {
  const targets = storedTargets.filter(isTarget);
  const groups = new Map<string, DistributionGroup>();
  for (const row of rows) {
    const agentType = agentTypeForPlatform(row.platform);
    const architecture = row.architecture ?? 'unknown';
    const key = `${agentType}/${architecture}`;
    let group = groups.get(key);
    if (!group) {
      const target = targetForVm(targets, agentType, architecture)?.version ?? null;
      group = { agentType, architecture, target, total: 0, onTarget: 0, onTargetConfirmed: 0, onTargetTagOnly: 0, older: 0, ahead: 0, unknown: 0 };
      groups.set(key, group);
    }
    const state = versionState(row.version, group.target, row.source);
    group.total += row.count;
    group[state] += row.count;
    if (state === 'onTargetConfirmed' || state === 'onTargetTagOnly') group.onTarget += row.count;
  }
  return [...groups.values()].sort((a, b) => a.agentType.localeCompare(b.agentType) || a.architecture.localeCompare(b.architecture));
}
