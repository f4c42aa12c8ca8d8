// The plan: a pure function of (catalog targets, inventory, ledger history, policy, now) giving one
// decision per VM. No I/O here, so it is tested table-driven and the same inputs give the same hash.
import { createHash } from 'node:crypto';
import type { Selector } from '../config/schema.js';
import { agentTypeForPlatform, type AgentType, type CatalogTarget, type VmFacts } from '../domain.js';
import { compareVersions, highestVersion, parseVersion, type Version } from '../tools-version.js';
import { targetForVm } from '../catalog/targets.js';
import type { Action, Reason } from './reasons.js';
import { firstRefusal, type AttachGate } from './gates.js';
import { exclusionOf } from './selectors.js';
import type { InstallHistory } from '../ledger/index.js';
import { writtenSince } from '../zstack/zstack-date.js';

export interface VmHistory {
  lastAttachTarget: string | null;
  lastAttachAt: number | null;
  /** Failed attaches in a row (the quarantine counts them). */
  consecutiveFailures: number;
  /**
   * The MN said the last attach did not happen (it refused it, or ran it and failed): nothing waits to
   * be installed. False while it is pending, in doubt or went through, whatever failed before it.
   */
  lastAttachFailed: boolean;
  quarantineUntil: number | null;
  /** Attaches of `attemptsTarget` that succeeded; the guest confirming one does not reset it (a regression counts). */
  attempts: number;
  attemptsTarget: string | null;
  /** The last attach sent `GuestTools::<lastAttachTarget>` (zstack.recordVersionTag): that tag is no evidence. */
  lastAttachTagged: boolean;
  /** When `gtr retry` last re-armed the VM: an install failure reported before it is forgotten. */
  retriedAt: number | null;
}

interface PlanPolicy {
  attachUntagged: boolean;
  reattachAfterMs: number;
  /** Unconfirmed attaches of one target before skip/not-converging. */
  maxAttempts: number;
  /** Attach even when CD-ROM 0 holds a user's ISO. */
  ejectUserIso: boolean;
  /** 0 = no limit. */
  maxPerRun: number;
  include: Selector | null;
  exclude: Selector | null;
}

/** What the planner needs to decide installs in the guest (DESIGN.md 2.7); absent: attach only. */
export interface PlanInstall {
  /** Installs run for this VM: install.mode "qga", or an open rollout with --install covers it. */
  enabledFor(vmUuid: string, agentType: AgentType): boolean;
  /** Which platforms have an install command (Linux: ZStack's procedure unless overridden). */
  commands: { linux: boolean; windows: boolean };
  /** The newest install per VM (the ledger's installs table). */
  history: ReadonlyMap<string, InstallHistory>;
  /** VMs whose GuestTools ISO this reconciler attached and has not detached, with the target attached. */
  mounted: ReadonlyMap<string, { target: string }>;
}

/**
 * Whether the installer may run in the VM once the target is attached: `ready`; `no-agent` (not
 * Running, or its QEMU guest agent does not run: attach only, a person installs); `no-command` (no
 * command for its platform: Windows without install.windows.command); null: installs are off for it.
 */
type InstallReadiness = 'ready' | 'no-agent' | 'no-command' | null;

export interface PlanInput {
  vms: readonly VmFacts[];
  targets: readonly CatalogTarget[];
  history: ReadonlyMap<string, VmHistory>;
  policy: PlanPolicy;
  now: number;
  /** Groups (see groupKey) where the MN offers another version than the catalog. */
  mismatchedGroups: ReadonlySet<string>;
  /** Groups whose catalog probe failed in this run, with the probe's error: defer/catalog-unverified. */
  unverifiedGroups?: ReadonlyMap<string, string>;
  /**
   * Asked about every VM that would be attached (src/plan/gates.ts), the maintenance window among them:
   * the earliest refusal in precedence defers it.
   */
  gates?: readonly AttachGate[];
  install?: PlanInstall;
}

export interface Decision {
  vmUuid: string;
  vmName: string;
  action: Action;
  reason: Reason;
  current: string | null;
  target: string | null;
  agentType: AgentType;
  architecture: string | null;
  hostUuid: string | null;
  /** Catalog-check group of an eligible VM, e.g. `LinuxOnKvm/x86_64`. */
  group: string;
  /** Extra facts worth telling the operator (the selector that excluded the VM, several tags); `detail` in JSON. */
  message: string | null;
  /**
   * Where `current` comes from, by the planner's rules (docs/design.md 3): the guest's own report, a
   * GuestTools:: tag this reconciler did not send, or only the tag it sent with its last attach
   * (zstack.recordVersionTag: `sent-tag`, no evidence of an install); null without a version.
   */
  source: VersionSource;
  /** A guest agent runs (QueryGuestToolsState: a reported version, or `qgaState` Running before its first one). */
  guestAgent: boolean;
  /** Whether the installer may run in the guest once attached (InstallReadiness). */
  install: InstallReadiness;
}

export type VersionSource = 'guest' | 'tag' | 'sent-tag' | null;

export interface Plan {
  decisions: Decision[];
  hash: string;
}

function groupKey(agentType: AgentType, architecture: string): string {
  return `${agentType}/${architecture}`;
}

/** groupKey, one string per group instead of one per VM (`known` lives for one plan). */
function sharedGroupKey(known: Map<string, string>, agentType: AgentType, architecture: string): string {
  const key = groupKey(agentType, architecture);
  const shared = known.get(key);
  if (shared !== undefined) return shared;
  known.set(key, key);
  return key;
}

interface CurrentVersion {
  version: Version | null;
  raw: string | null;
  note: string | null;
  /** Where the version comes from: the guest's own report, or the GuestTools:: tag only. */
  source: 'guest' | 'tag' | null;
}

/** The VM's current version: the guest's own report first, else the highest GuestTools:: tag. */
export function currentVersion(vm: VmFacts): CurrentVersion {
  if (vm.reportedVersion !== null) {
    const reported = parseVersion(vm.reportedVersion);
    if (reported) return { version: reported, raw: vm.reportedVersion, note: null, source: 'guest' };
  }
  if (vm.tagVersions.length === 0) return { version: null, raw: null, note: null, source: null };
  const best = highestVersion(vm.tagVersions);
  const note = vm.tagVersions.length > 1 ? `several GuestTools:: tags (${vm.tagVersions.join(', ')}); using the highest` : null;
  return { version: best, raw: best ? best.raw : vm.tagVersions[0], note, source: 'tag' };
}

/**
 * A tag-only version equal to the target this reconciler last sent in the attach's systemTags
 * (zstack.recordVersionTag): the tag is ours, not the guest's, so it proves no install (docs/design.md 3).
 */
export function isOwnTag(current: CurrentVersion, history: Pick<VmHistory, 'lastAttachTarget' | 'lastAttachTagged'> | undefined): boolean {
  if (current.source !== 'tag' || current.version === null || !history?.lastAttachTagged || history.lastAttachTarget === null) return false;
  const sent = parseVersion(history.lastAttachTarget);
  return sent !== null && compareVersions(current.version, sent) === 0;
}

export function planRun(input: PlanInput): Plan {
  const vms = [...input.vms].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  const decisions: Decision[] = [];
  let attaches = 0;
  const groups = new Map<string, string>();
  for (const vm of vms) {
    const decision = decide(vm, input, groups);
    if (decision.action === 'attach' && input.policy.maxPerRun > 0) {
      if (attaches >= input.policy.maxPerRun) {
        decision.action = 'defer';
        decision.reason = 'run-limit';
      } else attaches++;
    }
    decisions.push(decision);
  }
  return { decisions, hash: planHash(decisions) };
}

function decide(vm: VmFacts, input: PlanInput, groups: Map<string, string>): Decision {
  const agentType = agentTypeForPlatform(vm.platform);
  const current = currentVersion(vm);
  const history = input.history.get(vm.uuid);
  const ownTag = isOwnTag(current, history);
  const target = vm.architecture ? targetForVm(input.targets, agentType, vm.architecture) : null;
  const group = sharedGroupKey(groups, agentType, vm.architecture ?? '');
  const readiness = installReadiness(vm, agentType, input.install);
  // One object literal with every field: an object spread here gave each of 100k decisions a hidden
  // class of its own (~350 bytes each, a third of the plan's memory).
  const make = (action: Action, reason: Reason): Decision => ({
    vmUuid: vm.uuid,
    vmName: vm.name,
    current: current.raw,
    target: target ? target.version : null,
    agentType,
    architecture: vm.architecture,
    hostUuid: vm.hostUuid,
    group,
    message: messageFor(reason, vm, group, current, ownTag, input),
    source: ownTag ? 'sent-tag' : current.source,
    guestAgent: vm.reportedVersion !== null || vm.agentRunning,
    install: readiness,
    action,
    reason,
  });
  const skip = (reason: Reason): Decision => make('skip', reason);
  const defer = (reason: Reason): Decision => make('defer', reason);

  const excludedBy = exclusionOf(vm, input.policy.include, input.policy.exclude);
  if (excludedBy !== null) {
    const excluded = skip('excluded');
    excluded.message = excludedBy;
    return excluded;
  }
  if (vm.type !== 'UserVm') return skip('not-user-vm');
  if (vm.hypervisorType !== 'KVM') return skip('unsupported-hypervisor');
  if (!vm.architecture) return skip('unknown-architecture');
  if (!target) return skip('no-iso');
  const untagged = current.raw === null;
  if (untagged && !input.policy.attachUntagged) return skip('untagged');
  const installerFailed = installerReportedFailure(vm, history, target.version);
  if (!untagged && current.version === null && !installerFailed) return skip('unparseable-tag');
  if (current.version && !ownTag) {
    const order = compareVersions(current.version, parseVersion(target.version) as Version);
    if (order === 0) return skip('up-to-date');
    if (order > 0) return skip('ahead');
  }
  if (!vm.hasCdRom) return skip('no-cdrom');
  if (input.mismatchedGroups.has(group)) return skip('catalog-mismatch');
  const installed = input.install?.history.get(vm.uuid);
  if (installed?.target === target.version && installed.state === 'install-failed') return skip('install-failed');
  if (installerFailed) {
    const failed = skip('install-failed');
    failed.message = `the guest's installer reported GuestTools::InstallFailed at ${new Date(vm.installFailedAt as number).toISOString()}, after the attach`;
    return failed;
  }
  const sinceAttach = history?.lastAttachAt != null ? input.now - history.lastAttachAt : Infinity;
  if (
    history?.attemptsTarget === target.version &&
    history.attempts >= input.policy.maxAttempts &&
    sinceAttach >= input.policy.reattachAfterMs
  ) {
    return skip('not-converging');
  }

  if (input.unverifiedGroups?.has(group)) return defer('catalog-unverified');
  if (history?.quarantineUntil && history.quarantineUntil > input.now) return defer('quarantined');
  // At most one install in flight per VM (the agent's script file is one per VM).
  if (installed?.state === 'installing') return defer('installing');
  if (
    history?.lastAttachTarget === target.version &&
    !history.lastAttachFailed &&
    sinceAttach < input.policy.reattachAfterMs
  ) {
    // Level-triggered: the ISO we attached in an earlier run is still mounted and nothing installed it yet.
    if (readiness === 'ready' && input.install?.mounted.get(vm.uuid)?.target === target.version && mayInstall(installed, target.version, input)) {
      return gated(make('install', 'attached'), input);
    }
    return defer('awaiting-install');
  }
  if (attachedElsewhere(vm, history, input)) return defer('awaiting-install');
  if (vm.state !== 'Running') return defer('not-running');
  if (vm.cdRomIsoUuid !== null && !input.policy.ejectUserIso) return defer('cdrom-busy');
  const attach = make('attach', untagged ? 'untagged' : 'outdated');
  if (attach.message === null && readiness === 'no-agent') attach.message = 'no guest agent runs: attach only, the install in the guest is a person\'s (see the run\'s manualInstall)';
  if (attach.message === null && readiness === 'no-command') attach.message = 'no install.windows.command: attach only';
  return gated(attach, input);
}

/** The decision, or a defer when a gate (the maintenance window among them) keeps it from starting. */
function gated(decision: Decision, input: PlanInput): Decision {
  // Precedence (docs/reference/reasons.md, firstRefusal): iso-soak, outside-window, then the other gate reasons.
  const reason = input.gates ? firstRefusal(input.gates, decision, input.now)?.reason ?? null : null;
  if (reason) {
    decision.action = 'defer';
    decision.reason = reason;
  }
  return decision;
}

function installReadiness(vm: Pick<VmFacts, 'uuid' | 'state' | 'agentRunning'>, agentType: AgentType, install: PlanInstall | undefined): InstallReadiness {
  if (!install?.enabledFor(vm.uuid, agentType)) return null;
  if (!(agentType === 'WindowsOnKvm' ? install.commands.windows : install.commands.linux)) return 'no-command';
  return vm.state === 'Running' && vm.agentRunning ? 'ready' : 'no-agent';
}

/**
 * The guest's installer reported `GuestTools::InstallFailed` after our attach of `target` (and after any
 * `gtr retry`): the install of that target failed, whoever ran it (a person, or our install step).
 */
function installerReportedFailure(vm: VmFacts, history: VmHistory | undefined, target: string): boolean {
  if (vm.installFailedAt === null || history?.lastAttachTarget !== target || history.lastAttachAt == null || history.lastAttachFailed) return false;
  return writtenSince(vm.installFailedAt, history.lastAttachAt) && (history.retriedAt === null || vm.installFailedAt >= history.retriedAt);
}

/** Never two installs of one target on one VM within reattachAfter, unless `gtr retry` re-armed it. */
function mayInstall(last: InstallHistory | undefined, target: string, input: Pick<PlanInput, 'now' | 'policy'>): boolean {
  if (!last || last.target !== target || last.state === 'rearmed') return true;
  return last.state !== 'installing' && last.state !== 'install-failed' && input.now - last.startedAt >= input.policy.reattachAfterMs;
}

/**
 * The MN's guestToolsHasAttached tag is younger than reattachAfter while this ledger has no attach of its
 * own in that time: another node, or a database that was replaced, attached the VM. (An attach of our
 * own in that time is better known by the ledger: which target, whether it failed.)
 */
function attachedElsewhere(vm: VmFacts, history: VmHistory | undefined, input: PlanInput): boolean {
  const window = input.policy.reattachAfterMs;
  if (vm.attachedAt === null || input.now - vm.attachedAt >= window) return false;
  return history?.lastAttachAt == null || input.now - history.lastAttachAt >= window;
}

/** What the operator should know beside the reason: a probe's error, whose ISO, which tag. */
function messageFor(reason: Reason, vm: VmFacts, group: string, current: CurrentVersion, ownTag: boolean, input: PlanInput): string | null {
  if (reason === 'catalog-unverified') return `catalog probe failed: ${input.unverifiedGroups?.get(group) ?? 'unknown error'}`;
  if (reason === 'cdrom-busy') return `CD-ROM 0 holds ISO ${vm.cdRomIsoUuid ?? ''}; the attach would eject it`;
  if (ownTag) return `GuestTools::${current.raw ?? ''} was sent by this reconciler with the attach: no evidence of an install`;
  if (reason === 'awaiting-install' && vm.attachedAt !== null && attachedElsewhere(vm, input.history.get(vm.uuid), input)) {
    return `attached at ${new Date(vm.attachedAt).toISOString()} (the MN's guestToolsHasAttached tag), not by this database`;
  }
  return current.note;
}

/** sha256 over what was decided, per VM in uuid order: equal plans hash equal. */
export function planHash(decisions: readonly Decision[]): string {
  const hash = createHash('sha256');
  for (const d of decisions) hash.update(`${d.vmUuid}\t${d.action}\t${d.reason}\t${d.current ?? ''}\t${d.target ?? ''}\n`);
  return `sha256:${hash.digest('hex')}`;
}

export function countDecisions(decisions: readonly Pick<Decision, 'action' | 'reason'>[]): Record<string, number> {
  const counts: Record<string, number> = { vms: decisions.length, attach: 0, skip: 0, defer: 0 };
  for (const d of decisions) {
    // `install` only where a run has install decisions: counts stay as they were without installs.
    counts[d.action] = (counts[d.action] ?? 0) + 1;
    const key = `${d.action}/${d.reason}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
