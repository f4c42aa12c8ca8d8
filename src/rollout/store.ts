// Rollouts in SQLite: create, read, user transitions, run observations and wave progression. Every
// method is one short synchronous transaction (through the Ledger), so a state read and the write that
// depends on it never interleave with another process.
import type { Config } from '../config/types.js';
import { GtrError } from '../errors.js';
import type { Db } from '../ledger/db.js';
import type { Ledger } from '../ledger/index.js';
import type { AgentType } from '../domain.js';
import type { Canaries, PlacedMember } from './membership.js';
import {
  memberOf, rolloutOf, transitionOf, waveOf, type MemberRow, type RolloutDetail, type RolloutRecord, type RolloutRow,
  type TransitionRow, type WaveRow,
} from './records.js';
import { isOpen, nextState, noSuchRollout, refusedTransition, type RolloutState } from './transitions.js';
import { formatLimit, type WaveSize } from './wave-spec.js';
import { failuresOf, progress, type ProgressStep } from './waves.js';
import { observeMember, type RunObservation } from './observe.js';
import { versionKey } from './gate.js';

export interface NewRollout {
  agentTypes: AgentType[];
  target: string;
  wavesSpec: string;
  waves: WaveSize[];
  members: PlacedMember[];
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Config['policy']['maxErrors'];
  canaries: Canaries;
  who: string;
  why: string;
  now: number;
}

export type UserAction = 'pause' | 'resume' | 'abort';

export class RolloutStore {
  constructor(private readonly ledger: Ledger) {}

  /** Creates an active rollout with its first wave started; refused (exit 6) when one is open for an agent type. */
  create(r: NewRollout): number {
    return this.ledger.writeTx((db) => {
      for (const open of openRows(db)) {
        const clash = open.agentTypes.filter((a) => r.agentTypes.includes(a));
        if (clash.length > 0) {
          throw new GtrError('GTR_ROLLOUT', `rollout ${open.id} (${open.agentTypes.join(', ')}, target ${open.target}) is ${open.state} and covers ${clash.join(', ')}: ` +
            `one open rollout per agent type; abort it, or resume it and wait for it to complete`, { details: { rolloutId: open.id } });
        }
      }
      const id = Number(db.prepare(`INSERT INTO rollouts (agent_types, target, state, waves_spec, soak_ms, wave_timeout_ms, max_errors,
          canaries, created_at, created_by, updated_at) VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(JSON.stringify(r.agentTypes), r.target, r.wavesSpec, r.soakMs, r.waveTimeoutMs, formatLimit(r.maxErrors), JSON.stringify(r.canaries), r.now, r.who, r.now)
        .lastInsertRowid);
      const wave = db.prepare('INSERT INTO rollout_waves (rollout_id, number, spec, planned, started_at) VALUES (?, ?, ?, ?, ?)');
      for (const w of r.waves) wave.run(id, w.number, w.spec, w.size, w.number === 1 ? r.now : null);
      insertMembers(db, id, r.members, r.now);
      transition(db, id, r.now, { event: 'start', from: null, to: 'active', who: r.who, why: r.why });
      if (r.waves.length > 0) transition(db, id, r.now, { event: 'wave-start', wave: 1, who: r.who, why: `${r.waves[0].size} members` });
      return id;
    });
  }

  get(id: number): RolloutDetail | null {
    return this.ledger.readTx((db) => detail(db, id));
  }

  list(limit: number): RolloutRecord[] {
    return this.ledger.readTx((db) =>
      db.prepare<[number], RolloutRow>('SELECT * FROM rollouts ORDER BY id DESC LIMIT ?').all(limit).map(rolloutOf));
  }

  /** Active and paused rollouts with their waves and members. */
  open(): RolloutDetail[] {
    return this.ledger.readTx((db) => openRows(db).map((r) => detail(db, r.id) as RolloutDetail));
  }

  /** `${agentType}/${target}` -> state of the newest rollout for it. */
  lastRolloutByVersion(): Map<string, RolloutState> {
    return this.ledger.readTx((db) => {
      const last = new Map<string, RolloutState>();
      for (const r of db.prepare<[], RolloutRow>('SELECT * FROM rollouts ORDER BY id').all().map(rolloutOf)) {
        for (const a of r.agentTypes) last.set(versionKey(a, r.target), r.state);
      }
      return last;
    });
  }

  /** pause / resume / abort by an operator; refused (exit 6) when the state does not allow it. */
  transition(id: number, action: UserAction, who: string, why: string | null, opts: { detach?: boolean; now: number }): RolloutDetail {
    return this.ledger.writeTx((db) => {
      const r = detail(db, id);
      if (!r) throw noSuchRollout(id);
      const to = nextState(r.state, action);
      if (!to) throw refusedTransition(id, r.state, action);
      // Resuming after an error-budget pause accepts the failures so far; the budget applies to new ones.
      const acknowledged = action === 'resume' && r.stateReason === 'error-budget' ? failuresOf(r.members) : r.errorsAcknowledged;
      db.prepare(`UPDATE rollouts SET state = ?, state_reason = ?, errors_acknowledged = ?, detach_requested = MAX(detach_requested, ?),
          updated_at = ? WHERE id = ?`).run(to, why ?? `${action} by ${who}`, acknowledged, opts.detach ? 1 : 0, opts.now, id);
      transition(db, id, opts.now, { event: action, from: r.state, to, who, why: why ?? (opts.detach ? 'detach requested' : null) });
      return detail(db, id) as RolloutDetail;
    });
  }

  /** Folds a run's observations into an open rollout's members; candidates not yet members join the last wave. */
  observe(id: number, seen: ReadonlyMap<string, RunObservation>, joiners: readonly RunObservation[], fullFleet: boolean, now: number): void {
    this.ledger.writeTx((db) => {
      const r = detail(db, id);
      if (!r || !isOpen(r.state)) return;
      const update = db.prepare(`UPDATE rollout_members SET status = ?, reason = ?, attached_at = COALESCE(attached_at, ?),
          verified_at = CASE WHEN ? = 'verified' THEN ? ELSE verified_at END WHERE rollout_id = ? AND vm_uuid = ?`);
      for (const m of r.members) {
        const obs = seen.get(m.vmUuid);
        const change = observeMember(m.status, r.target, obs, fullFleet);
        if (!change || (change.status === m.status && change.reason === m.reason)) continue;
        const attached = change.status === 'attached' || obs?.outcome === 'attached' || obs?.outcome === 'verified';
        update.run(change.status, change.reason, attached ? now : null, change.status, now, id, m.vmUuid);
      }
      const lastWave = r.waves[r.waves.length - 1];
      const members = new Set(r.members.map((m) => m.vmUuid));
      const fresh = joiners.filter((j) => !members.has(j.vmUuid) && r.agentTypes.includes(j.agentType));
      if (!lastWave || lastWave.completedAt !== null || fresh.length === 0) return;
      const base = r.members.length;
      insertMembers(db, id, fresh.map((j, i) => ({ uuid: j.vmUuid, name: j.vmName, agentType: j.agentType, canary: false, position: base + i, wave: lastWave.number })), now);
      transition(db, id, now, { event: 'join', wave: lastWave.number, who: 'reconciler', why: `${fresh.length} VMs became eligible` });
    });
  }

  /** Takes the wave steps that are due (see waves.ts); returns them for the log. */
  advance(id: number, now: number, who: string): ProgressStep[] {
    return this.ledger.writeTx((db) => {
      const r = detail(db, id);
      if (!r) return [];
      const steps = progress({ ...r, now });
      for (const step of steps) applyStep(db, r, step, now, who);
      if (steps.length > 0) db.prepare('UPDATE rollouts SET updated_at = ? WHERE id = ?').run(now, id);
      return steps;
    });
  }

  firstSeen(): Map<string, number> {
    return this.ledger.readTx((db) => new Map(db.prepare<[], { agent_type: string; version: string; first_seen_at: number }>(
      'SELECT agent_type, version, first_seen_at FROM iso_versions').all().map((row) => [versionKey(row.agent_type, row.version), row.first_seen_at])));
  }

  noteIsoVersions(targets: readonly { agentType: string; version: string }[], now: number): void {
    this.ledger.writeTx((db) => {
      const insert = db.prepare('INSERT INTO iso_versions (agent_type, version, first_seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
      for (const t of targets) insert.run(t.agentType, t.version, now);
    });
  }

  /** Members of aborted rollouts with --detach that were attached and have not been detached yet. */
  pendingDetaches(): { rolloutId: number; vmUuid: string }[] {
    return this.ledger.readTx((db) => db.prepare<[], { rollout_id: number; vm_uuid: string }>(`SELECT m.rollout_id, m.vm_uuid FROM rollout_members m
        JOIN rollouts r ON r.id = m.rollout_id
       WHERE r.state = 'aborted' AND r.detach_requested = 1 AND m.status = 'attached' AND m.detached_at IS NULL AND m.detach_error IS NULL
       ORDER BY m.rollout_id, m.position`).all().map((row) => ({ rolloutId: row.rollout_id, vmUuid: row.vm_uuid })));
  }

  markDetached(rolloutId: number, vmUuid: string, error: string | null, now: number, who: string): void {
    this.ledger.writeTx((db) => {
      db.prepare('UPDATE rollout_members SET detached_at = ?, detach_error = ? WHERE rollout_id = ? AND vm_uuid = ?')
        .run(error === null ? now : null, error, rolloutId, vmUuid);
      transition(db, rolloutId, now, { event: 'detach', who, why: error === null ? `detached the ISO from ${vmUuid}` : `detach of ${vmUuid} failed: ${error}` });
    });
  }
}

function openRows(db: Db): RolloutRecord[] {
  return db.prepare<[], RolloutRow>("SELECT * FROM rollouts WHERE state IN ('active', 'paused') ORDER BY id").all().map(rolloutOf);
}

function detail(db: Db, id: number): RolloutDetail | null {
  const row = db.prepare<[number], RolloutRow>('SELECT * FROM rollouts WHERE id = ?').get(id);
  if (!row) return null;
  return {
    ...rolloutOf(row),
    waves: db.prepare<[number], WaveRow>('SELECT * FROM rollout_waves WHERE rollout_id = ? ORDER BY number').all(id).map(waveOf),
    members: db.prepare<[number], MemberRow>('SELECT * FROM rollout_members WHERE rollout_id = ? ORDER BY position').all(id).map(memberOf),
    transitions: db.prepare<[number], TransitionRow>('SELECT * FROM rollout_transitions WHERE rollout_id = ? ORDER BY id').all(id).map(transitionOf),
  };
}

function insertMembers(db: Db, id: number, members: readonly PlacedMember[], now: number): void {
  const insert = db.prepare(`INSERT INTO rollout_members (rollout_id, vm_uuid, vm_name, agent_type, wave, position, canary, status, joined_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)`);
  for (const m of members) insert.run(id, m.uuid, m.name, m.agentType, m.wave, m.position, m.canary ? 1 : 0, now);
}

interface TransitionInput {
  event: string;
  from?: RolloutState | null;
  to?: RolloutState | null;
  wave?: number;
  who: string;
  why: string | null;
}

function transition(db: Db, id: number, now: number, t: TransitionInput): void {
  db.prepare('INSERT INTO rollout_transitions (rollout_id, at, event, from_state, to_state, wave, who, why) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(id, now, t.event, t.from ?? null, t.to ?? null, t.wave ?? null, t.who, t.why);
}

function applyStep(db: Db, r: RolloutDetail, step: ProgressStep, now: number, who: string): void {
  switch (step.kind) {
    case 'time-out': {
      const fail = db.prepare("UPDATE rollout_members SET status = 'failed', reason = 'wave-timeout' WHERE rollout_id = ? AND vm_uuid = ?");
      for (const uuid of step.vmUuids) fail.run(r.id, uuid);
      db.prepare('UPDATE rollout_waves SET timed_out = 1 WHERE rollout_id = ? AND number = ?').run(r.id, step.wave);
      transition(db, r.id, now, { event: 'wave-timeout', wave: step.wave, who, why: `${step.vmUuids.length} members not verified within the wave timeout; counted as failures` });
      return;
    }
    case 'complete-wave':
      db.prepare('UPDATE rollout_waves SET completed_at = ?, soak_until = ? WHERE rollout_id = ? AND number = ?').run(now, step.soakUntil, r.id, step.wave);
      transition(db, r.id, now, { event: 'wave-complete', wave: step.wave, who, why: `soak until ${new Date(step.soakUntil).toISOString()}` });
      return;
    case 'start-wave':
      db.prepare('UPDATE rollout_waves SET started_at = ? WHERE rollout_id = ? AND number = ?').run(now, r.id, step.wave);
      transition(db, r.id, now, { event: 'wave-start', wave: step.wave, who, why: null });
      return;
    case 'pause':
      db.prepare("UPDATE rollouts SET state = 'paused', state_reason = 'error-budget' WHERE id = ?").run(r.id);
      transition(db, r.id, now, { event: 'pause', from: 'active', to: 'paused', who, why: `error-budget: ${step.failures} failed members, more than max-errors ${formatLimit(r.maxErrors)} (${step.budget}) since the last resume` });
      return;
    case 'complete-rollout':
      db.prepare("UPDATE rollouts SET state = 'completed', state_reason = 'all waves completed' WHERE id = ?").run(r.id);
      transition(db, r.id, now, { event: 'complete', from: 'active', to: 'completed', who, why: 'all waves completed' });
      return;
  }
}
