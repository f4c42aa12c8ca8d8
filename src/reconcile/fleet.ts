// The fleet by current GuestTools version, platform and architecture: what `gtr status` and /metrics show.
// Each row also says where the version comes from, so the tag this reconciler sent itself
// (zstack.recordVersionTag) is never shown as the guest's confirmation (docs/design.md 3).
import type { FleetRow, VmFacts } from '../domain.js';
import { currentVersion, isOwnTag, type VmHistory } from '../plan/plan.js';

export function fleetSummary(vms: readonly VmFacts[], history: ReadonlyMap<string, Pick<VmHistory, 'lastAttachTarget' | 'lastAttachTagged'>>): FleetRow[] {
  const rows = new Map<string, FleetRow>();
  for (const vm of vms) {
    const current = currentVersion(vm);
    const source = isOwnTag(current, history.get(vm.uuid)) ? 'sent-tag' : current.source;
    const architecture = vm.architecture ?? 'unknown';
    const key = `${current.raw}\u0000${source}\u0000${vm.platform}\u0000${architecture}`;
    const row = rows.get(key);
    if (row) row.count++;
    else rows.set(key, { version: current.raw, source, platform: vm.platform, architecture, count: 1 });
  }
  return [...rows.values()].sort((a, b) => b.count - a.count || String(a.version).localeCompare(String(b.version)));
}
