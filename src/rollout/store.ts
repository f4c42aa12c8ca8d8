// Rollouts in SQLite: create, read, user transitions, run observations and wave progression. This
// store owns the rollout tables (migrations/0003_rollouts.sql) and writes them through the ledger's
// database handle. Every method is one short synchronous transaction, so a state read and the write
// that depends on it never interleave with another process; none waits for the run lease.
import type { Config } from '../config/schema.js';
import { GtrError } from '../errors.js';
import type { Statements } from '../ledger/db.js';
import type { DbHandle } from '../ledger/db-handle.js';
import type { Ledger } from '../ledger/index.js';
import type { AgentType } from '../domain.js';
import type { Canaries, PlacedMember } from './membership.js';
import {
  memberOf, rolloutOf, targetOf, transitionOf, waveOf, type GroupTarget, type MemberRow, type RolloutDetail, type RolloutRecord,
  type RolloutRow, type TargetRow, type TransitionRow, type WaveRow,
} from './records.js';
import { isOpen, nextState, noSuchRollout, refusedTransition, type RolloutState } from './transitions.js';
import { formatLimit } from '../count-or-percent.js';
import type { WaveSize } from './wave-spec.js';
import { currentWave, NO_EVIDENCE, progress, startedMembers, waveBudget, type ProgressStep } from './waves.js';
import { formatDuration } from '../time-format.js';
import { observeMember, type RunObservation } from './observe.js';
import { versionKey, type GateFacts } from './gate.js';

interface NewRollout {
  agentTypes: AgentType[];
  targets: GroupTarget[];
  wavesSpec: string;
  waves: WaveSize[];
  members: PlacedMember[];
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Config['policy']['maxErrors'];
  canaries: Canaries;
  /** rollout start --install. */
  install?: boolean;
  who: string;
  why: string;
  now: number;
}

export type UserAction = 'pause' | 'resume' | 'abort';

export class RolloutStore {
  private readonly db: DbHandle;
  private readonly sql: Statements;

  constructor(ledger: Pick<Ledger, 'handle'>) {
    this.db = ledger.handle;
    this.sql = ledger.handle.sql;
  }

  /** Creates an active rollout with its first wave started; refused (exit 6) when one is open for an agent type. */
  create(r: NewRollout): number {
    return this.db.write(() => {
      for (const open of openRows(this.sql)) {
        const clash = open.agentTypes.filter((a) => r.agentTypes.includes(a));
        if (clash.length > 0) {
          throw new GtrError('GTR_ROLLOUT_REFUSED', `rollout ${open.id} (${open.agentTypes.join(', ')}, target ${open.target}) is ${open.state} and covers ${clash.join(', ')}: ` +
            `one open rollout per agent type; abort it, or resume it and wait for it to complete`, { details: { rolloutId: open.id } });
        }
      }
      const id = Number(this.sql.get(`INSERT INTO rollouts (agent_types, target, state, waves_spec, soak_ms, wave_timeout_ms, max_errors,
          canaries, created_at, created_by, updated_at) VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(JSON.stringify(r.agentTypes), targetsText(r.targets), r.wavesSpec, r.soakMs, r.waveTimeoutMs, formatLimit(r.maxErrors), JSON.stringify(r.canaries), r.now, r.who, r.now)
        .lastInsertRowid);
      // A column of migration 0012, written only when set (the rows of a schema before it never install).
      if (r.install) this.sql.get<[number]>('UPDATE rollouts SET install = 1 WHERE id = ?').run(id);
      const target = this.sql.get('INSERT INTO rollout_targets (rollout_id, agent_type, architecture, version) VALUES (?, ?, ?, ?)');
      for (const t of r.targets) target.run(id, t.agentType, t.architecture, t.version);
      const wave = this.sql.get('INSERT INTO rollout_waves (rollout_id, number, spec, planned, started_at) VALUES (?, ?, ?, ?, ?)');
      for (const w of r.waves) wave.run(id, w.number, w.spec, w.size, w.number === 1 ? r.now : null);
      insertMembers(this.sql, id, r.members, r.now);
      transition(this.sql, id, r.now, { event: 'start', from: null, to: 'active', who: r.who, why: r.why });
      if (r.waves.length > 0) transition(this.sql, id, r.now, { event: 'wave-start', wave: 1, who: r.who, why: `${r.waves[0].size} members` });
      return id;
    });
  }

  get(id: number): RolloutDetail | null {
    return this.db.read(() => detail(this.sql, id));
  }

  list(limit: number): RolloutRecord[] {
    return this.db.read(() =>
      this.sql.get<[number], RolloutRow>('SELECT * FROM rollouts ORDER BY id DESC LIMIT ?').all(limit).map(rolloutOf));
  }

  /** Active and paused rollouts with their waves and members. */
  open(): RolloutDetail[] {
    return this.db.read(() => openRows(this.sql).map((r) => detail(this.sql, r.id) as RolloutDetail));
  }

  /** `${agentType}/${version}` -> state of the newest rollout that targeted it. */
  lastRolloutByVersion(): Map<string, RolloutState> {
    return this.db.read(() => {
      const last = new Map<string, RolloutState>();
      const rows = this.sql.get<[], { agent_type: string; version: string; state: RolloutState }>(
        'SELECT t.agent_type, t.version, r.state FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id ORDER BY r.id').all();
      for (const row of rows) last.set(versionKey(row.agent_type, row.version), row.state);
      return last;
    });
  }

  /** pause / resume / abort by an operator; refused (exit 6) when the state does not allow it. */
  transition(id: number, action: UserAction, who: string, why: string | null, opts: { detach?: boolean; now: number }): RolloutDetail {
    return this.db.write(() => {
      const r = detail(this.sql, id);
      if (!r) throw noSuchRollout(id);
      const to = nextState(r.state, action);
      if (!to) throw refusedTransition(id, r.state, action);
      // Resuming after an error-budget pause accepts the wave's failures so far; its budget applies to new ones.
      const wave = currentWave(r.waves);
      if (action === 'resume' && r.stateReason === 'error-budget' && wave) {
        this.sql.get('UPDATE rollout_waves SET errors_acknowledged = ? WHERE rollout_id = ? AND number = ?')
          .run(waveBudget(wave, r.members, r.maxErrors).failures, id, wave.number);
      }
      this.sql.get(`UPDATE rollouts SET state = ?, state_reason = ?, detach_requested = MAX(detach_requested, ?),
          updated_at = ? WHERE id = ?`).run(to, why ?? `${action} by ${who}`, opts.detach ? 1 : 0, opts.now, id);
      transition(this.sql, id, opts.now, { event: action, from: r.state, to, who, why: why ?? (opts.detach ? 'detach requested' : null) });
      return detail(this.sql, id) as RolloutDetail;
    });
  }

  /** Folds a run's observations into an open rollout's members; candidates not yet members join the last wave. */
  observe(id: number, seen: ReadonlyMap<string, RunObservation>, joiners: readonly RunObservation[], fullFleet: boolean, now: number): void {
    this.db.write(() => {
      const r = detail(this.sql, id);
      if (!r || !isOpen(r.state)) return;
      const update = this.sql.get(`UPDATE rollout_members SET status = ?, reason = ?, guest_agent = ?, attached_at = COALESCE(attached_at, ?),
          verified_at = CASE WHEN ? = 'verified' THEN ? ELSE verified_at END WHERE rollout_id = ? AND vm_uuid = ?`);
      for (const m of r.members) {
        const obs = seen.get(m.vmUuid);
        const change = observeMember(m, obs, fullFleet);
        const status = change?.status ?? m.status;
        const reason = change ? change.reason : m.reason;
        const guestAgent = obs ? obs.guestAgent : m.guestAgent;
        if (status === m.status && reason === m.reason && guestAgent === m.guestAgent) continue;
        // Since when the ISO is in the member's CD-ROM (also after a doubt other than a lost job): what abort --detach undoes.
        const attached = status === 'attached' || obs?.outcome === 'attached' || obs?.outcome === 'verified';
        const agent = guestAgent === null ? null : guestAgent ? 1 : 0;
        update.run(status, reason, agent, attached && change ? now : null, status, now, id, m.vmUuid);
      }
      const lastWave = r.waves[r.waves.length - 1];
      const members = new Set(r.members.map((m) => m.vmUuid));
      const fresh = joiners.filter((j) => !members.has(j.vmUuid) && groupTarget(r.targets, j.agentType, j.architecture) === j.target);
      if (!lastWave || lastWave.completedAt !== null || fresh.length === 0) return;
      const base = r.members.length;
      insertMembers(this.sql, id, fresh.map((j, i) => ({
        uuid: j.vmUuid, name: j.vmName, agentType: j.agentType, architecture: j.architecture, target: j.target as string, canary: false, position: base + i, wave: lastWave.number,
      })), now);
      transition(this.sql, id, now, { event: 'join', wave: lastWave.number, who: 'reconciler', why: `${fresh.length} VMs became eligible` });
    });
  }

  /** Takes the wave steps that are due (see waves.ts); returns them for the log. */
  advance(id: number, now: number, who: string): ProgressStep[] {
    return this.db.write(() => {
      const r = detail(this.sql, id);
      if (!r) return [];
      const steps = progress({ ...r, now });
      for (const step of steps) applyStep(this.sql, r, step, now, who);
      if (steps.length > 0) this.sql.get('UPDATE rollouts SET updated_at = ? WHERE id = ?').run(now, id);
      return steps;
    });
  }

  /** Changes whenever an open rollout changes state or waves, or one opens or closes (the gate's refresh). */
  openStamp(): string {
    // One statement is its own snapshot; apply calls this inside its write transaction (no savepoint needed).
    return this.db.guard(() => this.sql.get<[], { id: number; state: string; updated_at: number }>(
      "SELECT id, state, updated_at FROM rollouts WHERE state IN ('active', 'paused') ORDER BY id").all()
      .map((r) => `${r.id}:${r.state}:${r.updated_at}`).join(','));
  }

  /** What the rollout gate decides on, as stored now. */
  gateFacts(now: number): GateFacts {
    return this.db.read(() => ({
      open: this.open().map((r) => ({ id: r.id, agentTypes: r.agentTypes, state: r.state, started: startedMembers(r.waves, r.members) })),
      lastRollout: this.lastRolloutByVersion(),
      firstSeen: this.firstSeen(),
      now,
    }));
  }

  /**
   * A member's attach failed during a run: recorded now (not after the run), and when that exceeds its
   * wave's error budget an active rollout pauses with reason error-budget in the same transaction, so
   * no further member's attach starts (the gate re-reads the state before each one).
   */
  memberFailed(rolloutId: number, vmUuid: string, reason: string, now: number, who: string): void {
    this.db.write(() => {
      const changed = this.sql.get<[string, number, string]>(`UPDATE rollout_members SET status = 'failed', reason = ?
          WHERE rollout_id = ? AND vm_uuid = ? AND status IN ('pending', 'attached')`).run(reason, rolloutId, vmUuid).changes;
      if (changed === 0) return;
      const r = detail(this.sql, rolloutId);
      const member = r?.members.find((m) => m.vmUuid === vmUuid);
      const wave = r?.waves.find((w) => w.number === member?.wave);
      if (!r || r.state !== 'active' || !wave) return;
      const budget = waveBudget(wave, r.members, r.maxErrors);
      if (budget.exceeded) applyStep(this.sql, r, { kind: 'pause', reason: 'error-budget', wave: wave.number, failures: budget.failures, budget: budget.budget }, now, who);
    });
  }

  firstSeen(): Map<string, number> {
    return this.db.read(() => new Map(this.sql.get<[], { agent_type: string; version: string; first_seen_at: number }>(
      'SELECT agent_type, version, first_seen_at FROM iso_versions').all().map((row) => [versionKey(row.agent_type, row.version), row.first_seen_at])));
  }

  noteIsoVersions(targets: readonly { agentType: string; version: string }[], now: number): void {
    this.db.write(() => {
      const insert = this.sql.get('INSERT INTO iso_versions (agent_type, version, first_seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
      for (const t of targets) insert.run(t.agentType, t.version, now);
    });
  }

  /**
   * Members of aborted rollouts with --detach whose ISO this reconciler attached (or may have: an attach
   * in doubt) and that are not verified (attached, or failed: no evidence, lost), not detached yet.
   * `jobUuid` is set for a detach already started (its result unknown: poll it, never re-send).
   */
  pendingDetaches(): { rolloutId: number; vmUuid: string; agentType: AgentType; jobUuid: string | null }[] {
    return this.db.read(() => this.sql.get<[], { rollout_id: number; vm_uuid: string; agent_type: string; detach_job: string | null }>(
      `SELECT m.rollout_id, m.vm_uuid, m.agent_type, m.detach_job FROM rollout_members m
        JOIN rollouts r ON r.id = m.rollout_id
       WHERE r.state = 'aborted' AND r.detach_requested = 1 AND m.attached_at IS NOT NULL AND m.status NOT IN ('verified', 'skipped')
         AND m.detached_at IS NULL AND m.detach_error IS NULL
       ORDER BY m.rollout_id, m.position`).all()
      .map((row) => ({ rolloutId: row.rollout_id, vmUuid: row.vm_uuid, agentType: row.agent_type as AgentType, jobUuid: row.detach_job })));
  }

  /** Inside the start transaction: the detach's job uuid, before its PUT. */
  beginDetach(rolloutId: number, vmUuid: string, jobUuid: string): void {
    this.sql.get<[string, number, string]>('UPDATE rollout_members SET detach_job = ? WHERE rollout_id = ? AND vm_uuid = ?').run(jobUuid, rolloutId, vmUuid);
  }

  markDetached(rolloutId: number, vmUuid: string, error: string | null, now: number, who: string): void {
    this.db.write(() => {
      this.sql.get('UPDATE rollout_members SET detached_at = ?, detach_error = ? WHERE rollout_id = ? AND vm_uuid = ?')
        .run(error === null ? now : null, error, rolloutId, vmUuid);
      transition(this.sql, rolloutId, now, { event: 'detach', who, why: error === null ? `detached the ISO from ${vmUuid}` : `detach of ${vmUuid} failed: ${error}` });
    });
  }
}

/** The group targets as one text: the version when all groups agree, else `agent version` pairs. */
function targetsText(targets: readonly GroupTarget[]): string {
  const versions = new Set(targets.map((t) => t.version));
  if (versions.size <= 1) return [...versions][0] ?? '-';
  return [...new Set(targets.map((t) => `${t.agentType} ${t.version}`))].join(', ');
}

/** The rollout's target for a VM group; '*' rows (rollouts from before 0006) serve every architecture. */
function groupTarget(targets: readonly GroupTarget[], agentType: AgentType, architecture: string): string | null {
  const t = targets.find((g) => g.agentType === agentType && (g.architecture === architecture || g.architecture === '*'));
  return t ? t.version : null;
}

function openRows(sql: Statements): RolloutRecord[] {
  return sql.get<[], RolloutRow>("SELECT * FROM rollouts WHERE state IN ('active', 'paused') ORDER BY id").all().map(rolloutOf);
}

function detail(sql: Statements, id: number): RolloutDetail | null {
  const row = sql.get<[number], RolloutRow>('SELECT * FROM rollouts WHERE id = ?').get(id);
  if (!row) return null;
  return {
    ...rolloutOf(row),
    targets: sql.get<[number], TargetRow>('SELECT agent_type, architecture, version FROM rollout_targets WHERE rollout_id = ? ORDER BY agent_type DESC, architecture')
      .all(id).map(targetOf),
    waves: sql.get<[number], WaveRow>('SELECT * FROM rollout_waves WHERE rollout_id = ? ORDER BY number').all(id).map(waveOf),
    members: sql.get<[number], MemberRow>('SELECT * FROM rollout_members WHERE rollout_id = ? ORDER BY position').all(id).map(memberOf),
    transitions: sql.get<[number], TransitionRow>('SELECT * FROM rollout_transitions WHERE rollout_id = ? ORDER BY id').all(id).map(transitionOf),
  };
}

function insertMembers(sql: Statements, id: number, members: readonly PlacedMember[], now: number): void {
  const insert = sql.get(`INSERT INTO rollout_members (rollout_id, vm_uuid, vm_name, agent_type, architecture, target, wave, position, canary,
    status, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`);
  for (const m of members) insert.run(id, m.uuid, m.name, m.agentType, m.architecture, m.target, m.wave, m.position, m.canary ? 1 : 0, now);
}

interface TransitionInput {
  event: string;
  from?: RolloutState | null;
  to?: RolloutState | null;
  wave?: number;
  who: string;
  why: string | null;
}

function transition(sql: Statements, id: number, now: number, t: TransitionInput): void {
  sql.get('INSERT INTO rollout_transitions (rollout_id, at, event, from_state, to_state, wave, who, why) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(id, now, t.event, t.from ?? null, t.to ?? null, t.wave ?? null, t.who, t.why);
}

function applyStep(sql: Statements, r: RolloutDetail, step: ProgressStep, now: number, who: string): void {
  switch (step.kind) {
    case 'time-out': {
      const fail = sql.get("UPDATE rollout_members SET status = 'failed', reason = ? WHERE rollout_id = ? AND vm_uuid = ?");
      for (const uuid of step.vmUuids) fail.run(NO_EVIDENCE, r.id, uuid);
      const move = sql.get('UPDATE rollout_members SET wave = ? WHERE rollout_id = ? AND vm_uuid = ?');
      for (const uuid of step.moved) move.run(step.lastWave, r.id, uuid);
      sql.get('UPDATE rollout_waves SET timed_out = 1 WHERE rollout_id = ? AND number = ?').run(r.id, step.wave);
      const moved = step.moved.length > 0 ? `; ${step.moved.length} not running, moved to wave ${step.lastWave}` : '';
      transition(sql, r.id, now, { event: 'wave-timeout', wave: step.wave, who, why: `${step.vmUuids.length} members without the guest's evidence within the wave timeout ` +
        `(${formatDuration(r.waveTimeoutMs)}), counted as failures (${NO_EVIDENCE})${moved}` });
      return;
    }
    case 'complete-wave':
      sql.get('UPDATE rollout_waves SET completed_at = ?, soak_until = ? WHERE rollout_id = ? AND number = ?').run(now, step.soakUntil, r.id, step.wave);
      transition(sql, r.id, now, { event: 'wave-complete', wave: step.wave, who, why: `soak until ${new Date(step.soakUntil).toISOString()}` });
      return;
    case 'start-wave':
      sql.get('UPDATE rollout_waves SET started_at = ? WHERE rollout_id = ? AND number = ?').run(now, r.id, step.wave);
      transition(sql, r.id, now, { event: 'wave-start', wave: step.wave, who, why: null });
      return;
    case 'pause':
      sql.get("UPDATE rollouts SET state = 'paused', state_reason = 'error-budget' WHERE id = ?").run(r.id);
      sql.get('UPDATE rollouts SET updated_at = ? WHERE id = ?').run(now, r.id);
      transition(sql, r.id, now, { event: 'pause', from: 'active', to: 'paused', wave: step.wave, who,
        why: `error-budget: ${step.failures} failed members in wave ${step.wave}, more than max-errors ${formatLimit(r.maxErrors)} (${step.budget}) of its members since the last resume` });
      return;
    case 'complete-rollout':
      sql.get("UPDATE rollouts SET state = 'completed', state_reason = 'all waves completed' WHERE id = ?").run(r.id);
      transition(sql, r.id, now, { event: 'complete', from: 'active', to: 'completed', who, why: 'all waves completed' });
      return;
  }
}
