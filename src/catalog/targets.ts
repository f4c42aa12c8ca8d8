// Which catalog target serves a VM: the highest version among the ISOs built for its architecture
// and the `general` ISOs, which serve every architecture.
import type { AgentType, CatalogTarget } from '../domain.js';
import { compareVersions, parseVersion, type Version } from '../tools-version.js';

export function targetForVm(
  targets: readonly CatalogTarget[],
  agentType: AgentType,
  vmArchitecture: string,
): CatalogTarget | null {
  let best: { target: CatalogTarget; version: Version } | null = null;
  for (const target of targets) {
    if (target.agentType !== agentType) continue;
    if (target.architecture !== vmArchitecture && target.architecture !== 'general') continue;
    const version = parseVersion(target.version);
    if (!version) continue;
    const order = best ? compareVersions(version, best.version) : 1;
    // On equal versions the ISO built for the VM's own architecture beats a `general` one.
    if (order > 0 || (order === 0 && best?.target.architecture === 'general' && target.architecture !== 'general')) {
      best = { target, version };
    }
  }
  return best ? best.target : null;
}
