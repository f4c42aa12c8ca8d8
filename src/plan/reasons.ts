// Reason codes are part of the JSON contract (DESIGN.md section 5): stable strings, fixed precedence.

export type Action = 'attach' | 'skip' | 'defer';

export const ATTACH_REASONS = ['outdated', 'untagged'] as const;
export const SKIP_REASONS = [
  'excluded',
  'not-user-vm',
  'unsupported-hypervisor',
  'unknown-architecture',
  'no-iso',
  'untagged',
  'unparseable-tag',
  'up-to-date',
  'ahead',
  'no-cdrom',
  'catalog-mismatch',
  'not-converging',
] as const;
/** In precedence order (DESIGN.md section 5). */
export const DEFER_REASONS = [
  'catalog-unverified',
  'quarantined',
  'awaiting-install',
  'not-running',
  'cdrom-busy',
  'iso-soak',
  'outside-window',
  'not-in-wave',
  'run-limit',
  'budget-halted',
  'shutdown',
  'lease-lost',
  'not-leader',
] as const;

export type AttachReason = (typeof ATTACH_REASONS)[number];
export type SkipReason = (typeof SKIP_REASONS)[number];
export type DeferReason = (typeof DEFER_REASONS)[number];
export type Reason = AttachReason | SkipReason | DeferReason;

const DEFER_RANK: ReadonlyMap<string, number> = new Map(DEFER_REASONS.map((r, i) => [r, i]));

/** Of two defer reasons (either may be absent), the one that wins by precedence (DESIGN.md 5). */
export function earlierReason(a: DeferReason | null, b: DeferReason | null): DeferReason | null {
  if (a === null || b === null) return a ?? b;
  return (DEFER_RANK.get(b) ?? 0) < (DEFER_RANK.get(a) ?? 0) ? b : a;
}

/** What each reason means, for the README and `--help`; a test keeps this list complete. */
export const REASON_HELP: Record<`${Action}/${string}`, string> = {
  'attach/outdated': 'the VM runs an older GuestTools version than the ISO catalog target',
  'attach/untagged': 'the VM has no GuestTools version and policy.attachUntagged is on',
  'skip/excluded': 'policy.include does not select the VM, or policy.exclude does',
  'skip/not-user-vm': 'not a UserVm (appliance VMs are managed by ZStack itself)',
  'skip/unsupported-hypervisor': 'hypervisor is not KVM; GuestTools ISOs exist only for KVM',
  'skip/unknown-architecture': 'the management node has no architecture for the VM; it is never guessed',
  'skip/no-iso': 'the ISO folder has no GuestTools ISO for the VM agent type and architecture',
  'skip/untagged': 'the VM has no GuestTools version (set policy.attachUntagged to attach anyway)',
  'skip/unparseable-tag': 'the GuestTools:: tag is not a version',
  'skip/up-to-date': 'the VM already has the target version',
  'skip/ahead': 'the VM has a newer version than every ISO: never downgrade',
  'skip/no-cdrom': 'the VM has no CD-ROM to attach the ISO to',
  'skip/catalog-mismatch': 'the management node offers another version than the ISO folder (restart the MN so it loads the new ISO)',
  'skip/not-converging': 'policy.maxAttempts attaches of this target were not confirmed by the guest (or it regressed from it); until the catalog target changes or gtr retry --vm UUID',
  'defer/catalog-unverified': 'the catalog probe (GetLatestGuestToolsForVm) for the VM group failed in this run; the detail has its error',
  'defer/cdrom-busy': 'CD-ROM 0 holds a user ISO that the attach would eject (set policy.ejectUserIso to attach anyway)',
  'defer/quarantined': 'repeated attach failures; waiting out the backoff',
  'defer/awaiting-install': 'the ISO was attached for this target recently; waiting for the guest to install it (policy.reattachAfter)',
  'defer/not-running': 'the VM is not running; it will be attached when it runs',
  'defer/outside-window': 'outside every maintenance window (schedule.windows)',
  'defer/not-in-wave': 'attached only through a rollout: a rollout covers the VM agent type and its wave has not started (or the rollout is paused), or policy.mode is rollout, or the last rollout of this version was aborted',
  'defer/iso-soak': 'the target ISO version was first seen less than policy.isoSoak ago',
  'defer/run-limit': 'policy.maxPerRun (or --limit) attaches were already planned in this run',
  'defer/budget-halted': 'the run halted on the error budget (policy.maxErrors) before this attach',
  'defer/shutdown': 'the process was asked to stop (SIGTERM/SIGINT) before this attach started; attaches in flight finished',
  'defer/lease-lost': 'this run lost the lease (another process took it over) before this attach started',
  'defer/not-leader': 'this node is not (or no longer) the leader of its pair of management nodes (ha.leaderCheck): the other node attaches',
};
