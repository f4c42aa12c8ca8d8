// The attach set, re-read before apply (docs/design.md 1). The inventory took seconds to minutes to read
// on a large fleet, and the catalog check came after it: meanwhile a user may have inserted an ISO into
// a VM's CD-ROM 0, the guest may have reported an install, another node may have attached. So the
// CD-ROMs, GuestTools:: tags, guest reports and guestToolsHasAttached tags of the VMs about to be
// attached are read again (batches of `?=` uuid lists: a constant number of requests per batch) and
// those VMs are planned again on what was read. With no run limit on that second plan the set can
// only shrink: a VM that is no longer free or out of date leaves it, none joins.
// The VM rows themselves are not re-read: a VM stopped or deleted meanwhile fails its attach at the MN
// (terminal, recorded), which ejects nothing.
import type { VmFacts } from '../domain.js';
import { planHash, planRun, type Decision, type Plan, type PlanInput } from '../plan/plan.js';
import { applyDetails, readVmDetails, type QueryPort } from '../observe/inventory.js';

interface Recheck {
  plan: Plan;
  /** VMs of the attach set that were re-read. */
  rechecked: number;
  /** Of those, the decisions that are no longer the same attach. */
  changed: Decision[];
}

/** `plan` with its attaches planned again on a fresh read of their VMs; `input` is what `plan` was planned on. */
export async function recheckAttachSet(client: QueryPort, plan: Plan, input: PlanInput): Promise<Recheck> {
  const attaching = new Set(plan.decisions.filter((d) => d.action === 'attach').map((d) => d.vmUuid));
  if (attaching.size === 0) return { plan, rechecked: 0, changed: [] };
  const vms: VmFacts[] = input.vms.filter((vm) => attaching.has(vm.uuid));
  const details = await readVmDetails(client, vms.map((vm) => vm.uuid));
  // Copies: the first read stays as it was (the fleet summary and version history were taken from it).
  const fresh = vms.map((vm) => applyDetails({ ...vm }, details));
  const again = planRun({ ...input, vms: fresh, policy: { ...input.policy, maxPerRun: 0 } });
  const byVm = new Map(again.decisions.map((d) => [d.vmUuid, d]));
  const changed: Decision[] = [];
  const decisions = plan.decisions.map((d) => {
    const next = byVm.get(d.vmUuid);
    if (!next) return d;
    if (next.action !== 'attach' || next.reason !== d.reason || next.current !== d.current) changed.push(next);
    return next;
  });
  return { plan: { decisions, hash: planHash(decisions) }, rechecked: vms.length, changed };
}
