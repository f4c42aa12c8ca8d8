// The fleet by current GuestTools version, platform and architecture: what `gtr status` and /metrics show.
import type { FleetRow, VmFacts } from '../domain.js';
import { currentVersion } from '../plan/plan.js';

export function fleetSummary(vms: readonly VmFacts[]): FleetRow[] {
  const rows = new Map<string, FleetRow>();
  for (const vm of vms) {
    const { raw: version, source } = currentVersion(vm);
    const architecture = vm.architecture ?? 'unknown';
    const key = `${version}\u0000${source}\u0000${vm.platform}\u0000${architecture}`;
    const row = rows.get(key);
    if (row) row.count++;
    else rows.set(key, { version, source, platform: vm.platform, architecture, count: 1 });
  }
  return [...rows.values()].sort((a, b) => b.count - a.count || String(a.version).localeCompare(String(b.version)));
}
