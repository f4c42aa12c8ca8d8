// Rollouts in the reconcile pass (a PassHook, src/reconcile/hooks.ts). Before a real run: settle
// pending detaches of aborted rollouts and take due wave steps. During the run: the rollout / ISO-soak
// gate. After it: fold what the run saw into the members, let new candidates join, auto-start a
// rollout for a new ISO version, and take the wave steps that became due. All under the run's lease.
import type { Logger } from 'pino';
import { errorToJson, ZStackApiError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { AGENT_TYPES } from '../domain.js';
import type { Ledger } from '../ledger/index.js';
import type { StartPath } from '../apply/start-path.js';
import type { Plan } from '../plan/plan.js';
import type { PassHook, RunSeen } from './hooks.js';
import type { RunReport } from './report.js';
import { newJobUuid, type ZStackClient } from '../zstack/client.js';
import { RolloutGate, versionKey } from '../rollout/gate.js';
import { compareRaw, isCandidate, JOB_LOST, type RunObservation } from '../rollout/observe.js';
import type { RolloutDetail } from '../rollout/records.js';
import { RolloutStore } from '../rollout/store.js';
import { startRollout } from '../rollout/start.js';
import { isOpen } from '../rollout/transitions.js';
import { formatWaves } from '../count-or-percent.js';
import { NO_CANARIES } from '../rollout/membership.js';
import type { EventSink } from '../events.js';
import { stepEvent, waveStarted } from '../rollout/events.js';
import type { ProgressStep } from '../rollout/waves.js';

interface RolloutHookDeps {
  config: Config;
  client: Pick<ZStackClient, 'detachGuestToolsIso' | 'checkJob'>;
  ledger: Ledger;
  logger: Logger;
  now: () => number;
  /** Rollout events (notify.webhooks); none when absent. */
  events?: EventSink;
}

export function rolloutHook(deps: RolloutHookDeps, actor: string): PassHook {
  const store = new RolloutStore(deps.ledger);
  const { logger, now, config } = deps;
  return {
    name: 'rollout',
    async beforeRun(at, start) {
      await detachPending(store, deps.client, start, logger, now, actor).catch((error: unknown) =>
        logger.warn({ error: errorToJson(error) }, 'detaching the ISO from members of aborted rollouts failed; the next run tries again'));
      for (const r of store.open()) reportSteps(deps, r.id, store.advance(r.id, at, actor));
    },
    plugIn(at) {
      const policy = { mode: config.policy.mode, isoSoakMs: config.policy.isoSoakMs, autoStart: config.rollout.autoStart };
      const gate = new RolloutGate(policy, store, at, actor);
      // rollout start --install: the members of open rollouts that install (their starts are gated all the same).
      const installing = new Set(store.open().filter((r) => r.install).flatMap((r) => r.members.map((m) => m.vmUuid)));
      return { gates: [gate], observers: [gate], ...(installing.size > 0 ? { installFor: (vmUuid: string) => installing.has(vmUuid) } : {}) };
    },
    afterRun(seen) {
      afterRun(store, deps, seen, actor);
    },
  };
}

function afterRun(store: RolloutStore, deps: RolloutHookDeps, run: RunSeen, actor: string): void {
  const { logger, now } = deps;
  const { plan, report } = run;
  store.noteIsoVersions(report.targets, run.startedAt);
  const autoStarting = deps.config.rollout.autoStart && run.fullFleet;
  // The join of plan and report is a map over the whole fleet: only built when a rollout will read it.
  if (!autoStarting && store.open().length === 0) return;
  const seen = observations(plan, report);
  noteLostAttaches(deps.ledger, store.open(), seen);
  for (const r of store.open()) {
    const joiners = [...seen.values()].filter((o) => r.agentTypes.includes(o.agentType) && isCandidate(o));
    store.observe(r.id, seen, joiners, run.fullFleet, now());
    reportSteps(deps, r.id, store.advance(r.id, now(), actor));
  }
  if (autoStarting) autoStart(store, deps.config, seen, now(), actor, logger, deps.events);
}

/**
 * Members waiting on an attach this run did not make (the planner defers them awaiting-install) whose
 * newest attach of their target, per the ledger, was lost (GTR_JOB_LOST): also one the replay of a
 * crashed run resolved before this run. Marks their observations; one indexed read per such member.
 */
export function noteLostAttaches(ledger: Pick<Ledger, 'lastAttaches'>, open: readonly Pick<RolloutDetail, 'members'>[], seen: Map<string, RunObservation>): void {
  const waiting = new Map<string, string>();
  for (const r of open) {
    for (const m of r.members) {
      const obs = seen.get(m.vmUuid);
      if ((m.status === 'pending' || m.status === 'attached') && obs?.outcome === null && obs.action === 'defer' && obs.reason === 'awaiting-install') waiting.set(m.vmUuid, m.target);
    }
  }
  if (waiting.size === 0) return;
  for (const [vmUuid, last] of ledger.lastAttaches([...waiting.keys()])) {
    const obs = seen.get(vmUuid);
    if (obs && last.outcome === 'in-doubt' && last.errorCode === JOB_LOST && last.target === waiting.get(vmUuid)) obs.lostAttachAt = last.startedAt;
  }
}

/** The plan's decisions joined with the run's outcomes (budget-halted attaches are defers). */
function observations(plan: Plan, report: RunReport): Map<string, RunObservation> {
  const actions = new Map(report.actions.map((a) => [a.vmUuid, a]));
  const seen = new Map<string, RunObservation>();
  for (const d of plan.decisions) {
    const a = actions.get(d.vmUuid);
    seen.set(d.vmUuid, {
      vmUuid: d.vmUuid,
      vmName: d.vmName,
      agentType: d.agentType,
      architecture: d.architecture ?? '',
      guestAgent: d.guestAgent,
      action: a?.action ?? d.action,
      reason: a?.reason ?? d.reason,
      current: d.current,
      source: d.source,
      target: d.target,
      outcome: a?.outcome ?? null,
      errorCode: a?.error?.code ?? null,
      lostAttachAt: null,
    });
  }
  return seen;
}

/** rollout.autoStart: a rollout per agent type over its groups whose catalog target was never rolled out. */
function autoStart(store: RolloutStore, config: Config, seen: ReadonlyMap<string, RunObservation>, now: number, who: string, logger: Logger, events?: EventSink): void {
  const openTypes = new Set(store.open().flatMap((r) => (isOpen(r.state) ? r.agentTypes : [])));
  const last = store.lastRolloutByVersion();
  const steps = config.rollout.waves;
  for (const agentType of AGENT_TYPES) {
    if (openTypes.has(agentType)) continue;
    const candidates = [...seen.values()]
      .filter((o) => o.agentType === agentType && o.target !== null && !last.has(versionKey(agentType, o.target)) && isCandidate(o))
      .map((o) => ({ uuid: o.vmUuid, name: o.vmName, agentType, architecture: o.architecture, target: o.target as string, clusterUuid: null, tags: [] }));
    if (candidates.length === 0) continue;
    const versions = [...new Set(candidates.map((c) => c.target))].sort(compareRaw).join(', ');
    const started = startRollout(store, {
      agentTypes: [agentType], candidates, canaries: NO_CANARIES, wavesSpec: formatWaves(steps), steps,
      soakMs: config.rollout.soakMs, waveTimeoutMs: config.rollout.waveTimeoutMs, maxErrors: config.rollout.maxErrors,
      who, why: `rollout.autoStart: new ISO version ${versions} for ${agentType}`, now,
    });
    logger.info({ rolloutId: started.id, agentType, targets: started.targets, members: started.members.length, waves: started.waves.length }, 'rollout started automatically');
    if (started.waves.length > 0) events?.emit(waveStarted(started.id, 1));
  }
}

/**
 * --detach of aborted rollouts: DetachGuestToolsIsoFromVm for every member this reconciler attached
 * that is not verified (attached, or failed without evidence). Each
 * goes through the run's start path, its job uuid recorded before the PUT; a detach already started
 * (a job uuid on record, no result) is never sent again: its job is polled instead.
 */
export async function detachPending(
  store: RolloutStore,
  client: Pick<ZStackClient, 'detachGuestToolsIso' | 'checkJob'>,
  start: StartPath,
  logger: Logger,
  now: () => number,
  who: string,
): Promise<number> {
  let done = 0;
  for (const p of store.pendingDetaches()) {
    if (p.jobUuid !== null) {
      const state = await client.checkJob(p.jobUuid);
      if (state.state === 'succeeded') store.markDetached(p.rolloutId, p.vmUuid, null, now(), who);
      else if (state.state === 'failed') store.markDetached(p.rolloutId, p.vmUuid, `${state.error.zstack.code}: ${state.error.zstack.details}`, now(), who);
      continue;
    }
    let stopped = false;
    try {
      const result = await client.detachGuestToolsIso(p.vmUuid, {
        permit: async () => {
          const jobUuid = newJobUuid();
          const answer = await start.start({
            api: 'DetachGuestToolsIsoFromVm',
            subject: { vmUuid: p.vmUuid, agentType: p.agentType, architecture: null, target: null },
            jobUuid,
            record: () => store.beginDetach(p.rolloutId, p.vmUuid, jobUuid),
          });
          if (answer.refusal?.gate.stopsRun) stopped = true;
          return answer.permit;
        },
      });
      if (result === 'done') {
        store.markDetached(p.rolloutId, p.vmUuid, null, now(), who);
        done++;
      }
    } catch (error) {
      // Only the management node's own refusal is final; transport trouble is settled by polling the job next time.
      if (!(error instanceof ZStackApiError)) throw error;
      const e = errorToJson(error);
      store.markDetached(p.rolloutId, p.vmUuid, `${e.code}: ${e.details}`, now(), who);
      logger.warn({ rolloutId: p.rolloutId, vmUuid: p.vmUuid, error: e }, 'detach failed');
    }
    if (stopped) break;
  }
  return done;
}

function reportSteps(deps: Pick<RolloutHookDeps, 'logger' | 'events'>, rolloutId: number, steps: readonly ProgressStep[]): void {
  for (const step of steps) {
    deps.logger.info({ rolloutId, ...step }, 'rollout step');
    const event = stepEvent(rolloutId, step);
    if (event) deps.events?.emit(event);
  }
}
