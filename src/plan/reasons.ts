// Reason codes are part of the JSON contract: stable strings, fixed precedence. docs/reference/reasons.md
// is generated from REASONS (npm run gen:docs).

export type Action = 'attach' | 'skip' | 'defer' | 'install';

export const ATTACH_REASONS = ['outdated', 'untagged'] as const;
/** An install in the guest of an ISO this reconciler attached in an earlier run (DESIGN.md 2.7). */
export const INSTALL_REASONS = ['attached'] as const;
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
  'install-failed',
  'not-converging',
] as const;
/** In precedence order (after the skips, which come first). */
export const DEFER_REASONS = [
  'catalog-unverified',
  'quarantined',
  'installing',
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

type AttachReason = (typeof ATTACH_REASONS)[number];
type InstallReason = (typeof INSTALL_REASONS)[number];
type SkipReason = (typeof SKIP_REASONS)[number];
export type DeferReason = (typeof DEFER_REASONS)[number];
export type Reason = AttachReason | InstallReason | SkipReason | DeferReason;

const DEFER_RANK: ReadonlyMap<string, number> = new Map(DEFER_REASONS.map((r, i) => [r, i]));

/** Of two defer reasons (either may be absent), the one that wins by precedence. */
export function earlierReason(a: DeferReason | null, b: DeferReason | null): DeferReason | null {
  if (a === null || b === null) return a ?? b;
  return (DEFER_RANK.get(b) ?? 0) < (DEFER_RANK.get(a) ?? 0) ? b : a;
}

export type ReasonKey = `attach/${AttachReason}` | `install/${InstallReason}` | `skip/${SkipReason}` | `defer/${DeferReason}`;

/**
 * What the code and the docs say about one `action/reason`. Everything that classifies reasons derives
 * from REASONS: the stored history (COUNTED_ONLY), "needs attention" (ATTENTION_REASONS and its fixes),
 * rollout membership (final skips, candidate defers), the gtr_vms_out_of_date metric, and the reason
 * reference (docs/reference/reasons.md, test/reference-docs.test.ts).
 */
export interface ReasonEntry {
  /** What it means (markdown, one line of the reference table). */
  help: string;
  /** 'count': steady state, stored as a count only, never a per-VM row (src/reconcile/stored-decisions.ts). */
  stored?: 'count';
  /** Does not clear by itself: listed under "needs attention" with this step that fixes it. */
  attention?: (vmUuid: string) => string;
  /**
   * For a rollout member: 'final', a skip no later run turns into an attach for this target (the member
   * is skipped); 'candidate', a defer that still makes the VM a candidate (attached once its wave allows).
   */
  rollout?: 'final' | 'candidate';
  /** A skip that still counts as out of date in gtr_vms_out_of_date (every attach and defer does). */
  outOfDate?: true;
}

const retry = (vmUuid: string) => `gtr retry --vm ${vmUuid}`;

/** Every reason: attach, install, then the skips and the defers in precedence order. */
export const REASONS: Readonly<Record<ReasonKey, ReasonEntry>> = {
  'attach/outdated': {
    help: 'older than the catalog target',
  },
  'attach/untagged': {
    help: 'no version at all, and `policy.attachUntagged` is on',
  },
  'install/attached': {
    help: 'the ISO this reconciler attached in an earlier run is mounted, the guest agent runs and its platform has an install command (`install.mode: "qga"` or `rollout start --install`), and no install of this target was started yet: the installer runs in the guest',
  },
  'skip/excluded': {
    help: 'not selected by `policy.include`, or selected by `policy.exclude`',
    stored: 'count', rollout: 'final',
  },
  'skip/not-user-vm': {
    help: 'not a `UserVm` (appliance VMs)',
    stored: 'count', rollout: 'final',
  },
  'skip/unsupported-hypervisor': {
    help: 'hypervisor is not KVM',
    stored: 'count', rollout: 'final',
  },
  'skip/unknown-architecture': {
    help: 'the MN has no architecture for the VM; never guessed',
    attention: () => 'set the VM architecture in ZStack',
  },
  'skip/no-iso': {
    help: 'no ISO for the VM\'s agent type (Windows, WindowsVirtio: Windows tools; every other platform: Linux tools) and architecture',
    stored: 'count', rollout: 'final',
  },
  'skip/untagged': {
    help: 'no version (tag or guest report) and `attachUntagged` is off',
    rollout: 'final',
  },
  'skip/unparseable-tag': {
    help: 'the `GuestTools::` value is not a version',
    attention: () => 'set a GuestTools::X.Y.Z tag the guest really runs, or remove the bad one', rollout: 'final',
  },
  'skip/up-to-date': {
    help: 'at the target',
    stored: 'count',
  },
  'skip/ahead': {
    help: 'newer than every ISO: never downgrade',
    stored: 'count',
  },
  'skip/no-cdrom': {
    help: 'no CD-ROM to attach to',
    attention: () => 'add a CD-ROM to the VM', rollout: 'final', outOfDate: true,
  },
  'skip/catalog-mismatch': {
    help: 'the MN offers another version than the ISO folder (restart the MN)',
    attention: () => 'restart the management node so it loads the ISO of the ISO folder', outOfDate: true,
  },
  'skip/install-failed': {
    help: 'the installer failed in the guest (the `GuestTools::InstallFailed` tag, a failed script detail, or the MN refused the script; `gtr runs show` has its cause and the tail of its stderr); not attached or installed again for this target until `gtr retry --vm UUID`',
    attention: retry,
  },
  'skip/not-converging': {
    help: '`policy.maxAttempts` attaches of this target were not confirmed by the guest (or it regressed from it) and `reattachAfter` has passed since the last; until the target changes or `gtr retry --vm UUID`',
    attention: retry,
  },
  'defer/catalog-unverified': {
    help: 'the catalog probe of the VM\'s group failed in this run (`detail` has its error)',
    attention: () => 'check the management node: the catalog probe failed (see the error)',
  },
  'defer/quarantined': {
    help: '`policy.quarantineAfter` failures in a row; waits `quarantineBase`, doubling, at most 7 days',
    attention: retry,
  },
  'defer/installing': {
    help: 'the installer was started in the guest and its evidence (the guest\'s state row refreshed after `install.settle`, or a tag this reconciler did not send) is not in yet; `failed` with `no-evidence` after `install.timeout`',
    rollout: 'candidate',
  },
  'defer/awaiting-install': {
    help: 'attached for this target less than `policy.reattachAfter` ago; also when the MN\'s `guestToolsHasAttached` tag on the VM was created less than `reattachAfter` ago while this database has no attach of its own in that time (the other management node, or a replaced database, attached it; `detail` says when)',
    rollout: 'candidate',
  },
  'defer/not-running': {
    help: 'not Running; attached when it runs',
  },
  'defer/cdrom-busy': {
    help: 'CD-ROM 0 holds a user\'s image-store ISO that the attach would eject (some kvmagent versions always use CD-ROM 0); set `policy.ejectUserIso` to attach anyway',
    attention: () => "eject the user's ISO from CD-ROM 0, or set policy.ejectUserIso",
  },
  'defer/iso-soak': {
    help: 'the target ISO version was first seen less than `policy.isoSoak` ago (`auto` mode, no rollout targets it)',
    rollout: 'candidate',
  },
  'defer/outside-window': {
    help: 'outside every `schedule.windows` entry',
    rollout: 'candidate',
  },
  'defer/not-in-wave': {
    help: 'attached only through a rollout: a rollout covers the VM\'s agent type and its wave has not started (or the rollout is paused), or `policy.mode` is `rollout`, or the last rollout of this version was aborted',
    rollout: 'candidate',
  },
  'defer/run-limit': {
    help: 'past `policy.maxPerRun` or `--limit` (in uuid order)',
    rollout: 'candidate',
  },
  'defer/budget-halted': {
    help: 'the run halted on the error budget before this attach',
    rollout: 'candidate',
  },
  'defer/shutdown': {
    help: 'the process was asked to stop (SIGTERM/SIGINT) before this attach started; attaches in flight finished',
  },
  'defer/lease-lost': {
    help: 'the run lost the lease (another process took it over) before this attach started',
  },
  'defer/not-leader': {
    help: 'this node stopped being the leader of its pair of management nodes (`ha.leaderCheck`) before this attach started: the other node attaches (see the README\'s Leader check); or it just became the leader and has not caught up with its peer\'s ledger yet (see the README\'s Two management nodes)',
  },
};

/** The `action/reason` keys whose entry satisfies `test`, in REASONS order. */
export function reasonsWhere(test: (entry: ReasonEntry) => boolean): ReasonKey[] {
  return (Object.keys(REASONS) as ReasonKey[]).filter((key) => test(REASONS[key]));
}
