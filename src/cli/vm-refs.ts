// `--vm` takes a VM's uuid or its name. Each is resolved against what is known (ZStack for plan and
// reconcile, the ledger for retry): a uuid matches itself, a name must match exactly one VM. Every
// value that matches nothing, and every name that matches several VMs (listed), is one usage error.
import { UsageError } from '../errors.js';
import type { VmMatch } from '../observe/find-vms.js';
import { printable } from '../text/printable.js';

const LISTED = 10;

/** The uuids `refs` name (deduplicated, in order), or a UsageError saying which refs are unknown or ambiguous. */
export function resolveVmRefs(refs: readonly string[], known: readonly VmMatch[], where: string): string[] {
  const problems: string[] = [];
  const uuids: string[] = [];
  for (const ref of new Set(refs)) {
    const byUuid = known.filter((vm) => vm.uuid === ref);
    const matches = byUuid.length > 0 ? byUuid : known.filter((vm) => vm.name === ref);
    const shown = `"${printable(ref.slice(0, 80))}"`;
    if (matches.length === 1) uuids.push(matches[0].uuid);
    else if (matches.length === 0) problems.push(`${shown} is neither the uuid nor the name of a VM ${where}`);
    else {
      const list = matches.slice(0, LISTED).map((vm) => vm.uuid).join(', ');
      problems.push(`${shown} is the name of ${matches.length} VMs (${list}${matches.length > LISTED ? ', ...' : ''}); give the uuid`);
    }
  }
  if (problems.length > 0) throw new UsageError(`--vm: ${problems.join('; ')}`);
  return [...new Set(uuids)];
}
