// include / exclude selectors: a VM matches a selector when it matches any of its non-empty lists.
// `tags` holds names: a system tag's text, a UI tag's pattern name, or a legacy user tag's text
// (the inventory puts the names a VM carries in VmFacts.tags).
import type { Selector } from '../config/schema.js';
import type { VmFacts } from '../domain.js';

interface SelectorHit {
  /** The selector list that matched, e.g. `tags`. */
  list: keyof Selector;
  value: string;
}

const SCALAR_LISTS = [
  ['vmUuids', (vm: VmFacts) => vm.uuid],
  ['hostUuids', (vm: VmFacts) => vm.hostUuid],
  ['clusterUuids', (vm: VmFacts) => vm.clusterUuid],
  ['zoneUuids', (vm: VmFacts) => vm.zoneUuid],
  ['platforms', (vm: VmFacts) => vm.platform],
] as const;

/** The first list entry of `selector` the VM matches, or null. */
function selectorHit(vm: VmFacts, selector: Selector): SelectorHit | null {
  for (const [list, get] of SCALAR_LISTS) {
    const value = get(vm);
    if (value !== null && selector[list]?.includes(value)) return { list, value };
  }
  const tag = selector.tags?.find((t) => vm.tags.includes(t));
  return tag === undefined ? null : { list: 'tags', value: tag };
}

function matchesSelector(vm: VmFacts, selector: Selector): boolean {
  return selectorHit(vm, selector) !== null;
}

/** Why the selectors leave the VM out (e.g. `policy.exclude.tags: no-auto-upgrade`), or null when they do not. */
export function exclusionOf(vm: VmFacts, include: Selector | null, exclude: Selector | null): string | null {
  if (include && !matchesSelector(vm, include)) return 'not selected by policy.include';
  const hit = exclude ? selectorHit(vm, exclude) : null;
  return hit ? `policy.exclude.${hit.list}: ${hit.value}` : null;
}

/** How many VMs a selector matches, in all and per tag it names (for the log). */
export function selectorMatches(vms: readonly VmFacts[], selector: Selector): { vms: number; tags: Record<string, number> } {
  const perTag = new Map((selector.tags ?? []).map((t) => [t, 0]));
  let matched = 0;
  for (const vm of vms) {
    if (matchesSelector(vm, selector)) matched++;
    for (const t of vm.tags) {
      const n = perTag.get(t);
      if (n !== undefined) perTag.set(t, n + 1);
    }
  }
  return { vms: matched, tags: Object.fromEntries(perTag) };
}
