// Rollout records as stored (migrations/0003_rollouts.sql, 0006_rollout_groups.sql, 0010_rollout_evidence.sql) and read back: row shapes and their
// mapping to typed records. Times are epoch milliseconds.
import { AGENT_TYPES, type AgentType } from '../domain.js';
import type { Canaries } from './membership.js';
import { isRolloutState, type RolloutState } from './transitions.js';
import { parseLimit, type Limit } from '../count-or-percent.js';
import { MEMBER_STATUSES, type MemberStatus } from './waves.js';
import { parseJson } from '../ledger/runs.js';

export interface RolloutRecord {
  id: number;
  agentTypes: AgentType[];
  /** The group targets as one text: '1.2.0' when all agree, else e.g. 'WindowsOnKvm 1.10.0, LinuxOnKvm 4.10.0'. */
  target: string;
  state: RolloutState;
  stateReason: string | null;
  wavesSpec: string;
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Limit;
  canaries: Canaries;
  detachRequested: boolean;
  /** `rollout start --install`: the installer runs in its members' guests whatever install.mode says. */
  install: boolean;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
}

export interface WaveRecord {
  number: number;
  spec: string;
  planned: number;
  startedAt: number | null;
  completedAt: number | null;
  soakUntil: number | null;
  timedOut: boolean;
  /** Failures of this wave accepted by the last resume after an error-budget pause. */
  errorsAcknowledged: number;
}

/** The catalog target of one (agent type, VM architecture) group of a rollout; '*': any architecture. */
export interface GroupTarget {
  agentType: AgentType;
  architecture: string;
  version: string;
}

export interface MemberRecord {
  vmUuid: string;
  vmName: string;
  agentType: AgentType;
  /** The member's group: its architecture ('*' for members from before 0006) and catalog target. */
  architecture: string;
  target: string;
  wave: number;
  position: number;
  canary: boolean;
  status: MemberStatus;
  reason: string | null;
  /** A guest agent ran when a run last saw the member (qgaState Running or a reported version); null: not seen yet. */
  guestAgent: boolean | null;
  joinedAt: number;
  /** When a run first saw its ISO attached (or possibly attached: an attach in doubt). */
  attachedAt: number | null;
  verifiedAt: number | null;
  detachedAt: number | null;
  detachError: string | null;
}

interface TransitionRecord {
  id: number;
  at: number;
  event: string;
  fromState: RolloutState | null;
  toState: RolloutState | null;
  wave: number | null;
  who: string;
  why: string | null;
}

export interface RolloutDetail extends RolloutRecord {
  targets: GroupTarget[];
  waves: WaveRecord[];
  members: MemberRecord[];
  transitions: TransitionRecord[];
}

export interface RolloutRow {
  id: number;
  agent_types: string;
  target: string;
  state: string;
  state_reason: string | null;
  waves_spec: string;
  soak_ms: number;
  wave_timeout_ms: number;
  max_errors: string;
  canaries: string;
  detach_requested: number;
  /** Migration 0012; absent in rows of older replicas. */
  install?: number;
  created_at: number;
  created_by: string;
  updated_at: number;
}

export interface WaveRow {
  number: number;
  spec: string;
  planned: number;
  started_at: number | null;
  completed_at: number | null;
  soak_until: number | null;
  timed_out: number;
  errors_acknowledged: number;
}

export interface TargetRow {
  agent_type: string;
  architecture: string;
  version: string;
}

export interface MemberRow {
  vm_uuid: string;
  vm_name: string;
  agent_type: string;
  architecture: string;
  target: string;
  wave: number;
  position: number;
  canary: number;
  status: string;
  reason: string | null;
  guest_agent: number | null;
  joined_at: number;
  attached_at: number | null;
  verified_at: number | null;
  detached_at: number | null;
  detach_error: string | null;
}

export interface TransitionRow {
  id: number;
  at: number;
  event: string;
  from_state: string | null;
  to_state: string | null;
  wave: number | null;
  who: string;
  why: string | null;
}

const isAgentType = (v: unknown): v is AgentType => typeof v === 'string' && (AGENT_TYPES as readonly string[]).includes(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

export function rolloutOf(r: RolloutRow): RolloutRecord {
  const canaries = parseJson(r.canaries);
  const c = typeof canaries === 'object' && canaries !== null ? (canaries as Record<string, unknown>) : {};
  return {
    id: r.id,
    agentTypes: strings(parseJson(r.agent_types)).filter(isAgentType),
    target: r.target,
    state: isRolloutState(r.state) ? r.state : 'aborted',
    stateReason: r.state_reason,
    wavesSpec: r.waves_spec,
    soakMs: r.soak_ms,
    waveTimeoutMs: r.wave_timeout_ms,
    maxErrors: parseLimit(r.max_errors, 0) ?? { kind: 'count', value: 0 },
    canaries: { vms: strings(c.vms), clusters: strings(c.clusters), tags: strings(c.tags) },
    detachRequested: r.detach_requested === 1,
    install: r.install === 1,
    createdAt: r.created_at,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
  };
}

export function waveOf(w: WaveRow): WaveRecord {
  return {
    number: w.number,
    spec: w.spec,
    planned: w.planned,
    startedAt: w.started_at,
    completedAt: w.completed_at,
    soakUntil: w.soak_until,
    timedOut: w.timed_out === 1,
    errorsAcknowledged: w.errors_acknowledged,
  };
}

export function targetOf(t: TargetRow): GroupTarget {
  return { agentType: isAgentType(t.agent_type) ? t.agent_type : 'LinuxOnKvm', architecture: t.architecture, version: t.version };
}

export function memberOf(m: MemberRow): MemberRecord {
  return {
    vmUuid: m.vm_uuid,
    vmName: m.vm_name,
    agentType: isAgentType(m.agent_type) ? m.agent_type : 'LinuxOnKvm',
    architecture: m.architecture,
    target: m.target,
    wave: m.wave,
    position: m.position,
    canary: m.canary === 1,
    status: (MEMBER_STATUSES as readonly string[]).includes(m.status) ? (m.status as MemberStatus) : 'pending',
    reason: m.reason,
    guestAgent: m.guest_agent === null ? null : m.guest_agent === 1,
    joinedAt: m.joined_at,
    attachedAt: m.attached_at,
    verifiedAt: m.verified_at,
    detachedAt: m.detached_at,
    detachError: m.detach_error,
  };
}

export function transitionOf(t: TransitionRow): TransitionRecord {
  return {
    id: t.id,
    at: t.at,
    event: t.event,
    fromState: isRolloutState(t.from_state) ? t.from_state : null,
    toState: isRolloutState(t.to_state) ? t.to_state : null,
    wave: t.wave,
    who: t.who,
    why: t.why,
  };
}
