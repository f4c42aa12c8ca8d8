// The decisions table: one row per VM per run (what was seen, decided, done, and why).
// Callers wrap these in transactions; nothing here opens one.
import type { Statements } from './db.js';
import { iso } from '../time-format.js';
import type { ActionError, ActionRecord, DecisionAction, DecisionRow, LastAttach, Outcome, PendingJob, Resolution, VerifiedBy } from './types.js';
import { chunk } from '../chunk.js';

interface DecisionDbRow {
  vm_uuid: string;
  vm_name: string;
  action: string;
  reason: string;
  current_version: string | null;
  target_version: string | null;
  agent_type: string | null;
  architecture: string | null;
  host_uuid: string | null;
  message: string | null;
  outcome: string | null;
  resolution: string | null;
  resolved_by: number | null;
  verified_by: string | null;
  job_uuid: string | null;
  error_code: string | null;
  error_description: string | null;
  error_details: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/** A run's decisions, of one action and/or reason when given (pageForRun). */
const PAGE_FILTER = 'run_id = @runId AND (@action IS NULL OR action = @action) AND (@reason IS NULL OR reason = @reason)';

/** 11 columns x 64 rows stays far below SQLite's limit of 32766 parameters per statement. */
const CHUNK = 64;

function insertSql(rows: number): string {
  return `INSERT INTO decisions (run_id, vm_uuid, vm_name, action, reason, current_version, target_version,
    agent_type, architecture, host_uuid, message) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`;
}

function insertParams(runId: number, r: DecisionRow): unknown[] {
  return [runId, r.vmUuid, r.vmName, r.action, r.reason, r.current, r.target, r.agentType, r.architecture, r.hostUuid, r.message ?? null];
}

const INSERT_CHUNK = insertSql(CHUNK);
/** uuids per verify statement. */
const VERIFY_CHUNK = 500;
const VERIFY_PLACEHOLDERS = Array(VERIFY_CHUNK).fill('?').join(', ');
const VERIFY_SQL = `UPDATE decisions SET outcome = 'verified', verified_by = ? WHERE run_id = ? AND outcome = 'attached'
  AND vm_uuid IN (${VERIFY_PLACEHOLDERS})`;
const INSERT_ONE = insertSql(1);

type ErrorParams = [string | null, string | null, string | null];

export class Decisions {
  constructor(private readonly sql: Statements) {}

  /** Inserts rows in chunks of CHUNK per statement: far fewer JS-to-SQLite calls for large fleets. */
  insertMany(runId: number, rows: readonly DecisionRow[]): void {
    let i = 0;
    for (; i + CHUNK <= rows.length; i += CHUNK) {
      this.sql.get<unknown[]>(INSERT_CHUNK).run(...rows.slice(i, i + CHUNK).flatMap((r) => insertParams(runId, r)));
    }
    for (; i < rows.length; i++) this.sql.get<unknown[]>(INSERT_ONE).run(...insertParams(runId, rows[i]));
  }

  /**
   * Marks an attach decision 'pending' with its job uuid. Returns false when there is no such attach
   * or it already started: an attach is never sent twice in a run (a re-login resend uses replaceJob).
   */
  begin(runId: number, vmUuid: string, jobUuid: string, now: number): boolean {
    return this.sql
      .get<[string, string, number, string]>(
        `UPDATE decisions SET outcome = 'pending', job_uuid = ?, started_at = ?
          WHERE run_id = ? AND vm_uuid = ? AND action = 'attach' AND outcome IS NULL`,
      )
      .run(jobUuid, iso(now), runId, vmUuid).changes === 1;
  }

  replaceJob(runId: number, vmUuid: string, jobUuid: string): boolean {
    return this.sql
      .get<[string, number, string]>(
        "UPDATE decisions SET job_uuid = ? WHERE run_id = ? AND vm_uuid = ? AND outcome = 'pending'",
      )
      .run(jobUuid, runId, vmUuid).changes === 1;
  }

  /** A pending attach that never ran becomes a defer with `reason`; `why` replaces its message. */
  unstart(runId: number, vmUuid: string, reason: string, why: string): boolean {
    return this.sql
      .get<[string, string, number, string]>(
        `UPDATE decisions SET action = 'defer', reason = ?, message = ?, outcome = NULL, job_uuid = NULL, started_at = NULL
          WHERE run_id = ? AND vm_uuid = ? AND outcome = 'pending'`,
      )
      .run(reason, why, runId, vmUuid).changes === 1;
  }

  /** An attach decision whose call failed before any PUT: `failed`, with no job. */
  failUnstarted(runId: number, vmUuid: string, error: ActionError | null, now: number): boolean {
    return this.sql
      .get<[...ErrorParams, string, number, string]>(
        `UPDATE decisions SET outcome = 'failed', error_code = ?, error_description = ?, error_details = ?, finished_at = ?
          WHERE run_id = ? AND vm_uuid = ? AND action = 'attach' AND outcome IS NULL`,
      )
      .run(...errorParams(error), iso(now), runId, vmUuid).changes === 1;
  }

  /** Sets the final outcome of an attach that is still pending; returns false otherwise. */
  finish(runId: number, vmUuid: string, outcome: Outcome, error: ActionError | null, now: number): boolean {
    return this.sql
      .get<[Outcome, ...ErrorParams, string, number, string]>(
        `UPDATE decisions SET outcome = ?, error_code = ?, error_description = ?, error_details = ?, finished_at = ?
          WHERE run_id = ? AND vm_uuid = ? AND outcome = 'pending'`,
      )
      .run(outcome, ...errorParams(error), iso(now), runId, vmUuid).changes === 1;
  }

  /** Turns an attach not yet started into a defer with `reason`. */
  defer(runId: number, vmUuid: string, reason: string): void {
    this.sql
      .get<[string, number, string]>(
        "UPDATE decisions SET action = 'defer', reason = ? WHERE run_id = ? AND vm_uuid = ? AND action = 'attach' AND outcome IS NULL",
      )
      .run(reason, runId, vmUuid);
  }

  /** Only attaches that succeeded become verified; a few hundred per statement (20k single updates took ~0.2 s). */
  verifyMany(runId: number, vmUuids: readonly string[], by: VerifiedBy): void {
    for (const part of chunk(vmUuids, VERIFY_CHUNK)) {
      // Padded with its last uuid (harmless in IN): one SQL text, one prepared statement.
      while (part.length < VERIFY_CHUNK) part.push(part[part.length - 1]);
      this.sql.get<unknown[]>(VERIFY_SQL).run(by, runId, ...part);
    }
  }

  /** Attaches of `runId` whose job was unresolved when the run stopped (signal) become 'interrupted'. */
  interruptPending(runId: number): void {
    this.sql.get<[number]>("UPDATE decisions SET outcome = 'interrupted' WHERE run_id = ? AND outcome = 'pending'").run(runId);
  }

  /**
   * Run `resolvedBy`'s replay learned the result of an `interrupted` attach: the row keeps its outcome (true
   * when its run stopped) and gets the resolution, its error and the resolving run; false if it had one.
   */
  settleInterrupted(runId: number, vmUuid: string, r: { resolution: Resolution; error: ActionError | null; now: number; resolvedBy: number | null }): boolean {
    return this.sql
      .get<[Resolution, number | null, ...ErrorParams, string, number, string]>(
        `UPDATE decisions SET resolution = ?, resolved_by = ?, error_code = ?, error_description = ?, error_details = ?, finished_at = ?
          WHERE run_id = ? AND vm_uuid = ? AND outcome = 'interrupted' AND finished_at IS NULL`,
      )
      .run(r.resolution, r.resolvedBy, ...errorParams(r.error), iso(r.now), runId, vmUuid).changes === 1;
  }

  /** The run's attaches by outcome (a verified one also by what verified it): what it did, from its rows. */
  outcomeCounts(runId: number): Record<string, number> {
    const counts: Record<string, number> = {};
    const rows = this.sql
      .get<[number], { outcome: string; verified_by: string | null; n: number }>(
        'SELECT outcome, verified_by, count(*) AS n FROM decisions WHERE run_id = ? AND outcome IS NOT NULL GROUP BY outcome, verified_by',
      )
      .all(runId);
    for (const r of rows) {
      counts[r.outcome] = (counts[r.outcome] ?? 0) + r.n;
      if (r.verified_by === 'tag') counts.verifiedByTag = (counts.verifiedByTag ?? 0) + r.n;
    }
    return counts;
  }

  /** The newest time any of the run's rows was written by the run (a start or an outcome); null without any. */
  lastWrite(runId: number): string | null {
    return this.sql
      .get<[number], { at: string | null }>('SELECT max(max(coalesce(started_at, \'\')), max(coalesce(finished_at, \'\'))) AS at FROM decisions WHERE run_id = ?')
      .get(runId)?.at || null;
  }

  /** Attach decisions of `runId` never started become 'not-started'. */
  markNotStarted(runId: number): void {
    this.sql
      .get<[number]>("UPDATE decisions SET outcome = 'not-started' WHERE run_id = ? AND action IN ('attach', 'install') AND outcome IS NULL")
      .run(runId);
  }

  /** Attaches in doubt in runs no longer running: the job id was recorded, the outcome never was. */
  pendingOfStoppedRuns(): PendingJob[] {
    return this.sql
      .get<[], { run_id: number; vm_uuid: string; job_uuid: string; target_version: string | null }>(
        `SELECT d.run_id, d.vm_uuid, d.job_uuid, d.target_version FROM decisions d JOIN runs r ON r.id = d.run_id
          WHERE (d.outcome = 'pending' OR (d.outcome = 'interrupted' AND d.finished_at IS NULL))
            AND d.job_uuid IS NOT NULL AND r.status <> 'running' ORDER BY d.run_id, d.id`,
      )
      .all()
      .map((r) => ({ runId: r.run_id, vmUuid: r.vm_uuid, jobUuid: r.job_uuid, target: r.target_version }));
  }

  /** The newest started attach of each VM that has one: one lookup per VM on decisions_by_vm. */
  lastAttaches(vmUuids: readonly string[]): Map<string, LastAttach> {
    const last = new Map<string, LastAttach>();
    const select = this.sql.get<[string], { run_id: number; target_version: string | null; outcome: string | null; error_code: string | null; started_at: string | null }>(
      `SELECT run_id, target_version, coalesce(resolution, outcome) AS outcome, error_code, started_at FROM decisions
        WHERE vm_uuid = ? AND job_uuid IS NOT NULL ORDER BY run_id DESC LIMIT 1`,
    );
    for (const vmUuid of vmUuids) {
      const row = select.get(vmUuid);
      if (!row) continue;
      const startedAt = row.started_at === null ? Number.NaN : Date.parse(row.started_at);
      last.set(vmUuid, {
        runId: row.run_id, target: row.target_version, outcome: row.outcome as Outcome | null, errorCode: row.error_code,
        startedAt: Number.isNaN(startedAt) ? null : startedAt,
      });
    }
    return last;
  }

  /** One page of a run's decisions, optionally of one action and/or reason, with the run's (action, reason) tallies. */
  pageForRun(runId: number, filter: { action: string | null; reason: string | null }, limit: number, offset: number) {
    const params = { runId, action: filter.action, reason: filter.reason, limit, offset };
    const kinds = this.sql
      .get<[{ runId: number }], { action: string; reason: string; n: number }>('SELECT action, reason, count(*) AS n FROM decisions WHERE run_id = @runId GROUP BY action, reason ORDER BY action, reason')
      .all({ runId });
    const total = this.sql.get<[typeof params], { n: number }>(`SELECT count(*) AS n FROM decisions WHERE ${PAGE_FILTER}`).get(params)?.n ?? 0;
    const rows = this.sql
      .get<[typeof params], DecisionDbRow>(
        `SELECT vm_uuid, vm_name, action, reason, current_version, target_version, agent_type, architecture, host_uuid,
           message, outcome, resolution, resolved_by, verified_by, job_uuid, error_code, error_description, error_details, started_at, finished_at
           FROM decisions WHERE ${PAGE_FILTER} ORDER BY id LIMIT @limit OFFSET @offset`,
      )
      .all(params)
      .map(toRecord);
    return { kinds, total, rows };
  }

  forRun(runId: number): ActionRecord[] {
    return this.sql
      .get<[number], DecisionDbRow>(
        `SELECT vm_uuid, vm_name, action, reason, current_version, target_version, agent_type, architecture, host_uuid,
           message, outcome, resolution, resolved_by, verified_by, job_uuid, error_code, error_description, error_details, started_at, finished_at
           FROM decisions WHERE run_id = ? ORDER BY id`,
      )
      .all(runId)
      .map(toRecord);
  }
}

function errorParams(error: ActionError | null): ErrorParams {
  return error ? [error.code, error.description, error.details] : [null, null, null];
}

function toRecord(row: DecisionDbRow): ActionRecord {
  return {
    vmUuid: row.vm_uuid,
    vmName: row.vm_name,
    action: row.action as DecisionAction,
    reason: row.reason,
    current: row.current_version,
    target: row.target_version,
    agentType: row.agent_type,
    architecture: row.architecture,
    hostUuid: row.host_uuid,
    message: row.message,
    outcome: row.outcome as Outcome | null,
    resolution: row.resolution as Resolution | null,
    resolvedBy: row.resolved_by,
    verifiedBy: row.verified_by as VerifiedBy | null,
    jobUuid: row.job_uuid,
    error: row.error_code === null ? null
      : { code: row.error_code, description: row.error_description ?? '', details: row.error_details ?? '' },
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
