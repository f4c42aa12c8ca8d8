// The runs table: one row per reconcile pass (real or dry), from start to its final status.
import type { Statements } from './db.js';
import { iso } from '../time-format.js';
import type { ProcessIdentity } from './process-alive.js';
import type { RunRecord, RunStatus, RunTrigger, RunWarning } from './types.js';
import { isPlainObject } from '../plain-object.js';

interface RunRow {
  id: number;
  trigger: string;
  dry_run: number;
  status: string;
  started_at: string;
  finished_at: string | null;
  interrupted_at: string | null;
  plan_hash: string | null;
  targets: string;
  counts: string;
  message: string | null;
  warnings: string | null;
  stages: string | null;
  pid: number;
  host: string;
  boot_id: string | null;
  start_time: string | null;
}

const COLUMNS = 'id, trigger, dry_run, status, started_at, finished_at, interrupted_at, plan_hash, targets, counts, message, warnings, stages, pid, host, boot_id, start_time';

export class Runs {
  constructor(private readonly sql: Statements) {}

  start(trigger: RunTrigger, dryRun: boolean, now: number, who: ProcessIdentity): number {
    const info = this.sql
      .get<[string, number, string, number, string, string | null, string | null]>(
        "INSERT INTO runs (trigger, dry_run, status, started_at, pid, host, boot_id, start_time) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
      )
      .run(trigger, dryRun ? 1 : 0, iso(now), who.pid, who.host, who.bootId, who.startTime);
    return Number(info.lastInsertRowid);
  }

  /** `counts`: the plan's (VMs, actions, reasons), kept while the run runs so that a killed run still says what it planned. */
  setPlan(runId: number, planHash: string, targets: unknown[], counts: Record<string, number>): void {
    const info = this.sql.get<[string, string, string, number]>('UPDATE runs SET plan_hash = ?, targets = ?, counts = ? WHERE id = ?')
      .run(planHash, JSON.stringify(targets), JSON.stringify(counts), runId);
    mustExist(info.changes, runId);
  }

  /** This process's running runs were seen alive at `now` (each lease renewal). */
  seen(who: ProcessIdentity, now: number): void {
    this.sql
      .get<[string, string, number, string | null]>("UPDATE runs SET seen_at = ? WHERE status = 'running' AND host = ? AND pid = ? AND start_time IS ?")
      .run(iso(now), who.host, who.pid, who.startTime);
  }

  /** Whether the run is still `running`; throws when there is no such run. */
  isRunning(runId: number): boolean {
    const row = this.sql.get<[number], { status: string }>('SELECT status FROM runs WHERE id = ?').get(runId);
    mustExist(row ? 1 : 0, runId);
    return row?.status === 'running';
  }

  /** Ends a running run; false when it is not running any more (a finished run is never rewritten). */
  finish(runId: number, status: RunStatus, counts: Record<string, number>, now: number, message: string | null): boolean {
    const info = this.sql
      .get<[string, string, string, string | null, number]>(
        "UPDATE runs SET status = ?, counts = ?, finished_at = ?, message = ? WHERE id = ? AND status = 'running'",
      )
      .run(status, JSON.stringify(counts), iso(now), message, runId);
    if (info.changes === 0) mustExist(this.sql.get<[number], { id: number }>('SELECT id FROM runs WHERE id = ?').get(runId) ? 1 : 0, runId);
    return info.changes === 1;
  }

  addWarnings(runId: number, warnings: readonly RunWarning[]): void {
    const row = this.sql.get<[number], { warnings: string | null }>('SELECT warnings FROM runs WHERE id = ?').get(runId);
    mustExist(row ? 1 : 0, runId);
    const kept = row?.warnings ? parseArray(row.warnings).filter(isRunWarning) : [];
    this.setWarnings(runId, [...kept, ...warnings]);
  }

  setStages(runId: number, stages: unknown): void {
    mustExist(this.sql.get<[string, number]>('UPDATE runs SET stages = ? WHERE id = ?').run(JSON.stringify(stages), runId).changes, runId);
  }

  setWarnings(runId: number, warnings: readonly RunWarning[]): void {
    const info = this.sql.get<[string | null, number]>('UPDATE runs SET warnings = ? WHERE id = ?')
      .run(warnings.length > 0 ? JSON.stringify(warnings) : null, runId);
    mustExist(info.changes, runId);
  }

  setFleet(runId: number, fleet: unknown[]): void {
    const info = this.sql.get<[string, number]>('UPDATE runs SET fleet = ? WHERE id = ?').run(JSON.stringify(fleet), runId);
    mustExist(info.changes, runId);
  }

  /** The fleet of the newest run that recorded one. */
  lastFleet(): { runId: number; rows: unknown[]; targets: unknown[] } | null {
    const row = this.sql
      .get<[], { id: number; fleet: string; targets: string }>('SELECT id, fleet, targets FROM runs WHERE fleet IS NOT NULL ORDER BY id DESC LIMIT 1')
      .get();
    return row ? { runId: row.id, rows: parseArray(row.fleet), targets: parseArray(row.targets) } : null;
  }

  /** Runs still marked 'running' (by this or any other process). */
  running(): RunRecord[] {
    return this.sql.get<[], RunRow>(`SELECT ${COLUMNS} FROM runs WHERE status = 'running' ORDER BY id`).all().map(toRecord);
  }

  /**
   * A run whose process is gone: `interrupted`, finished when it was last seen alive (`lastSeen`, else its
   * start), marked at `now`, with the counts of what it did.
   */
  interrupt(runId: number, r: { now: number; lastSeen: string | null; message: string; counts: Record<string, number> }): void {
    this.sql
      .get<[string, string, string, string, number]>(
        `UPDATE runs SET status = 'interrupted', finished_at = max(started_at, coalesce(seen_at, ''), ?), interrupted_at = ?,
           message = ?, counts = ? WHERE id = ? AND status = 'running'`,
      )
      .run(r.lastSeen ?? '', iso(r.now), r.message, JSON.stringify(r.counts), runId);
  }

  /** The counts recorded so far: the plan's while the run runs (setPlan), the final ones after. */
  counts(runId: number): Record<string, number> {
    const row = this.sql.get<[number], { counts: string }>('SELECT counts FROM runs WHERE id = ?').get(runId);
    return row ? parseCounts(row.counts) : {};
  }

  list(limit: number): RunRecord[] {
    return this.sql.get<[number], RunRow>(`SELECT ${COLUMNS} FROM runs ORDER BY id DESC LIMIT ?`)
      .all(Math.max(0, Math.floor(limit)))
      .map(toRecord);
  }

  get(id: number): RunRecord | null {
    const row = this.sql.get<[number], RunRow>(`SELECT ${COLUMNS} FROM runs WHERE id = ?`).get(id);
    return row ? toRecord(row) : null;
  }

  last(): RunRecord | null {
    const row = this.sql.get<[], RunRow>(`SELECT ${COLUMNS} FROM runs ORDER BY id DESC LIMIT 1`).get();
    return row ? toRecord(row) : null;
  }

  /**
   * Deletes finished runs (and, by cascade, their decisions) started before `before`, keeping the newest
   * `keep`. A run with an attach still in doubt ('pending', or 'interrupted' and not yet replayed) stays: its job uuid is what recovery polls.
   */
  prune(before: number, keep: number): number {
    const info = this.sql
      .get<[string, number]>(
        `DELETE FROM runs WHERE status <> 'running' AND started_at < ?
           AND id NOT IN (SELECT id FROM runs ORDER BY id DESC LIMIT ?)
           AND id NOT IN (SELECT run_id FROM decisions WHERE outcome = 'pending' OR (outcome = 'interrupted' AND finished_at IS NULL))`,
      )
      .run(iso(before), Math.max(0, Math.floor(keep)));
    return info.changes;
  }
}

function mustExist(changes: number, runId: number): void {
  if (changes === 0) throw new Error(`ledger: no run ${runId}`);
}

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    trigger: row.trigger as RunTrigger,
    dryRun: row.dry_run === 1,
    status: row.status as RunStatus,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    interruptedAt: row.interrupted_at,
    planHash: row.plan_hash,
    targets: parseArray(row.targets),
    counts: parseCounts(row.counts),
    message: row.message,
    warnings: row.warnings === null ? [] : parseArray(row.warnings).filter(isRunWarning),
    stages: row.stages === null ? null : parseStages(row.stages),
    pid: row.pid,
    host: row.host,
    bootId: row.boot_id,
    startTime: row.start_time,
  };
}

/** A stored JSON column, or null when it does not parse (never throws on old or damaged rows). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isRunWarning(value: unknown): value is RunWarning {
  const w = value as Partial<RunWarning> | null;
  return typeof w === 'object' && w !== null && typeof w.code === 'string' && typeof w.message === 'string';
}

function parseArray(text: string): unknown[] {
  const value = parseJson(text);
  return Array.isArray(value) ? value : [];
}

function parseCounts(text: string): Record<string, number> {
  const value = parseJson(text);
  const counts: Record<string, number> = {};
  if (isPlainObject(value)) {
    for (const [key, n] of Object.entries(value)) {
      if (typeof n === 'number' && Number.isFinite(n)) counts[key] = n;
    }
  }
  return counts;
}

/** The stored stages object (JSON), or null when unreadable. */
function parseStages(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
