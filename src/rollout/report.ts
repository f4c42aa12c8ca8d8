// Rollouts as JSON (`gtr rollout status|list --json`, /api/rollouts, `gtr status`): the group targets,
// per wave and per group the members by status (pending, attached, verified, unconfirmed, failed,
// skipped), when a wave's soak ends, and the current wave's error budget.
import type { Ledger } from '../ledger/index.js';
import type { MemberRecord, RolloutDetail, RolloutRecord, WaveRecord } from './records.js';
import { RolloutStore } from './store.js';
import { formatLimit } from '../config/count-or-percent.js';
import { currentWave, MEMBER_STATUSES, waveBudget, type MemberStatus } from './waves.js';
import { formatDuration, iso } from '../time-format.js';

export function countByStatus(members: readonly MemberRecord[]): Record<MemberStatus, number> & { members: number } {
  const counts = Object.fromEntries(MEMBER_STATUSES.map((s) => [s, 0])) as Record<MemberStatus, number>;
  for (const m of members) counts[m.status]++;
  return { members: members.length, ...counts };
}

export function waveJson(w: WaveRecord, members: readonly MemberRecord[], r: Pick<RolloutRecord, 'waveTimeoutMs'>, now: number) {
  const own = members.filter((m) => m.wave === w.number);
  const state = w.completedAt !== null ? 'completed' : w.startedAt !== null ? 'running' : 'waiting';
  return {
    number: w.number,
    spec: w.spec,
    state,
    ...countByStatus(own),
    startedAt: iso(w.startedAt),
    timesOutAt: w.startedAt !== null && w.completedAt === null ? iso(w.startedAt + r.waveTimeoutMs) : null,
    completedAt: iso(w.completedAt),
    timedOut: w.timedOut,
    soakEndsAt: iso(w.soakUntil),
    soaking: w.soakUntil !== null && w.soakUntil > now,
  };
}

/** Progress per (agent type, architecture) group with its target. */
export function groupJson(r: Pick<RolloutDetail, 'targets' | 'members'>) {
  return r.targets.map((t) => ({
    agentType: t.agentType,
    architecture: t.architecture,
    target: t.version,
    ...countByStatus(r.members.filter((m) => m.agentType === t.agentType && (t.architecture === '*' || m.architecture === t.architecture))),
  }));
}

export function rolloutJson(r: RolloutDetail, now: number, opts: { members: boolean; transitions: boolean }) {
  const current = currentWave(r.waves);
  const budget = current ? waveBudget(current, r.members, r.maxErrors) : { failures: 0, budget: 0 };
  return {
    id: r.id,
    agentTypes: r.agentTypes,
    target: r.target,
    targets: r.targets.map((t) => ({ agentType: t.agentType, architecture: t.architecture, version: t.version })),
    state: r.state,
    stateReason: r.stateReason,
    waves: r.wavesSpec,
    soak: formatDuration(r.soakMs),
    waveTimeout: formatDuration(r.waveTimeoutMs),
    maxErrors: formatLimit(r.maxErrors),
    errors: { wave: current?.number ?? null, failed: budget.failures, budget: budget.budget, acknowledged: current?.errorsAcknowledged ?? 0 },
    canaries: r.canaries,
    createdAt: iso(r.createdAt),
    createdBy: r.createdBy,
    updatedAt: iso(r.updatedAt),
    currentWave: current?.number ?? null,
    counts: countByStatus(r.members),
    groups: groupJson(r),
    waveProgress: r.waves.map((w) => waveJson(w, r.members, r, now)),
    ...(opts.members
      ? {
          members: r.members.map((m) => ({
            vmUuid: m.vmUuid, vmName: m.vmName, agentType: m.agentType, target: m.target, wave: m.wave, canary: m.canary, status: m.status, reason: m.reason,
            attachedAt: iso(m.attachedAt), verifiedAt: iso(m.verifiedAt), detachedAt: iso(m.detachedAt), detachError: m.detachError,
          })),
        }
      : {}),
    ...(opts.transitions
      ? { transitions: r.transitions.map((t) => ({ at: iso(t.at), event: t.event, from: t.fromState, to: t.toState, wave: t.wave, who: t.who, why: t.why })) }
      : {}),
  };
}

/** /api/rollouts: the newest rollouts with per-wave progress and their transitions. */
export function rolloutsJson(ledger: Ledger, now: number, limit = 20) {
  const store = new RolloutStore(ledger);
  const rollouts = store.list(limit).map((r) => store.get(r.id)).filter((r): r is RolloutDetail => r !== null);
  return { rollouts: rollouts.map((r) => rolloutJson(r, now, { members: false, transitions: true })) };
}

/** For `gtr status`: the open (active or paused) rollouts. */
export function openRolloutsJson(ledger: Ledger, now: number) {
  return new RolloutStore(ledger).open().map((r) => rolloutJson(r, now, { members: false, transitions: false }));
}
