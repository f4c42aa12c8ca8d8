// One reconcile pass: observe (catalog, inventory, history) -> plan -> catalog check -> re-read of the
// attach set -> apply -> verify -> record. Level-triggered: every run re-reads the world, so a crash or
// a repeat is harmless.
// Every entry point runs this: `gtr plan`, `gtr reconcile`, the daemon's ticks, and so rollouts,
// which take part as a pass hook (src/reconcile/hooks.ts): gates consulted before each attach starts
// (src/plan/gates.ts) and an observer of outcomes.
import type { Logger } from 'pino';
import { errorToJson, GtrError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { applyAttaches, type ApplyResult } from '../apply/apply.js';
import { concurrencyFor, errorBudgetFor } from '../apply/limits.js';
import type { Ledger, RunTrigger } from '../ledger/index.js';
import { countDecisions, currentVersion, planRun, type Decision, type Plan } from '../plan/plan.js';
import { newJobUuid, type ZStackClient } from '../zstack/client.js';
import { checkCatalog, type GroupCheck } from '../observe/catalog-check.js';
import { fleetSummary } from './fleet.js';
import { mnWarnings } from '../observe/inventory.js';
import { observe } from '../observe/observe.js';
import { recheckAttachSet } from './recheck.js';
import type { RunCounts, RunReport } from './report.js';
import { exitCodeFor } from './exit-code.js';
import { buildReport } from './build-report.js';
import { failedRunEvents, runEvents } from './run-events.js';
import type { EventSink } from '../events.js';
import { NO_PROFILER, type Profiler } from '../profile/profile.js';
import type { AttachGate, AttachObserver } from '../plan/gates.js';
import type { PassHook } from './hooks.js';
import { WindowGate } from '../schedule/window-gate.js';
import type { VerifiedBy } from '../ledger/index.js';
import { verifyAttached } from './verify.js';
import { applyRetention } from './retention.js';
import { StartPath } from '../apply/start-path.js';
import { decisionTrim } from './stored-decisions.js';
import { recoverInterruptedRuns } from './recover.js';
import type { PlanInstall } from '../plan/plan.js';
import { runInstalls, type InstallStageResult } from '../apply/install.js';
import { installCommands } from '../apply/install-commands.js';
import { detachVerified, type DetachResult } from '../apply/detach.js';
import { settleInstalls } from './install-evidence.js';
import type { MountedIso, RunWarning } from '../ledger/index.js';

const QUARANTINE_MAX_MS = 7 * 24 * 3_600_000;
/** VMs awaiting a person's install kept in a run's stored stages (runs show, gtr status); the report lists them all. */
const MANUAL_INSTALL_STORED = 200;

export interface ReconcileDeps {
  config: Config;
  client: ZStackClient;
  ledger: Ledger;
  logger: Logger;
  now: () => number;
  /** Measures the phases for the benchmark; NO_PROFILER when absent. */
  profiler?: Profiler;
  /** Where run events go (notify.webhooks); none when absent. Real runs only. */
  events?: EventSink;
}

export interface ReconcileOptions {
  trigger: RunTrigger;
  dryRun: boolean;
  /** Only these VMs (`--vm`). */
  vmUuids?: string[];
  /** At most this many attaches (`--limit`), on top of policy.maxPerRun. */
  limit?: number;
  /** Gates of the caller (shutdown, leadership), asked before the hooks' gates. */
  gates?: readonly AttachGate[];
  /** The run's lease (src/reconcile/lease.ts): the fence of every start. Required for real runs. */
  fence?: AttachGate;
  /** Features taking part in the pass (rollouts). */
  hooks?: readonly PassHook[];
  onProgress?: (done: number, total: number, failed: number) => void;
}

/** The gates and observers of one run, from the caller and its hooks, and its start path (real runs). */
interface Plugged {
  gates: AttachGate[];
  observers: AttachObserver[];
  start: StartPath | null;
  /** Hooks that turn installs on for some VMs (rollout start --install). */
  installFor: ((vmUuid: string) => boolean)[];
}

export async function reconcile(deps: ReconcileDeps, opts: ReconcileOptions): Promise<{ report: RunReport; exitCode: number }> {
  const { ledger, now } = deps;
  const hooks = opts.hooks ?? [];
  const fence = opts.dryRun ? null : opts.fence;
  if (fence === undefined) throw new Error('reconcile: a real run needs the lease fence');
  // Windows bound every start, not only the plan (docs/design.md 2).
  const window = new WindowGate(deps.config.schedule.windows, deps.config.schedule.timezone, now());
  const callerGates = [window, ...(opts.gates ?? [])];
  // One start path for everything this run starts in ZStack (src/apply/start-path.ts).
  const basePath = fence === null ? null : StartPath.open(ledger, fence, callerGates, now);
  if (basePath) for (const hook of hooks) await hook.beforeRun?.(now(), basePath);
  const startedAt = now();
  const plugged: Plugged = { gates: [...callerGates], observers: [], start: null, installFor: [] };
  const hookGates: AttachGate[] = [];
  for (const hook of hooks) {
    const p = hook.plugIn(startedAt);
    hookGates.push(...p.gates);
    plugged.observers.push(...p.observers);
    if (p.installFor) plugged.installFor.push(p.installFor);
  }
  plugged.gates.push(...hookGates);
  plugged.start = basePath?.withGates(hookGates) ?? null;
  // The run is on record from its first step, so a run that fails to observe is recorded too.
  const runId = ledger.startRun({ trigger: opts.trigger, dryRun: opts.dryRun, now: now() });
  const logger = deps.logger.child({ runId });
  const profiler = deps.profiler ?? NO_PROFILER;
  let done: { report: RunReport; plan: Plan };
  try {
    done = await reconcileRecorded(deps, opts, plugged, runId, logger);
  } catch (error) {
    const aborted = error instanceof GtrError && error.code === 'GTR_ABORTED';
    closeRun(ledger, runId, { status: aborted ? 'interrupted' : 'failed', counts: {}, now: now(), message: errorToJson(error).details }, logger);
    logger.error({ error: errorToJson(error) }, 'run failed');
    if (!opts.dryRun) bookkeeping(logger, 'events', () => {
      for (const event of failedRunEvents(runId, error)) deps.events?.emit(event);
    });
    bookkeeping(logger, 'retention', () => applyRetention(ledger, deps.config.ledger, now(), logger));
    throw error;
  }
  const { report, plan } = done;
  closeRun(ledger, runId, { status: report.status, counts: { ...report.counts }, now: now(), message: report.message ?? undefined }, logger);
  logger.info({ status: report.status, counts: pickContractCounts(report.counts), message: report.message }, 'run finished');
  // Bookkeeping after the run never rewrites it (docs/design.md 1): each step's failure is logged and kept
  // as a warning of the run (`gtr runs show`, `gtr status`), and the run keeps its status and counts.
  const problems: string[] = [];
  const step = (name: string, fn: () => void) => {
    const problem = bookkeeping(logger, name, fn);
    if (problem) problems.push(problem);
  };
  step('retention', () => profiler.timed('retention', () => applyRetention(ledger, deps.config.ledger, now(), logger)));
  if (!opts.dryRun) for (const hook of hooks) step(hook.name, () => hook.afterRun?.({ plan, report, fullFleet: !opts.vmUuids, startedAt }));
  if (!opts.dryRun) step('events', () => {
    for (const event of runEvents(report)) deps.events?.emit(event);
  });
  if (problems.length > 0) {
    report.bookkeepingFailures = problems;
    bookkeeping(logger, 'warnings', () => ledger.addRunWarnings(runId, problems.map((message) => ({ code: 'bookkeeping-failed', message }))));
  }
  return { report, exitCode: exitCodeFor(report) };
}

/**
 * The run's last write. When it fails (the database locked or full), the ledger keeps it and retries it
 * at this process's next write (the daemon's next tick); the run is never left `running` by a live process.
 */
function closeRun(ledger: Ledger, runId: number, r: Parameters<Ledger['finishRun']>[1], logger: Logger): void {
  try {
    ledger.finishRun(runId, r);
  } catch (error) {
    ledger.finishRunLater(runId, r);
    logger.error({ error: errorToJson(error), status: r.status }, 'could not record the end of the run; retried at the next start');
  }
}

/** One bookkeeping step after a run: its failure is logged and returned, never thrown. */
function bookkeeping(logger: Logger, name: string, fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    const e = errorToJson(error);
    logger.error({ step: name, error: e }, 'bookkeeping after the run failed; the run keeps its record');
    return `${name}: ${e.details || e.description}`;
  }
}

async function reconcileRecorded(deps: ReconcileDeps, opts: ReconcileOptions, plugged: Plugged, runId: number, logger: Logger): Promise<{ report: RunReport; plan: Plan }> {
  const { config, client, ledger, now } = deps;
  const profiler = deps.profiler ?? NO_PROFILER;
  // The inventory and the per-VM history are only needed to plan: they are gone before apply starts.
  // A real run first learns what became of the attaches of runs that stopped before their end.
  const recovered = plugged.start ? await recoverInterruptedRuns(ledger, client, logger, now, runId) : null;
  // Then what the guests say of the installs still waiting for evidence, so the plan sees it.
  const settled = plugged.start
    ? await profiler.timedAsync('install-evidence', () => settleInstalls(client, ledger.installs, {
      runId, settleMs: config.install.settleMs, timeoutMs: config.install.timeoutMs, sentTag: config.zstack.recordVersionTag, now, logger,
    }))
    : [];
  const warnings: RunWarning[] = [];
  const setup = await installSetup(deps, plugged, warnings);
  const { plan, catalogChecks, regressions, targets, userIso } = await observeAndPlan(deps, opts, plugged.gates, runId, logger, setup.plan);

  // The plan's counts are the run's until it ends: a run killed later still says what it planned.
  ledger.setRunPlan(runId, { planHash: plan.hash, targets, counts: countDecisions(plan.decisions) });
  // History keeps a row per VM only where something changed or needs attention; the counts keep the rest.
  ledger.recordDecisions(runId, plan.decisions, decisionTrim(new Set(regressions.map((r) => r.vmUuid))));
  const attaches = attachesOf(plan);

  let applied: ApplyResult | null = null;
  let verified = new Map<string, VerifiedBy>();
  if (plugged.start && attaches.length > 0) {
    const start = plugged.start;
    applied = await profiler.timedAsync('apply', () => applyAttaches(attaches, client, ledger, {
      runId,
      maxConcurrency: concurrencyFor(config.policy.maxConcurrency, attaches.length),
      maxPerHost: config.policy.maxPerHost,
      maxErrors: errorBudgetFor(config.policy.maxErrors, attaches.length),
      recordVersionTag: config.zstack.recordVersionTag,
      quarantine: { afterFailures: config.policy.quarantineAfter, baseMs: config.policy.quarantineBaseMs, maxMs: QUARANTINE_MAX_MS },
      newJobUuid,
      now,
      logger,
      onProgress: opts.onProgress,
      start,
      observers: plugged.observers,
    }));
    const results = applied.results;
    const attachedNow = attaches.filter((d) => results.get(d.vmUuid)?.outcome === 'attached').map((d) => ({ vmUuid: d.vmUuid, target: d.target as string }));
    try {
      verified = await profiler.timedAsync('verify', () => verifyAttached(client, attachedNow, { sentTag: config.zstack.recordVersionTag }));
    } catch (error) {
      // The attaches went out and are on record; an unreadable verification only leaves them `attached`.
      logger.warn({ error: errorToJson(error) }, 'verification read failed; attached VMs are verified by a later run');
    }
    for (const by of ['guest', 'tag'] as const) ledger.markVerified(runId, [...verified].filter(([, b]) => b === by).map(([uuid]) => uuid), by);
  }
  let installed: InstallStageResult | null = null;
  let detached: DetachResult | null = null;
  if (plugged.start) {
    // The run's error budget, once exceeded by the attaches, holds the installs too.
    const halted: AttachGate = { name: 'budget', stopsRun: true, check: () => (applied?.halted ? 'budget-halted' : null) };
    const start = plugged.start.withGates([halted]);
    const toInstall = plan.decisions.filter((d) => d.action === 'install'
      || (d.action === 'attach' && d.install === 'ready' && applied?.results.get(d.vmUuid)?.outcome === 'attached' && !verified.has(d.vmUuid)));
    if (toInstall.length > 0) {
      installed = await profiler.timedAsync('install', () => runInstalls(
        toInstall.map((d) => ({ vmUuid: d.vmUuid, agentType: d.agentType, architecture: d.architecture, target: d.target as string })),
        client,
        { runId, start, installs: ledger.installs, commands: setup.commands, batchSize: config.install.maxConcurrency, newJobUuid, now, logger },
      ));
      if (installed.library === 'absent') warnings.push(LIBRARY_ABSENT);
    }
    const confirmed = new Set([...verified.keys(), ...plan.decisions.filter((d) => d.reason === 'up-to-date').map((d) => d.vmUuid)]);
    const ours = ledger.installs.mounted();
    // The funnel's `verified` (gtr status): kept whether or not the ISO is detached next.
    ledger.installs.noteVerified([...ours].filter(([vmUuid, m]) => m.verifiedAt === null && confirmed.has(vmUuid)).map(([vmUuid]) => vmUuid), now());
    if (config.policy.detachAfterVerify) {
      const byVm = new Map(plan.decisions.map((d) => [d.vmUuid, d]));
      // Only ISOs this reconciler attached (attached_isos), and never while a user's ISO sits in CD-ROM 0.
      const candidates = [...ours].flatMap(([vmUuid, mounted]) => {
        const d = byVm.get(vmUuid);
        return d && confirmed.has(vmUuid) && !userIso.has(vmUuid) ? [{ vmUuid, agentType: d.agentType, mounted }] : [];
      });
      if (candidates.length > 0) {
        detached = await profiler.timedAsync('detach', () => detachVerified(candidates, client, {
          runId, start, installs: ledger.installs, newJobUuid, now, logger, concurrency: concurrencyFor(config.policy.maxConcurrency, candidates.length),
        }));
        if (detached.api === 'absent') warnings.push(DETACH_ABSENT);
      }
    }
  }
  const report = buildReport({
    runId, dryRun: opts.dryRun, plan, applied, verified, catalogChecks, regressions, targets, resolved: recovered?.resolved ?? 0,
    after: plugged.start ? {
      installEnabled: setup.enabled, library: setup.library, install: installed, detachEnabled: config.policy.detachAfterVerify, detach: detached,
      settled, linuxCommand: setup.commands.Linux, mounted: setup.plan.mounted,
    } : undefined,
  });
  if (warnings.length > 0) {
    report.warnings = warnings;
    ledger.addRunWarnings(runId, warnings);
  }
  // The stored list of VMs awaiting a person is cut (`total` keeps the count): at 100k VMs without agents it would be megabytes per run.
  const manualInstall = report.manualInstall ? { ...report.manualInstall, vms: report.manualInstall.vms.slice(0, MANUAL_INSTALL_STORED) } : null;
  if (report.stages) ledger.setRunStages(runId, { ...report.stages, manualInstall, installs: report.installs ?? [] });
  return { plan, report };
}

/** The run's warnings when the MN lacks a step (shown by gtr status from the run's record). */
export const LIBRARY_ABSENT: RunWarning = {
  code: 'install-unavailable',
  message: 'the management node has no script library (ZStack 5.2.0+): nothing is installed in the guests; attached VMs await a person\'s install',
};
export const DETACH_ABSENT: RunWarning = {
  code: 'detach-unavailable',
  message: 'the management node has no DetachGuestToolsIsoFromVm: verified VMs keep the GuestTools ISO (and the Windows temp disk) until a person detaches it',
};

/** Whether installs run in this run, the commands, and what the planner needs (absent: attach only). */
async function installSetup(deps: ReconcileDeps, plugged: Plugged, warnings: RunWarning[]): Promise<{
  enabled: boolean;
  library: 'present' | 'absent' | 'error' | null;
  commands: ReturnType<typeof installCommands>;
  plan: InstallPlanInput;
}> {
  const { config, client, ledger, logger } = deps;
  const commands = installCommands(config.install);
  const view = ledger.installs.planView();
  const mode = config.install.mode === 'qga';
  const enabled = mode || plugged.installFor.length > 0;
  if (!enabled) return { enabled, library: null, commands, plan: { mounted: view.mounted } };
  // One query per process (the client keeps the answer): an MN without the library plans attach only.
  const library = await client.scriptLibrarySupport().catch((error: unknown) => {
    logger.warn({ error: errorToJson(error) }, 'could not find out whether the management node has the script library; installs wait for the next run');
    return 'error' as const;
  });
  if (library === 'absent') warnings.push(LIBRARY_ABSENT);
  if (library !== 'present') return { enabled, library, commands, plan: { mounted: view.mounted } };
  const install: PlanInstall = {
    enabledFor: (vmUuid) => mode || plugged.installFor.some((f) => f(vmUuid)),
    commands: { linux: commands.Linux !== null, windows: commands.Windows !== null },
    history: view.installs,
    mounted: view.mounted,
  };
  return { enabled, library, commands, plan: { install, mounted: view.mounted } };
}

interface Observed {
  plan: Plan;
  catalogChecks: GroupCheck[];
  regressions: RunReport['regressions'];
  targets: RunReport['targets'];
  /** VMs with an ISO of ours whose CD-ROM 0 now holds a user's ISO: never detached. */
  userIso: Set<string>;
}

/** What the planner needs of the installs (absent: attach only) and the ISOs this reconciler attached. */
type InstallPlanInput = { install?: PlanInstall; mounted: ReadonlyMap<string, MountedIso> };

async function observeAndPlan(deps: ReconcileDeps, opts: ReconcileOptions, gates: readonly AttachGate[], runId: number, logger: Logger, installs: InstallPlanInput): Promise<Observed> {
  const profiler = deps.profiler ?? NO_PROFILER;
  // The fleet's facts end with planFleet's frame: the re-read keeps only the attach set's VMs (at 100k
  // VMs the rest is ~30 MB of the heap; docs/performance.md).
  const { recheckInput, ...observed } = await planFleet(deps, opts, gates, runId, logger, installs);
  // Right before apply, the attach set is read again and planned again (docs/design.md 1: the fleet moved
  // while it was read). Dry runs too: `gtr plan` shows the plan `gtr reconcile` would apply to the same
  // world, with the same hash, for a few requests per 200 VMs of the attach set.
  const recheck = await profiler.timedAsync('recheck', () => recheckAttachSet(deps.client, observed.plan, recheckInput));
  if (recheck.rechecked > 0) {
    const examples = recheck.changed.slice(0, 10).map((d) => ({ vmUuid: d.vmUuid, action: d.action, reason: d.reason }));
    logger.info({ rechecked: recheck.rechecked, changed: recheck.changed.length, examples }, 'attach set re-read before apply');
  }
  return { ...observed, plan: recheck.plan };
}

/** Inventory, history, catalog check and plan; `recheckInput` is the plan's input narrowed to the attach set. */
async function planFleet(
  deps: ReconcileDeps, opts: ReconcileOptions, gates: readonly AttachGate[], runId: number, logger: Logger, installs: InstallPlanInput,
): Promise<Observed & {
  recheckInput: Parameters<typeof recheckAttachSet>[2];
}> {
  const { config, client, ledger, now } = deps;
  const profiler = deps.profiler ?? NO_PROFILER;
  const { targets, vms } = await observe(client, config, logger, { vmUuids: opts.vmUuids, profiler });
  logger.info({ trigger: opts.trigger, dryRun: opts.dryRun, vms: vms.length, targets }, 'inventory read');
  const userIso = new Set(vms.filter((vm) => vm.cdRomIsoUuid !== null && installs.mounted.has(vm.uuid)).map((vm) => vm.uuid));
  const warnings = mnWarnings(client);
  if (warnings.length > 0) ledger.setRunWarnings(runId, warnings);

  const regressions = opts.dryRun
    ? []
    : ledger.observeVersions(vms.map((vm) => ({ vmUuid: vm.uuid, version: currentVersion(vm).raw })), now());
  for (const r of regressions) logger.warn(r, 'GuestTools version went backwards');

  const maxPerRun = minPositive(config.policy.maxPerRun, opts.limit ?? 0);
  const planAt = now();
  const failedGuests = vms.filter((vm) => vm.installFailedAt !== null).map((vm) => vm.uuid);
  const history = ledger.planHistory(planAt, config.policy.reattachAfterMs, config.policy.maxAttempts, failedGuests);
  if (!opts.vmUuids) ledger.setRunFleet(runId, fleetSummary(vms, history));
  const planInput = {
    vms,
    targets,
    history,
    policy: { ...config.policy, maxPerRun },
    now: planAt,
    mismatchedGroups: new Set<string>(),
    gates,
    install: installs.install,
  };
  // Probe every group that has an attach before the run limit applies: otherwise the slots a mismatched
  // group frees would go to groups nobody probed.
  const probePlan = profiler.timed('plan', planRun, { ...planInput, policy: { ...planInput.policy, maxPerRun: 0 } });
  const catalogChecks = await checkCatalog(client, attachesOf(probePlan), logger);
  const mismatched = catalogChecks.filter((c) => c.mismatch).map((c) => c.group);
  const unverified = new Map(catalogChecks.flatMap((c) => (c.error !== null && !c.mismatch ? [[c.group, c.error] as const] : [])));
  const finalInput = { ...planInput, mismatchedGroups: new Set(mismatched), unverifiedGroups: unverified };
  const plan = mismatched.length > 0 || unverified.size > 0 || maxPerRun > 0 ? profiler.timed('plan', planRun, finalInput) : probePlan;
  const attaching = new Set(attachesOf(plan).map((d) => d.vmUuid));
  const recheckInput = { ...finalInput, vms: vms.filter((vm) => attaching.has(vm.uuid)) };
  return { plan, catalogChecks, regressions, targets, userIso, recheckInput };
}

function pickContractCounts(c: RunCounts) {
  return { vms: c.vms, attach: c.attach, skip: c.skip, defer: c.defer, succeeded: c.succeeded, failed: c.failed, verified: c.verified };
}

function attachesOf(plan: Plan): Decision[] {
  return plan.decisions.filter((d) => d.action === 'attach');
}

function minPositive(a: number, b: number): number {
  if (a > 0 && b > 0) return Math.min(a, b);
  return a > 0 ? a : b;
}
