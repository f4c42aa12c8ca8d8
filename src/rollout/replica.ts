// A rollout as plain rows, to start the same rollout (same id) on the peer node of a pair of
// management nodes (`gtr rollout start` writes to both; README "Two management nodes"). The rows come
// from our own ledger and go into the peer's, whose SQLite CHECK constraints and foreign keys check
// every value; the shape is checked here first, so a malformed request is refused with its reason.
import { GtrError } from '../errors.js';
import type { Ledger } from '../ledger/index.js';
import { isPlainObject } from '../plain-object.js';

type Row = Record<string, unknown>;

/** The columns of each table, in the statements below (ids of transitions are the receiver's own). */
const COLUMNS = {
  rollouts: ['id', 'agent_types', 'target', 'state', 'state_reason', 'waves_spec', 'soak_ms', 'wave_timeout_ms', 'max_errors',
    'errors_acknowledged', 'canaries', 'detach_requested', 'install', 'created_at', 'created_by', 'updated_at'],
  targets: ['rollout_id', 'agent_type', 'architecture', 'version'],
  waves: ['rollout_id', 'number', 'spec', 'planned', 'started_at', 'completed_at', 'soak_until', 'timed_out', 'errors_acknowledged'],
  members: ['rollout_id', 'vm_uuid', 'vm_name', 'agent_type', 'architecture', 'target', 'wave', 'position', 'canary', 'status', 'reason',
    'guest_agent', 'joined_at', 'attached_at', 'verified_at', 'detached_at', 'detach_error'],
  transitions: ['rollout_id', 'at', 'event', 'from_state', 'to_state', 'wave', 'who', 'why'],
} as const;

type RolloutRows = { -readonly [T in keyof typeof COLUMNS]: Row[] };

const SELECT = {
  rollouts: `SELECT id, agent_types, target, state, state_reason, waves_spec, soak_ms, wave_timeout_ms, max_errors, errors_acknowledged,
    canaries, detach_requested, install, created_at, created_by, updated_at FROM rollouts WHERE id = ?`,
  targets: 'SELECT rollout_id, agent_type, architecture, version FROM rollout_targets WHERE rollout_id = ?',
  waves: `SELECT rollout_id, number, spec, planned, started_at, completed_at, soak_until, timed_out, errors_acknowledged
    FROM rollout_waves WHERE rollout_id = ? ORDER BY number`,
  members: `SELECT rollout_id, vm_uuid, vm_name, agent_type, architecture, target, wave, position, canary, status, reason, guest_agent,
    joined_at, attached_at, verified_at, detached_at, detach_error FROM rollout_members WHERE rollout_id = ? ORDER BY position`,
  transitions: 'SELECT rollout_id, at, event, from_state, to_state, wave, who, why FROM rollout_transitions WHERE rollout_id = ? ORDER BY id',
} as const;

const INSERT = {
  rollouts: `INSERT INTO rollouts (id, agent_types, target, state, state_reason, waves_spec, soak_ms, wave_timeout_ms, max_errors,
    errors_acknowledged, canaries, detach_requested, install, created_at, created_by, updated_at) VALUES (@id, @agent_types, @target, @state,
    @state_reason, @waves_spec, @soak_ms, @wave_timeout_ms, @max_errors, @errors_acknowledged, @canaries, @detach_requested, @install,
    @created_at, @created_by, @updated_at)`,
  targets: 'INSERT INTO rollout_targets (rollout_id, agent_type, architecture, version) VALUES (@rollout_id, @agent_type, @architecture, @version)',
  waves: `INSERT INTO rollout_waves (rollout_id, number, spec, planned, started_at, completed_at, soak_until, timed_out, errors_acknowledged)
    VALUES (@rollout_id, @number, @spec, @planned, @started_at, @completed_at, @soak_until, @timed_out, @errors_acknowledged)`,
  members: `INSERT INTO rollout_members (rollout_id, vm_uuid, vm_name, agent_type, architecture, target, wave, position, canary, status,
    reason, guest_agent, joined_at, attached_at, verified_at, detached_at, detach_error) VALUES (@rollout_id, @vm_uuid, @vm_name, @agent_type,
    @architecture, @target, @wave, @position, @canary, @status, @reason, @guest_agent, @joined_at, @attached_at, @verified_at, @detached_at,
    @detach_error)`,
  transitions: `INSERT INTO rollout_transitions (rollout_id, at, event, from_state, to_state, wave, who, why)
    VALUES (@rollout_id, @at, @event, @from_state, @to_state, @wave, @who, @why)`,
} as const;

const TABLES = Object.keys(COLUMNS) as (keyof typeof COLUMNS)[];

/**
 * Columns a peer one release older does not send (added by a later migration), with the value its rows
 * mean: `rollouts.install` (0012; that peer's rollouts never install).
 */
const ADDED: { [T in keyof typeof COLUMNS]?: Record<string, number> } = { rollouts: { install: 0 } };

/** The rollout's rows, or null when there is no such rollout. */
export function rolloutRows(ledger: Pick<Ledger, 'handle'>, id: number): RolloutRows | null {
  return ledger.handle.read(() => {
    const rows = Object.fromEntries(TABLES.map((t) => [t, ledger.handle.sql.get<[number], Row>(SELECT[t]).all(id)])) as RolloutRows;
    return rows.rollouts.length === 1 ? rows : null;
  });
}

/** Checks a request body's shape: each table's rows with exactly its columns of plain values, all of one rollout. */
export function parseRolloutRows(body: unknown): RolloutRows | string {
  if (!isPlainObject(body)) return 'expected a JSON object with the tables rollouts, targets, waves, members, transitions';
  const input = body as Record<string, unknown>;
  const extra = Object.keys(input).filter((k) => !(TABLES as string[]).includes(k));
  if (extra.length > 0) return `unknown table ${JSON.stringify(extra[0])}; expected ${TABLES.join(', ')}`;
  const out = {} as RolloutRows;
  for (const table of TABLES) {
    const rows = input[table];
    if (!Array.isArray(rows)) return `${table}: expected an array of rows`;
    for (const [i, row] of rows.entries()) {
      if (!isPlainObject(row)) return `${table}[${i}]: expected an object`;
      for (const [key, value] of Object.entries(ADDED[table] ?? {})) if (!(key in row)) (row as Row)[key] = value;
      const keys = Object.keys(row).sort();
      const want = [...COLUMNS[table]].sort();
      if (keys.join(',') !== want.join(',')) return `${table}[${i}]: expected exactly the columns ${COLUMNS[table].join(', ')}`;
      for (const [key, value] of Object.entries(row as Row)) {
        if (value !== null && typeof value !== 'string' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
          return `${table}[${i}].${key}: expected a string, an integer or null`;
        }
      }
    }
    out[table] = rows as Row[];
  }
  if (out.rollouts.length !== 1) return 'rollouts: expected exactly one row';
  const id = out.rollouts[0].id;
  if (typeof id !== 'number' || id < 1) return 'rollouts[0].id: expected a positive integer';
  for (const table of TABLES.slice(1)) {
    if (out[table].some((r) => r.rollout_id !== id)) return `${table}: every row must belong to rollout ${id}`;
  }
  return out;
}

/**
 * Stores a rollout started on the other node under the same id, in one transaction. 'exists' when
 * this very rollout is here already (a retry); refused (GTR_ROLLOUT_REFUSED) when the id belongs to another
 * rollout, or an open rollout here covers one of its agent types.
 */
export function adoptRollout(ledger: Pick<Ledger, 'handle'>, rows: RolloutRows): 'created' | 'exists' {
  const r = rows.rollouts[0];
  const id = r.id as number;
  return ledger.handle.write(() => {
    const sql = ledger.handle.sql;
    const mine = sql.get<[number], { created_at: number; created_by: string; target: string }>('SELECT created_at, created_by, target FROM rollouts WHERE id = ?').get(id);
    if (mine) {
      if (mine.created_at === r.created_at && mine.created_by === r.created_by && mine.target === r.target) return 'exists';
      throw new GtrError('GTR_ROLLOUT_REFUSED', `rollout id ${id} is taken on this node by another rollout (target ${mine.target}, started ` +
        `${new Date(mine.created_at).toISOString()} by ${mine.created_by}): the two nodes' ledgers diverged; ` +
        'the standby gets the leader\'s at its next sync', { details: { rolloutId: id } });
    }
    const theirs = parseAgentTypes(r.agent_types);
    for (const open of sql.get<[], { id: number; agent_types: string; state: string }>("SELECT id, agent_types, state FROM rollouts WHERE state IN ('active', 'paused')").all()) {
      const clash = parseAgentTypes(open.agent_types).filter((a) => theirs.includes(a));
      if (clash.length > 0) {
        throw new GtrError('GTR_ROLLOUT_REFUSED', `rollout ${open.id} is ${open.state} on this node and covers ${clash.join(', ')}: ` +
          'one open rollout per agent type', { details: { rolloutId: open.id } });
      }
    }
    for (const table of TABLES) {
      const insert = sql.get(INSERT[table]);
      for (const row of rows[table]) insert.run(row);
    }
    return 'created';
  });
}

function parseAgentTypes(text: unknown): string[] {
  try {
    const parsed: unknown = JSON.parse(String(text));
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}
