// The SQLite ledger (docs/design.md 4 and 6): runs, decisions, per-VM state and the lease.
// Every write is one short synchronous IMMEDIATE transaction (the API is synchronous, so no transaction
// can span an await); IMMEDIATE takes the write lock up front, so a read-then-write never meets a
// stale snapshot and waits on busy_timeout instead of failing.
import path from 'node:path';
import { openDatabase, describeOpenError, storageError, type Db } from './db.js';
import { DbHandle } from './db-handle.js';
import { Attention, type AttentionRow } from './attention.js';
import { Decisions } from './decisions.js';
import { Installs } from './installs.js';
import { InstallFunnel, type FunnelCount, type InstallFailure } from './install-funnel.js';
import { trimDecisions, type DecisionTrim } from './decision-keys.js';
import { Lease, type AcquireResult } from './lease.js';
import { DEFAULT_MIGRATIONS_DIR, migrate, pendingMigrations } from './migrate.js';
import { backupDatabase, installSnapshot } from './snapshot.js';
import { defaultIsAlive, sameProcess, selfIdentity, type ProcessIdentity } from './process-alive.js';
import { Runs } from './runs.js';
import type {
  ActionError, ActionRecord, DecisionRow, IsAlive, LastAttach, LeaseHolder, PendingJob, QuarantinePolicy, Resolution, RunRecord, RunStatus,
  RunTrigger, RunWarning, VerifiedBy, VmState,
} from './types.js';
import { VmStates, type Regression } from './vm-state.js';
import { WalSync } from './wal-sync.js';
import type { FleetRow } from '../domain.js';

function isFleetRow(row: unknown): row is FleetRow {
  const r = row as FleetRow;
  return typeof r === 'object' && r !== null && typeof r.count === 'number' && typeof r.platform === 'string' && typeof r.architecture === 'string';
}

/** The end of a run (Ledger.finishRun). */
interface FinishRun {
  status: RunStatus;
  counts: Record<string, number>;
  now: number;
  message?: string;
}

export interface LedgerOpenOptions {
  /** Folder of `NNNN_name.sql` files; defaults to the package's `migrations/`. */
  migrationsDir?: string;
  /** Open without writing; migrations are only checked for drift. */
  readonly?: boolean;
  /** Apply pending migrations on open (default true); when false they are only checked for drift. */
  migrate?: boolean;
}

export class Ledger {
  /** The connection, shared with other modules' stores for their own tables (src/ledger/db-handle.ts). */
  readonly handle: DbHandle;
  /** The install and clean-up tables (migration 0012). */
  readonly installs: Installs;
  private readonly runs: Runs;
  private readonly decisions: Decisions;
  private readonly vms: VmStates;
  private readonly lease: Lease;
  private readonly attention: Attention;
  private readonly funnel: InstallFunnel;
  /** Ends of runs whose last write failed, retried by finishLateRuns (this process's only; never shared). */
  private readonly unfinished = new Map<number, FinishRun>();
  /** Holders of this process whose release could not be written: released at its next acquisition. */
  private readonly unreleased = new Set<string>();
  /** This process as the lease and its runs record it (host, pid, boot id, start time). */
  private readonly self: ProcessIdentity = selfIdentity();
  /** The WAL's fsync for batchUnsynced's commits: inline while the disk is fast, on the thread pool while it is slow (src/ledger/wal-sync.ts). */
  private readonly walSync: WalSync;

  private constructor(private readonly db: Db, readonly path: string, readonly migrationsDir: string) {
    this.handle = new DbHandle(db, path);
    const sql = this.handle.sql;
    this.runs = new Runs(sql);
    this.decisions = new Decisions(sql);
    this.vms = new VmStates(sql);
    this.lease = new Lease(sql);
    this.attention = new Attention(sql);
    this.funnel = new InstallFunnel(sql);
    this.installs = new Installs(this.handle);
    this.walSync = new WalSync(`${path}-wal`);
  }

  /** Opens the database (the folder must exist), sets WAL / FULL / foreign keys / busy timeout, migrates. */
  static open(file: string, opts: LedgerOpenOptions = {}): Ledger {
    const resolved = path.resolve(file);
    const dir = opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
    const readonly = opts.readonly ?? false;
    const db = openDatabase(resolved, { readonly });
    try {
      if (!readonly && (opts.migrate ?? true)) migrate(db, dir, resolved);
      else pendingMigrations(db, dir, resolved);
    } catch (e) {
      db.close();
      throw describeOpenError(resolved, e);
    }
    return new Ledger(db, resolved, dir);
  }

  close(): void {
    this.walSync.close();
    if (this.db.open) this.db.close();
  }

  migrate(): string[] {
    return this.guard(() => migrate(this.db, this.migrationsDir, this.path));
  }

  pendingMigrations(): string[] {
    return pendingMigrations(this.db, this.migrationsDir, this.path);
  }

  /** Names of the applied migrations, oldest first: the schema a peer's snapshot must match. */
  appliedMigrations(): string[] {
    return this.guard(() => this.db.prepare<[], { name: string }>('SELECT name FROM schema_migrations ORDER BY id').all().map((r) => r.name));
  }

  /** A consistent copy of the whole ledger in `file` (SQLite's online backup API), for the peer node. */
  async snapshotTo(file: string): Promise<void> {
    await this.guardAsync(() => backupDatabase(this.db, file));
  }

  /**
   * Replaces this ledger's content with a snapshot checked by verifySnapshot (src/ledger/snapshot.ts),
   * in one transaction: on any failure the ledger is left as it was. No write of this process may run
   * meanwhile (it would wait on the backup's lock while blocking it).
   */
  async replaceWith(file: string): Promise<void> {
    await this.guardAsync(() => installSnapshot(this.db, this.path, file));
  }

  /** The connection's effective settings, for `gtr status` and tests. */
  settings(): { journalMode: string; synchronous: number; foreignKeys: boolean; busyTimeoutMs: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      foreignKeys: Number(this.db.pragma('foreign_keys', { simple: true })) === 1,
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
    };
  }

  // ---- runs -------------------------------------------------------------------------------------

  startRun(r: { trigger: RunTrigger; dryRun: boolean; now: number }): number {
    this.finishLateRuns();
    return this.write(() => this.runs.start(r.trigger, r.dryRun, r.now, this.self));
  }

  /** `counts`: the plan's, the run's counts until it ends (a run killed later still says what it planned). */
  setRunPlan(runId: number, p: { planHash: string; targets: unknown[]; counts?: Record<string, number> }): void {
    this.write(() => this.runs.setPlan(runId, p.planHash, p.targets, p.counts ?? {}));
  }

  /** The fleet summary of a run (see src/reconcile/fleet.ts), shown by `gtr status` and /metrics. */
  setRunFleet(runId: number, fleet: FleetRow[]): void {
    this.write(() => this.runs.setFleet(runId, fleet));
  }

  /** What the run worked around (replaces earlier ones of the run); shown by `runs show` and `status`. */
  setRunWarnings(runId: number, warnings: readonly RunWarning[]): void {
    this.write(() => this.runs.setWarnings(runId, warnings));
  }

  /** The newest recorded fleet, with the catalog targets of the run that saw it. */
  lastFleet(): { runId: number; rows: FleetRow[]; targets: unknown[] } | null {
    const fleet = this.runs.lastFleet();
    return fleet ? { runId: fleet.runId, rows: fleet.rows.filter(isFleetRow), targets: fleet.targets } : null;
  }

  /**
   * A run's end: its status changes only from `running` (a finished run is never rewritten: returns
   * false). Its attaches never started become `not-started`; an `interrupted` run's attaches still
   * pending (PUT sent, job unresolved) become `interrupted`, job uuid kept. Without counts (a run that
   * stopped on an error) it keeps those of its record: the plan's, with the outcomes of its rows.
   */
  finishRun(runId: number, r: FinishRun): boolean {
    return this.write(() => {
      if (!this.runs.isRunning(runId)) return false;
      if (r.status !== 'dry-run') this.decisions.markNotStarted(runId);
      if (r.status === 'interrupted') this.decisions.interruptPending(runId);
      const counts = Object.keys(r.counts).length > 0 ? r.counts : this.recordedCounts(runId);
      this.runs.finish(runId, r.status, counts, r.now, r.message ?? null);
      this.unfinished.delete(runId);
      return true;
    });
  }

  /** What a run's record says it did: its plan's counts with the outcomes of its attach rows. */
  private recordedCounts(runId: number): Record<string, number> {
    const counts = { ...this.runs.counts(runId), ...this.decisions.outcomeCounts(runId) };
    counts.succeeded = (counts.verified ?? 0) + (counts.attached ?? 0);
    return counts;
  }

  /** A run whose end could not be written: kept here and written at this process's next start of a run or recovery. */
  finishRunLater(runId: number, r: FinishRun): void {
    this.unfinished.set(runId, r);
  }

  /**
   * Writes the ends kept by finishRunLater (finishRun forgets each it writes); those that still fail stay
   * kept. Returns the last failure, or null when none is left.
   */
  finishLateRuns(): unknown {
    let failure: unknown = null;
    for (const [runId, r] of [...this.unfinished]) {
      try {
        this.finishRun(runId, r);
      } catch (error) {
        // Still locked or full: the next start tries again.
        failure = error;
      }
    }
    return failure;
  }

  /** What the run did per stage (attach, install, detach): `runs show`. */
  setRunStages(runId: number, stages: unknown): void {
    this.write(() => this.runs.setStages(runId, stages));
  }

  /** Adds to the run's warnings (kept with those already recorded). */
  addRunWarnings(runId: number, warnings: readonly RunWarning[]): void {
    this.write(() => this.runs.addWarnings(runId, warnings));
  }

  listRuns(limit: number): RunRecord[] {
    return this.runs.list(limit);
  }

  getRun(id: number): (RunRecord & { actions: ActionRecord[] }) | null {
    // One read transaction: the run and its actions come from the same snapshot.
    return this.handle.read(() => {
      const run = this.runs.get(id);
      return run ? { ...run, actions: this.decisions.forRun(id) } : null;
    });
  }

  /** A run with one page of its stored decisions (see Decisions.pageForRun); null when there is no such run. */
  getRunPage(id: number, filter: { action: string | null; reason: string | null }, limit: number, offset: number) {
    return this.handle.read(() => {
      const run = this.runs.get(id);
      return run ? { ...run, ...this.decisions.pageForRun(id, filter, limit, offset) } : null;
    });
  }

  lastRun(): RunRecord | null {
    return this.runs.last();
  }

  /** Deletes finished runs started before `olderThan` (epoch ms) beyond the newest `keep`; returns how many. */
  pruneRuns(r: { olderThan: number; keep: number }): number {
    return this.write(() => {
      const deleted = this.runs.prune(r.olderThan, r.keep);
      if (deleted > 0) this.vms.forgetDeletedDecisionRuns();
      return deleted;
    });
  }

  /**
   * Runs left 'running' by a process that is gone become 'interrupted'; their never-started attaches
   * become 'not-started'. Returns the newly interrupted runs and every attach still in doubt in a
   * stopped run (including older ones not yet resolved), to be settled by polling the recorded job.
   */
  markInterruptedRuns(now: number, isAlive: IsAlive = defaultIsAlive): { runIds: number[]; pendingJobs: PendingJob[] } {
    // This process's own runs whose end could not be written are closed first (their pending attaches are then replayed).
    this.finishLateRuns();
    return this.write(() => {
      const runIds: number[] = [];
      for (const run of this.runs.running()) {
        const who = { host: run.host, pid: run.pid, bootId: run.bootId, startTime: run.startTime };
        if (sameProcess(who, this.self) || isAlive(who)) continue;
        this.decisions.markNotStarted(run.id);
        this.decisions.interruptPending(run.id);
        this.runs.interrupt(run.id, {
          now, lastSeen: this.decisions.lastWrite(run.id), counts: this.recordedCounts(run.id),
          message: `interrupted: process ${run.pid} on ${run.host} ended before the run finished`,
        });
        runIds.push(run.id);
      }
      return { runIds, pendingJobs: this.decisions.pendingOfStoppedRuns() };
    });
  }

  // ---- decisions --------------------------------------------------------------------------------

  /**
   * Records the decisions of a run; returns how many got a row. Without `trim` every row is stored.
   * With it, a keyed decision is stored only when it differs from the VM's last stored one, and the
   * VMs' last keys are updated in the same transaction (src/ledger/decision-keys.ts).
   */
  recordDecisions(runId: number, rows: readonly DecisionRow[], trim?: DecisionTrim): number {
    return this.write(() => {
      if (!trim) {
        this.decisions.insertMany(runId, rows);
        return rows.length;
      }
      const { stored, keyUpdates } = trimDecisions(rows, this.vms.decisionKeys(), trim, runId);
      this.decisions.insertMany(runId, stored);
      for (const u of keyUpdates) this.vms.setDecisionKey(u.vmUuid, u.key, u.runId);
      return stored.length;
    });
  }

  /** Written before the PUT: if the process dies mid-call, the job uuid is there to poll. */
  /** `tagged`: the PUT sends `GuestTools::<target>` (zstack.recordVersionTag), so that tag is no evidence later. */
  beginAttach(runId: number, vmUuid: string, jobUuid: string, target: string, now: number, tagged = false): void {
    this.write(() => {
      if (!this.decisions.begin(runId, vmUuid, jobUuid, now)) throw new Error(`ledger: run ${runId} has no unstarted attach decision for VM ${vmUuid}`);
      this.vms.noteAttach(vmUuid, target, now, tagged);
    });
  }

  replaceJobUuid(runId: number, vmUuid: string, jobUuid: string): void {
    this.write(() => {
      if (!this.decisions.replaceJob(runId, vmUuid, jobUuid)) throw new Error(`ledger: run ${runId} has no pending attach for VM ${vmUuid}`);
    });
  }

  /**
   * A started attach the MN rejected before running it (ID.1001) whose re-send a gate refused: the
   * decision becomes `defer/<reason>` (with `why`), and the VM's last attach counts as not having run.
   */
  unstartAttach(runId: number, vmUuid: string, reason: string, why: string): void {
    this.write(() => {
      if (!this.decisions.unstart(runId, vmUuid, reason, why)) throw new Error(`ledger: run ${runId} has no pending attach for VM ${vmUuid}`);
      this.vms.didNotRun(vmUuid);
    });
  }

  /** An attach whose call failed before any PUT (its login): `failed` in the run; the VM's record is untouched. */
  failUnstarted(runId: number, vmUuid: string, error: ActionError | null, now: number): void {
    this.write(() => {
      if (!this.decisions.failUnstarted(runId, vmUuid, error, now)) throw new Error(`ledger: run ${runId} has no unstarted attach decision for VM ${vmUuid}`);
    });
  }

  /**
   * The outcome of a started attach. `in-doubt` (job lost, MN restart, poll without answer, SYS.1001):
   * it may still run, so the VM waits for reattachAfter as after an attach that went through.
   */
  finishAttach(runId: number, vmUuid: string, r: { outcome: 'attached' | 'failed' | 'in-doubt'; error: ActionError | null; now: number; quarantine: QuarantinePolicy }): void {
    this.write(() => {
      if (!this.decisions.finish(runId, vmUuid, r.outcome, r.error, r.now)) {
        throw new Error(`ledger: run ${runId} has no pending attach for VM ${vmUuid}`);
      }
      this.settleVm(vmUuid, r.outcome, r.now, r.quarantine);
    });
  }

  /**
   * Settles an attach in doubt after its run stopped, learned by run `resolvedBy`'s replay; a no-op when
   * it is settled already. An `interrupted` row keeps its outcome (true when its run stopped) and gets
   * the resolution; a `pending` one (of a run that ended on an error) gets the outcome.
   */
  resolvePendingJob(runId: number, vmUuid: string, r: { outcome: Resolution; error: ActionError | null; now: number; resolvedBy: number | null }): void {
    // There is deliberately no "never ran" outcome that forgets the attach: the MN cannot prove a
    // recorded PUT never arrived, and forgetting one is how the crash soak found a second attach.
    this.write(() => {
      const settled = this.decisions.settleInterrupted(runId, vmUuid, { resolution: r.outcome, error: r.error, now: r.now, resolvedBy: r.resolvedBy })
        || this.decisions.finish(runId, vmUuid, r.outcome, r.error, r.now);
      if (settled) this.settleVm(vmUuid, r.outcome, r.now, null);
    });
  }

  private settleVm(vmUuid: string, outcome: 'attached' | 'failed' | 'in-doubt', now: number, quarantine: QuarantinePolicy | null): void {
    if (outcome === 'attached') {
      this.vms.succeeded(vmUuid);
      this.installs.noteAttached(vmUuid, now);
    }
    else if (outcome === 'in-doubt') this.vms.inDoubt(vmUuid);
    else this.vms.failed(vmUuid, now, quarantine);
  }

  /** The newest started attach of each of these VMs, from one snapshot (rollouts: was a member's attach lost?). */
  lastAttaches(vmUuids: readonly string[]): Map<string, LastAttach> {
    return this.handle.read(() => this.decisions.lastAttaches(vmUuids));
  }

  deferDecisions(runId: number, vmUuids: string[], reason: string): void {
    this.write(() => {
      for (const vmUuid of vmUuids) this.decisions.defer(runId, vmUuid, reason);
    });
  }

  markVerified(runId: number, vmUuids: string[], by: VerifiedBy = 'guest'): void {
    this.write(() => this.decisions.verifyMany(runId, vmUuids, by));
  }

  // ---- per-VM state -----------------------------------------------------------------------------

  observeVersions(rows: { vmUuid: string; version: string | null }[], now: number): Regression[] {
    return this.write(() => {
      const changed = this.vms.changedVersions(new Map(rows.map((r) => [r.vmUuid, r.version])));
      const regressions: Regression[] = [];
      for (const row of rows) {
        if (!changed.has(row.vmUuid)) continue;
        const regression = this.vms.observe(row.vmUuid, row.version, now, changed.get(row.vmUuid));
        changed.set(row.vmUuid, row.version);
        if (regression) regressions.push(regression);
      }
      return regressions;
    });
  }

  /** The install funnel of the ISOs we attached, by group and stage (src/ledger/install-funnel.ts), and a page of the failed installs, from one snapshot. */
  installFunnel(failuresLimit: number, failuresOffset = 0): { counts: FunnelCount[]; failures: { total: number; rows: InstallFailure[] } } {
    return this.handle.read(() => ({ counts: this.funnel.counts(), failures: this.funnel.failures(failuresLimit, failuresOffset) }));
  }

  /** A page of the VMs that need a person (see src/ledger/attention.ts), and how many there are in all. */
  needsAttention(now: number, reasons: readonly string[], limit: number, offset: number): { total: number; rows: AttentionRow[] } {
    return this.attention.page(now, reasons, limit, offset);
  }

  vmStates(): Map<string, VmState> {
    return this.vms.all();
  }

  /** The per-VM states the planner needs at `now` (a subset of vmStates(); the rest cannot change a plan). */
  planHistory(now: number, reattachAfterMs: number, maxAttempts: number, alsoVms: readonly string[] = []): Map<string, VmState> {
    return this.vms.planHistory(now, reattachAfterMs, maxAttempts, alsoVms);
  }

  /** The VMs whose newest recorded decision carries one of these names. */
  vmsNamed(names: readonly string[]): { uuid: string; name: string }[] {
    return this.vms.named(names);
  }

  /**
   * `gtr retry`: forgets the VMs' failures, quarantine and attempt counts, re-arms their failed installs
   * and forgets install failures their guests reported before `now`; returns the VMs that had a record.
   */
  retryVms(vmUuids: readonly string[], now: number): string[] {
    return this.write(() => vmUuids.filter((vmUuid) => {
      const rearmed = this.installs.rearm(vmUuid);
      return this.vms.retry(vmUuid, now) || rearmed;
    }));
  }

  // ---- lease ------------------------------------------------------------------------------------

  acquireLease(h: { holder: string; purpose: string; ttlMs: number; now: number; isAlive?: IsAlive }): AcquireResult {
    return this.write(() => {
      for (const holder of this.unreleased) this.lease.release(holder);
      this.unreleased.clear();
      return this.lease.acquire({
      holder: h.holder,
      purpose: h.purpose,
      ttlMs: h.ttlMs,
      now: h.now,
      self: this.self,
      isAlive: h.isAlive ?? defaultIsAlive,
      });
    });
  }

  /** `stamp` (from acquireLease): renew only the acquisition it names. */
  renewLease(holder: string, ttlMs: number, now: number, stamp: number): boolean {
    return this.write(() => {
      const held = this.lease.renew(holder, ttlMs, now, stamp);
      // The runs of this process are alive: a later process that finds them dead says since when.
      if (held) this.runs.seen(this.self, now);
      return held;
    });
  }

  /**
   * The fence (docs/design.md 4): the lease row still names `holder` with `stamp`. Read inside the start
   * transaction (src/apply/start-path.ts), so no takeover can come between this check and the start.
   */
  leaseHolds(holder: string, stamp: number): boolean {
    return this.lease.holds(holder, stamp);
  }

  /**
   * Never throws: a release that cannot be written (the database locked or full) is written at this
   * process's next acquisition, so its next run does not wait for the lease's expiry. False then.
   */
  releaseLease(holder: string): boolean {
    try {
      this.write(() => this.lease.release(holder));
      this.unreleased.delete(holder);
      return true;
    } catch {
      this.unreleased.add(holder);
      return false;
    }
  }

  leaseHolder(now: number): LeaseHolder | null {
    return this.lease.holder(now);
  }

  databaseSizeBytes(): number {
    const pages = Number(this.db.pragma('page_count', { simple: true }));
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    return pages * pageSize;
  }

  /**
   * Several ledger writes as ONE transaction (group commit, src/apply/group-commit.ts): one disk sync
   * instead of one per write. The writes inside join it without savepoints: one whose own check fails
   * rolls back the whole batch (group commit then fails every start of it).
   */
  batch<R>(fn: () => R): R {
    return this.handle.batch(fn);
  }

  /**
   * batch() whose commit does not wait for the disk (synchronous=NORMAL for this one transaction): it
   * survives a crash of this process at once, a power loss only once `synced()` has resolved. What
   * must be on disk before a PUT (the start's record) is released only after `synced()`.
   */
  batchUnsynced<R>(fn: () => R): R {
    this.handle.sql.get('PRAGMA synchronous = NORMAL').run();
    try {
      return this.handle.batch(fn);
    } finally {
      this.handle.sql.get('PRAGMA synchronous = FULL').run();
    }
  }

  /** Resolves once every commit made so far is on disk: an fsync of the WAL (src/ledger/wal-sync.ts: inline or on the thread pool, shared by concurrent callers). */
  synced(): Promise<void> {
    return this.walSync.sync().catch((e: unknown) => {
      throw storageError(this.path, e);
    });
  }

  private write<R>(fn: () => R): R {
    return this.handle.write(fn);
  }

  private guard<R>(fn: () => R): R {
    return this.handle.guard(fn);
  }

  private async guardAsync(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      throw storageError(this.path, e);
    }
  }
}
