// include / exclude selectors: a VM matches a selector when it matches any of its non-empty lists.
import type { Selector } from '../config/types.js';
import type { VmFacts } from '../domain.js';

export function matchesSelector(vm: VmFacts, selector: Selector): boolean {
  const hit = (list: string[] | undefined, value: string | null): boolean =>
    !!list && list.length > 0 && value !== null && list.includes(value);
  return (
    hit(selector.vmUuids, vm.uuid) ||
    hit(selector.hostUuids, vm.hostUuid) ||
    hit(selector.clusterUuids, vm.clusterUuid) ||
    hit(selector.zoneUuids, vm.zoneUuid) ||
    hit(selector.platforms, vm.platform) ||
    (!!selector.tags && selector.tags.some((tag) => vm.tags.includes(tag)))
  );
}

export function isExcluded(vm: VmFacts, include: Selector | null, exclude: Selector | null): boolean {
  if (include && !matchesSelector(vm, include)) return true;
  return !!exclude && matchesSelector(vm, exclude);
}
