// The observe stage, shared by the pass and `gtr rollout start`: the ISO catalog (its newest version per
// agent type and architecture; a folder without one is an error) and then the fleet, read with the tags
// the selectors (and the caller's canary tags) name.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { CatalogTarget, VmFacts } from '../domain.js';
import { requireTargets, scanCatalog, type Catalog } from '../catalog/scan.js';
import { NO_PROFILER, type Profiler } from '../profile/profile.js';
import { readInventory, type QueryPort } from './inventory.js';
import { logSelectorMatches } from './selector-tags.js';

interface ObserveOptions {
  /** Read only these VMs (`--vm`). */
  vmUuids?: readonly string[];
  /** Tags to read besides the selectors' (rollout canaries). */
  extraTags?: readonly string[];
  /** Asked about the catalog before the fleet is read: throws to stop without reading it. */
  checkCatalog?: (catalog: Catalog) => void;
  profiler?: Profiler;
}

interface Observation {
  catalog: Catalog;
  targets: CatalogTarget[];
  vms: VmFacts[];
}

export async function observe(client: QueryPort, config: Pick<Config, 'isoDir' | 'policy'>, logger: Logger, opts: ObserveOptions = {}): Promise<Observation> {
  const profiler = opts.profiler ?? NO_PROFILER;
  const { policy } = config;
  const catalog = await scanCatalog(config.isoDir, { allowPrerelease: policy.allowPrerelease });
  for (const problem of catalog.problems) logger.warn(problem, 'ISO catalog problem');
  const targets = requireTargets(catalog);
  opts.checkCatalog?.(catalog);
  const selectorTags = [...(policy.include?.tags ?? []), ...(policy.exclude?.tags ?? []), ...(opts.extraTags ?? [])];
  const vms = await profiler.timedAsync('inventory', () =>
    readInventory(client, { selectorTags, excludeTags: policy.exclude?.tags, vmUuids: opts.vmUuids }));
  logSelectorMatches(logger, vms, policy);
  return { catalog, targets, vms };
}
