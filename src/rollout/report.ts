// Rollouts as JSON (`gtr rollout status|list --json`, /api/rollouts, `gtr status`): the group targets,
// per wave and per group the members by status (pending, attached, verified, failed, skipped), when a
// wave's soak ends and when it times out, the current wave's error budget, and what the running wave
// waits for: its unfinished members (at most WAITING_SHOWN), each with since and until when. The CLI's
// text and the status page show these documents and share the words below.
import type { Ledger } from '../ledger/index.js';
import type { MemberRecord, RolloutDetail, RolloutRecord, WaveRecord } from './records.js';
import { RolloutStore } from './store.js';
import { formatLimit } from '../count-or-percent.js';
import { currentWave, isFinal, MEMBER_STATUSES, NOT_RUNNING, waveBudget, type MemberStatus } from './waves.js';
import { formatDuration, iso } from '../time-format.js';

/** Member statuses as columns, in the order the CLI's tables and the status page show them. */
export const STATUS_COLUMNS = ['attached', 'installing', 'verified', 'failed', 'skipped', 'pending'] as const satisfies readonly MemberStatus[];

/** The running wave's unfinished members listed by `rollout status` and the page; the rest are counted. */
export const WAITING_SHOWN = 20;

/** One member in words, e.g. "attached (no guest agent)", "pending (not running)", "failed (no-evidence)". */
export function memberState(m: Pick<MemberRecord, 'status' | 'reason' | 'guestAgent'>): string {
  const notes: string[] = [];
  if (m.status === 'pending' && m.reason === NOT_RUNNING) notes.push('not running');
  else if (m.reason) notes.push(m.reason);
  if (m.status === 'attached' && m.guestAgent !== null) notes.push(m.guestAgent ? 'guest agent runs' : 'no guest agent');
  return notes.length > 0 ? `${m.status} (${notes.join('; ')})` : m.status;
}

/** The error budget of the current wave in words: "no failures allowed" for a budget of 0. */
export function budgetText(errors: { wave: number | null; failed: number; budget: number }): string {
  if (errors.wave === null) return 'no wave started';
  const allowed = errors.budget === 0 ? 'no failures allowed' : `at most ${errors.budget} allowed`;
  return `wave ${errors.wave}: ${errors.failed} failed, ${allowed}`;
}

function countByStatus(members: readonly MemberRecord[]): Record<MemberStatus, number> & { members: number } {
  const counts = Object.fromEntries(MEMBER_STATUSES.map((s) => [s, 0])) as Record<MemberStatus, number>;
  for (const m of members) counts[m.status]++;
  return { members: members.length, ...counts };
}

function waveJson(w: WaveRecord, members: readonly MemberRecord[], r: Pick<RolloutRecord, 'waveTimeoutMs'>, now: number) {
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
function groupJson(r: Pick<RolloutDetail, 'targets' | 'members'>) {
  return r.targets.map((t) => ({
    agentType: t.agentType,
    architecture: t.architecture,
    target: t.version,
    ...countByStatus(r.members.filter((m) => m.agentType === t.agentType && (t.architecture === '*' || m.architecture === t.architecture))),
  }));
}

/** The running wave's unfinished members (canaries first, then in rollout order), or null when no wave runs. */
function waitingJson(r: Pick<RolloutDetail, 'waves' | 'members' | 'waveTimeoutMs'>) {
  const wave = currentWave(r.waves);
  if (!wave || wave.startedAt === null || wave.completedAt !== null) return null;
  const timesOutAt = iso(wave.startedAt + r.waveTimeoutMs);
  const own = r.members.filter((m) => m.wave === wave.number);
  const unfinished = own.filter((m) => !isFinal(m.status));
  return {
    wave: wave.number,
    waveMembers: own.length,
    timesOutAt,
    total: unfinished.length,
    members: unfinished.slice(0, WAITING_SHOWN).map((m) => ({
      vmUuid: m.vmUuid,
      vmName: m.vmName,
      canary: m.canary,
      status: m.status,
      reason: m.reason,
      guestAgent: m.guestAgent,
      state: memberState(m),
      // An attached member waits for the guest since its attach; a pending one for its attach since the wave started.
      waitingSince: iso(m.attachedAt ?? wave.startedAt),
      timesOutAt,
    })),
  };
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
    waiting: waitingJson(r),
    ...(opts.members
      ? {
          members: r.members.map((m) => ({
            vmUuid: m.vmUuid, vmName: m.vmName, agentType: m.agentType, architecture: m.architecture, target: m.target, wave: m.wave, canary: m.canary,
            status: m.status, reason: m.reason, guestAgent: m.guestAgent,
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
