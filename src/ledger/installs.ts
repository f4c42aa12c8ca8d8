// The install and clean-up tables (migration 0012): the ISOs this reconciler attached and their detach,
// the one script per (platform, command), and one row per (VM, target) for the installer run in the
// guest. Writes are short transactions on the ledger's connection (nested ones become savepoints of
// the start transaction that calls them, src/apply/start-path.ts).
import type { DbHandle } from './db-handle.js';
import type { Statements } from './db.js';
import type { VerifiedBy } from './types.js';

export type InstallState = 'installing' | 'verified' | 'install-failed' | 'failed' | 'rearmed';
export type InstallPlatform = 'Linux' | 'Windows';

export interface InstallRow {
  vmUuid: string;
  target: string;
  runId: number;
  platform: InstallPlatform;
  scriptUuid: string;
  jobUuid: string;
  recordUuid: string | null;
  batchSize: number;
  state: InstallState;
  reason: string | null;
  verifiedBy: VerifiedBy | null;
  errCause: string | null;
  stderrTail: string | null;
  /** Epoch ms. */
  startedAt: number;
  launchedAt: number | null;
  finishedAt: number | null;
  settledRun: number | null;
}

/** What the planner needs of a VM's newest install. */
export interface InstallHistory {
  target: string;
  state: InstallState;
  startedAt: number;
}

export interface InstallScript {
  name: string;
  resourceUuid: string;
  scriptUuid: string | null;
}

/** A VM whose GuestTools ISO this reconciler attached and has not detached (nor failed to). */
export interface MountedIso {
  target: string;
  /** A detach already sent (its result unknown): poll it, never re-send. */
  detachJob: string | null;
  /** When the guest confirmed the target (migration 0013); null until then. */
  verifiedAt: number | null;
}

export interface Settlement {
  state: Exclude<InstallState, 'installing' | 'rearmed'>;
  reason: string | null;
  verifiedBy?: VerifiedBy | null;
  errCause?: string | null;
  stderrTail?: string | null;
  now: number;
  runId: number;
}

interface InstallDbRow {
  vm_uuid: string; target: string; run_id: number; platform: string; script_uuid: string; job_uuid: string; record_uuid: string | null;
  batch_size: number; state: string; reason: string | null; verified_by: string | null; err_cause: string | null; stderr_tail: string | null;
  started_at: number; launched_at: number | null; finished_at: number | null; settled_run: number | null;
}

const COLUMNS = `vm_uuid, target, run_id, platform, script_uuid, job_uuid, record_uuid, batch_size, state, reason, verified_by, err_cause,
  stderr_tail, started_at, launched_at, finished_at, settled_run`;

export class Installs {
  private readonly sql: Statements;

  constructor(private readonly db: DbHandle) {
    this.sql = db.sql;
  }

  /** An attach of ours succeeded: the VM's ISO is ours until detached (inside the caller's transaction). */
  noteAttached(vmUuid: string, now: number): void {
    this.sql.get<[number, string]>(
      `INSERT INTO attached_isos (vm_uuid, target, attached_at) SELECT vm_uuid, last_attach_target, ? FROM vm_state
        WHERE vm_uuid = ? AND last_attach_target IS NOT NULL
       ON CONFLICT (vm_uuid) DO UPDATE SET target = excluded.target, attached_at = excluded.attached_at,
         detach_job = NULL, detach_run = NULL, detached_at = NULL, detach_error = NULL, verified_at = NULL`,
    ).run(now, vmUuid);
  }

  /** The newest install per VM and the ISOs still mounted by us, from one snapshot (the planner's input). */
  planView(): { installs: Map<string, InstallHistory>; mounted: Map<string, MountedIso> } {
    return this.db.read(() => {
      const installs = new Map<string, InstallHistory>();
      const rows = this.sql.get<[], { vm_uuid: string; target: string; state: string; started_at: number }>(
        'SELECT vm_uuid, target, state, started_at FROM installs ORDER BY started_at',
      ).iterate();
      for (const r of rows) installs.set(r.vm_uuid, { target: r.target, state: r.state as InstallState, startedAt: r.started_at });
      return { installs, mounted: this.mountedNow() };
    });
  }

  private mountedNow(): Map<string, MountedIso> {
    const mounted = new Map<string, MountedIso>();
    const rows = this.sql.get<[], { vm_uuid: string; target: string; detach_job: string | null; verified_at: number | null }>(
      'SELECT vm_uuid, target, detach_job, verified_at FROM attached_isos WHERE detached_at IS NULL AND detach_error IS NULL',
    ).iterate();
    for (const r of rows) mounted.set(r.vm_uuid, { target: r.target, detachJob: r.detach_job, verifiedAt: r.verified_at });
    return mounted;
  }

  mounted(): Map<string, MountedIso> {
    return this.db.read(() => this.mountedNow());
  }

  script(key: string): InstallScript | null {
    const row = this.sql.get<[string], { name: string; resource_uuid: string; script_uuid: string | null }>(
      'SELECT name, resource_uuid, script_uuid FROM install_scripts WHERE script_key = ?',
    ).get(key);
    return row ? { name: row.name, resourceUuid: row.resource_uuid, scriptUuid: row.script_uuid } : null;
  }

  /** Before CreateGuestVmScript (inside its start transaction): the resourceUuid it will carry. */
  rememberScript(key: string, name: string, resourceUuid: string, now: number): void {
    this.db.write(() => this.sql.get<[string, string, string, number]>(
      `INSERT INTO install_scripts (script_key, name, resource_uuid, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (script_key) DO UPDATE SET resource_uuid = excluded.resource_uuid, script_uuid = NULL, created_at = excluded.created_at`,
    ).run(key, name, resourceUuid, now));
  }

  setScriptUuid(key: string, name: string, scriptUuid: string, now: number): void {
    this.db.write(() => this.sql.get<[string, string, string, string, number]>(
      `INSERT INTO install_scripts (script_key, name, resource_uuid, script_uuid, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (script_key) DO UPDATE SET script_uuid = excluded.script_uuid`,
    ).run(key, name, scriptUuid, scriptUuid, now));
  }

  /**
   * Before ExecuteGuestVmScript (inside its start transaction): one row per VM with the job uuid, and
   * the run's decision of each VM (its attach, or its install/attached) gets the outcome `installing`.
   */
  begin(runId: number, vms: readonly { vmUuid: string; target: string }[], r: { platform: InstallPlatform; scriptUuid: string; jobUuid: string; now: number }): void {
    this.db.write(() => {
      const insert = this.sql.get<[string, string, number, string, string, string, number, number]>(
        `INSERT INTO installs (vm_uuid, target, run_id, platform, script_uuid, job_uuid, batch_size, state, started_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'installing', ?)
         ON CONFLICT (vm_uuid, target) DO UPDATE SET run_id = excluded.run_id, platform = excluded.platform, script_uuid = excluded.script_uuid,
           job_uuid = excluded.job_uuid, record_uuid = NULL, batch_size = excluded.batch_size, state = 'installing', reason = NULL,
           verified_by = NULL, err_cause = NULL, stderr_tail = NULL, started_at = excluded.started_at, launched_at = NULL, finished_at = NULL, settled_run = NULL`,
      );
      const decision = this.sql.get<[number, string]>(
        `UPDATE decisions SET outcome = 'installing' WHERE run_id = ? AND vm_uuid = ?
           AND ((action = 'attach' AND outcome = 'attached') OR (action = 'install' AND outcome IS NULL))`,
      );
      for (const vm of vms) {
        insert.run(vm.vmUuid, vm.target, runId, r.platform, r.scriptUuid, r.jobUuid, vms.length, r.now);
        decision.run(runId, vm.vmUuid);
      }
    });
  }

  /** The re-send after ID.1001 (the MN rejected the first unrun): its new job uuid. */
  replaceJob(oldJob: string, newJob: string): void {
    this.db.write(() => this.sql.get<[string, string]>("UPDATE installs SET job_uuid = ? WHERE job_uuid = ? AND state = 'installing'").run(newJob, oldJob));
  }

  /**
   * A started execute the MN rejected unrun (ID.1001) whose re-send a gate refused: nothing ran, so its
   * rows go, the attach decisions are `attached` again and the install decisions defers with `reason`.
   */
  unstart(runId: number, jobUuid: string, reason: string): void {
    this.db.write(() => {
      const vms = this.sql.get<[string], { vm_uuid: string }>("SELECT vm_uuid FROM installs WHERE job_uuid = ? AND state = 'installing'").all(jobUuid);
      this.sql.get<[string]>("DELETE FROM installs WHERE job_uuid = ? AND state = 'installing'").run(jobUuid);
      for (const { vm_uuid } of vms) {
        this.sql.get<[string, number, string]>(
          `UPDATE decisions SET outcome = CASE action WHEN 'attach' THEN 'attached' ELSE NULL END,
             action = CASE action WHEN 'install' THEN 'defer' ELSE action END,
             reason = CASE action WHEN 'install' THEN ? ELSE reason END
           WHERE run_id = ? AND vm_uuid = ? AND outcome = 'installing'`,
        ).run(reason, runId, vm_uuid);
      }
    });
  }

  /** An install/attached decision a gate kept from starting: a defer of the run, with the gate's reason. */
  deferInstall(runId: number, vmUuid: string, reason: string): void {
    this.db.write(() => this.sql.get<[string, number, string]>(
      "UPDATE decisions SET action = 'defer', reason = ? WHERE run_id = ? AND vm_uuid = ? AND action = 'install' AND outcome IS NULL",
    ).run(reason, runId, vmUuid));
  }

  /** The record the execute job answered with. */
  setRecord(jobUuid: string, recordUuid: string): void {
    this.db.write(() => this.sql.get<[string, string]>("UPDATE installs SET record_uuid = ? WHERE job_uuid = ? AND state = 'installing'").run(recordUuid, jobUuid));
  }

  /** The launcher's detail succeeded: it ran (the install itself is judged on the guest's evidence). */
  launched(vmUuid: string, target: string, now: number): void {
    this.db.write(() => this.sql.get<[number, string, string]>(
      "UPDATE installs SET launched_at = ? WHERE vm_uuid = ? AND target = ? AND state = 'installing' AND launched_at IS NULL",
    ).run(now, vmUuid, target));
  }

  /** How many installs wait for evidence (the installs_open index). */
  inFlight(): number {
    return this.sql.get<[], { n: number }>("SELECT count(*) AS n FROM installs WHERE state = 'installing'").get()?.n ?? 0;
  }

  /** The installs still waiting for evidence, oldest first. */
  open(): InstallRow[] {
    return this.sql.get<[], InstallDbRow>(`SELECT ${COLUMNS} FROM installs WHERE state = 'installing' ORDER BY started_at, vm_uuid`).all().map(toRow);
  }

  /** What the evidence said; false when the install was settled already. */
  settle(vmUuid: string, target: string, s: Settlement): boolean {
    return this.db.write(() => this.sql.get<[string, string | null, string | null, string | null, string | null, number, number, string, string]>(
      `UPDATE installs SET state = ?, reason = ?, verified_by = ?, err_cause = ?, stderr_tail = ?, finished_at = ?, settled_run = ?
        WHERE vm_uuid = ? AND target = ? AND state = 'installing'`,
    ).run(s.state, s.reason, s.verifiedBy ?? null, s.errCause ?? null, s.stderrTail ?? null, s.now, s.runId, vmUuid, target).changes === 1);
  }

  /** `gtr retry`: a failed install may run again (inside the caller's transaction). */
  rearm(vmUuid: string): boolean {
    return this.sql.get<[string]>("UPDATE installs SET state = 'rearmed' WHERE vm_uuid = ? AND state IN ('install-failed', 'failed')").run(vmUuid).changes > 0;
  }

  /** The installs a run settled (its evidence), for `runs show`. */
  settledBy(runId: number): InstallRow[] {
    return this.sql.get<[number], InstallDbRow>(`SELECT ${COLUMNS} FROM installs WHERE settled_run = ? ORDER BY vm_uuid`).all(runId).map(toRow);
  }

  /** The guest confirmed the target of these VMs' ISOs (still mounted): the funnel's `verified`, detached or not. */
  noteVerified(vmUuids: readonly string[], now: number): void {
    if (vmUuids.length === 0) return;
    this.db.write(() => {
      const mark = this.sql.get<[number, string]>('UPDATE attached_isos SET verified_at = ? WHERE vm_uuid = ? AND verified_at IS NULL');
      for (const vmUuid of vmUuids) mark.run(now, vmUuid);
    });
  }

  /** Inside the detach's start transaction: its job uuid, before the PUT. */
  beginDetach(vmUuid: string, jobUuid: string, runId: number): void {
    this.db.write(() => this.sql.get<[string, number, string]>(
      'UPDATE attached_isos SET detach_job = ?, detach_run = ? WHERE vm_uuid = ? AND detached_at IS NULL AND detach_error IS NULL',
    ).run(jobUuid, runId, vmUuid));
  }

  /** The detach ended: done (error null) or refused by the MN. */
  finishDetach(vmUuid: string, error: string | null, now: number): void {
    this.db.write(() => this.sql.get<[number | null, string | null, string]>(
      'UPDATE attached_isos SET detached_at = ?, detach_error = ? WHERE vm_uuid = ? AND detached_at IS NULL AND detach_error IS NULL',
    ).run(error === null ? now : null, error, vmUuid));
  }
}

function toRow(r: InstallDbRow): InstallRow {
  return {
    vmUuid: r.vm_uuid, target: r.target, runId: r.run_id, platform: r.platform as InstallPlatform, scriptUuid: r.script_uuid, jobUuid: r.job_uuid,
    recordUuid: r.record_uuid, batchSize: r.batch_size, state: r.state as InstallState, reason: r.reason, verifiedBy: r.verified_by as VerifiedBy | null,
    errCause: r.err_cause, stderrTail: r.stderr_tail, startedAt: r.started_at, launchedAt: r.launched_at, finishedAt: r.finished_at, settledRun: r.settled_run,
  };
}
