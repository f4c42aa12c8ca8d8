// Check "iso-catalog": the ISO folder can be read and offers at least one target.
import { messageOf } from '../errors.js';
import { scanCatalog } from '../catalog/scan.js';
import type { Config } from '../config/schema.js';
import { fail, pass, warn, type CheckResult } from './check.js';

export async function checkIsoCatalog(config: Config): Promise<CheckResult> {
  let catalog;
  try {
    catalog = await scanCatalog(config.isoDir, { allowPrerelease: config.policy.allowPrerelease });
  } catch (error) {
    return fail('iso-catalog', messageOf(error), `point isoDir at the folder holding the GuestTools ISOs (usually /opt/zstack-dvd) and make it readable by the user gtr runs as`);
  }
  if (catalog.targets.length === 0) {
    return fail('iso-catalog', `${config.isoDir}: no GuestTools ISO found (${catalog.files.length} files looked at), nothing can be attached`,
      'copy the GuestTools ISOs (GuestTools-<version>.iso, GuestTools_linux-<version>.iso) into isoDir, or fix isoDir; see `gtr iso`');
  }
  const targets = catalog.targets.map((t) => `${t.agentType}/${t.architecture} ${t.version}`).join(', ');
  const detail = `${config.isoDir}: ${catalog.targets.length} targets: ${targets}`;
  if (catalog.problems.length > 0) {
    return warn('iso-catalog', `${detail}; ${catalog.problems.length} files or folders ignored (first: ${catalog.problems[0].path}: ${catalog.problems[0].problem})`,
      'run `gtr iso` for the full list; rename or remove files that are not GuestTools ISOs');
  }
  return pass('iso-catalog', detail);
}
