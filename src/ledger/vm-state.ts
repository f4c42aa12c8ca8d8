// Per-VM memory across runs: last seen version, last attach, failures in a row, quarantine, regression.
// Callers wrap these in transactions; nothing here opens one.
import { compareVersions, parseVersion } from '../tools-version.js';
import type { Statements } from './db.js';
import type { QuarantinePolicy, VmState } from './types.js';

interface VmStateRow {
  vm_uuid: string;
  last_seen_version: string | null;
  last_attach_target: string | null;
  last_attach_at: number | null;
  consecutive_failures: number;
  quarantine_until: number | null;
  regression: string | null;
  attempts: number;
  attempts_target: string | null;
  last_attach_tagged: number;
  last_attach_failed: number;
  retried_at: number | null;
}

export interface Regression {
  vmUuid: string;
  from: string;
  to: string;
}

const SELECT = `SELECT vm_uuid, last_seen_version, last_attach_target, last_attach_at, consecutive_failures,
  quarantine_until, regression, attempts, attempts_target, last_attach_tagged, last_attach_failed, retried_at FROM vm_state`;

/** An attach that went through (or may have): one more attempt of its target, or the first of a new one. */
const COUNT_ATTEMPT = `attempts = CASE WHEN vm_state.attempts_target IS vm_state.last_attach_target THEN vm_state.attempts + 1 ELSE 1 END,
  attempts_target = vm_state.last_attach_target`;

export class VmStates {
  constructor(private readonly sql: Statements) {}

  /**
   * An attach starts (written before its PUT). Whatever failed before, this attach may run from now
   * on: last_attach_failed is cleared, so the planner waits (awaiting-install) until its outcome says
   * it did not happen. The failure count is kept for the quarantine.
   */
  noteAttach(vmUuid: string, target: string, now: number, tagged: boolean): void {
    this.sql
      .get<[string, string, number, number]>(
        `INSERT INTO vm_state (vm_uuid, last_attach_target, last_attach_at, last_attach_tagged, last_attach_failed) VALUES (?, ?, ?, ?, 0)
         ON CONFLICT (vm_uuid) DO UPDATE SET last_attach_target = excluded.last_attach_target,
           last_attach_at = excluded.last_attach_at, last_attach_tagged = excluded.last_attach_tagged, last_attach_failed = 0`,
      )
      .run(vmUuid, target, now, tagged ? 1 : 0);
  }

  /** The MN rejected the last attach before running it (and it was not sent again): nothing waits to be installed. */
  didNotRun(vmUuid: string): void {
    this.sql.get<[string]>('UPDATE vm_state SET last_attach_failed = 1 WHERE vm_uuid = ?').run(vmUuid);
  }

  succeeded(vmUuid: string): void {
    this.sql
      .get<[string]>(
        `INSERT INTO vm_state (vm_uuid) VALUES (?)
         ON CONFLICT (vm_uuid) DO UPDATE SET consecutive_failures = 0, quarantine_until = NULL, ${COUNT_ATTEMPT}`,
      )
      .run(vmUuid);
  }

  /** `gtr retry`: forgets failures, quarantine and attempts; false when nothing is recorded for the VM. */
  /** The VMs whose newest recorded decision carries one of these names (`gtr retry --vm NAME`). */
  named(names: readonly string[]): { uuid: string; name: string }[] {
    return this.sql
      .get<[string], { uuid: string; name: string }>(
        `SELECT s.vm_uuid AS uuid, d.vm_name AS name FROM vm_state s
           JOIN decisions d ON d.id = (SELECT id FROM decisions WHERE vm_uuid = s.vm_uuid ORDER BY run_id DESC LIMIT 1)
          WHERE d.vm_name IN (SELECT value FROM json_each(?)) ORDER BY s.vm_uuid`,
      )
      .all(JSON.stringify(names));
  }

  retry(vmUuid: string, now: number): boolean {
    return this.sql
      .get<[number, string]>('UPDATE vm_state SET consecutive_failures = 0, quarantine_until = NULL, attempts = 0, retried_at = ? WHERE vm_uuid = ?')
      .run(now, vmUuid).changes === 1;
  }

  /**
   * An attach whose outcome is unknown (it may still run): no failure is counted, so the planner waits
   * for reattachAfter instead of retrying at once; an existing quarantine stays.
   */
  inDoubt(vmUuid: string): void {
    // It may have run: it counts as an attempt, so a VM whose attaches never resolve cannot loop forever.
    this.sql.get<[string]>(`UPDATE vm_state SET consecutive_failures = 0, ${COUNT_ATTEMPT} WHERE vm_uuid = ?`).run(vmUuid);
  }

  /**
   * Counts a failure in a row. With a policy, from `afterFailures` on the VM is quarantined for a
   * doubling, capped length; without one (a job resolved after a crash) an existing quarantine stays.
   */
  failed(vmUuid: string, now: number, quarantine: QuarantinePolicy | null): void {
    const failures = (this.get(vmUuid)?.consecutiveFailures ?? 0) + 1;
    const until = quarantine ? (quarantineUntil(failures, now, quarantine) ?? null) : null;
    this.sql
      .get<[string, number, number | null, number]>(
        `INSERT INTO vm_state (vm_uuid, consecutive_failures, quarantine_until, last_attach_failed) VALUES (?, ?, ?, 1)
         ON CONFLICT (vm_uuid) DO UPDATE SET consecutive_failures = excluded.consecutive_failures, last_attach_failed = 1,
           quarantine_until = CASE WHEN ? THEN excluded.quarantine_until ELSE vm_state.quarantine_until END`,
      )
      .run(vmUuid, failures, until, quarantine ? 1 : 0);
  }

  /**
   * VM uuid -> last seen version, for the VMs of `observed` whose version differs from it (or that have
   * none yet): one pass over the table, so a run writes only what changed, not a row per VM.
   */
  changedVersions(observed: ReadonlyMap<string, string | null>): Map<string, string | null> {
    const changed = new Map<string, string | null>();
    const known = new Set<string>();
    for (const row of this.sql.get<[], { vm_uuid: string; last_seen_version: string | null }>('SELECT vm_uuid, last_seen_version FROM vm_state').iterate()) {
      const seen = observed.get(row.vm_uuid);
      if (seen === undefined) continue;
      known.add(row.vm_uuid);
      if (seen !== null && seen !== row.last_seen_version) changed.set(row.vm_uuid, row.last_seen_version);
    }
    for (const [vmUuid, seen] of observed) if (seen !== null && !known.has(vmUuid)) changed.set(vmUuid, null);
    return changed;
  }

  /**
   * Records an observed version; returns (and stores) it when it went backwards. `before` is the last
   * seen version when the caller already read it (undefined: read it here). last_seen_at is when this
   * version was first seen: unchanged versions are not written again.
   */
  observe(vmUuid: string, version: string | null, now: number, known?: string | null): Regression | null {
    if (version === null) return null; // no report: keep the last known version for the next comparison
    const before = known !== undefined ? known : (this.get(vmUuid)?.lastSeenVersion ?? null);
    const seen = parseVersion(version);
    const old = before === null ? null : parseVersion(before);
    const order = seen && old ? compareVersions(seen, old) : 0;
    const regression = order < 0 && before !== null ? { vmUuid, from: before, to: version } : null;
    this.sql
      .get<[string, string, number, string | null, number | null, number, number]>(
        `INSERT INTO vm_state (vm_uuid, last_seen_version, last_seen_at, regression, regression_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (vm_uuid) DO UPDATE SET last_seen_version = excluded.last_seen_version,
           last_seen_at = excluded.last_seen_at,
           regression = CASE WHEN excluded.regression IS NOT NULL THEN excluded.regression
                             WHEN ? > 0 THEN NULL ELSE vm_state.regression END,
           regression_at = CASE WHEN excluded.regression IS NOT NULL THEN excluded.regression_at
                                WHEN ? > 0 THEN NULL ELSE vm_state.regression_at END`,
      )
      .run(vmUuid, version, now, regression ? `${before} -> ${version}` : null, regression ? now : null, order, order);
    return regression;
  }

  get(vmUuid: string): VmState | null {
    const row = this.sql.get<[string], VmStateRow>(`${SELECT} WHERE vm_uuid = ?`).get(vmUuid);
    return row ? toState(row) : null;
  }

  /** VM uuid -> key of its last stored decision, for the VMs that have one (src/ledger/decision-keys.ts). */
  decisionKeys(): Map<string, string> {
    const map = new Map<string, string>();
    const rows = this.sql
      .get<[], { vm_uuid: string; last_decision_key: string }>(
        'SELECT vm_uuid, last_decision_key FROM vm_state WHERE last_decision_key IS NOT NULL',
      )
      .iterate();
    for (const row of rows) map.set(row.vm_uuid, row.last_decision_key);
    return map;
  }

  /** Sets (or, with null, clears) the key of a VM's last stored decision and the run that stored it. */
  setDecisionKey(vmUuid: string, key: string | null, runId: number | null): void {
    this.sql
      .get<[string, string | null, number | null]>(
        `INSERT INTO vm_state (vm_uuid, last_decision_key, last_decision_run) VALUES (?, ?, ?)
         ON CONFLICT (vm_uuid) DO UPDATE SET last_decision_key = excluded.last_decision_key,
           last_decision_run = excluded.last_decision_run`,
      )
      .run(vmUuid, key, runId);
  }

  /** Keys whose row went with a deleted run are cleared: the VM's next decision is stored again. */
  forgetDeletedDecisionRuns(): void {
    this.sql
      .get<[]>(
        `UPDATE vm_state SET last_decision_key = NULL, last_decision_run = NULL
          WHERE last_decision_key IS NOT NULL AND last_decision_run NOT IN (SELECT id FROM runs)`,
      )
      .run();
  }

  /**
   * The states that can change a plan at `now`: a quarantine still running, an attach within
   * `reattachAfterMs`, `maxAttempts` attempts, a tag we sent, or one of `alsoVms` (the VMs whose guest
   * reported an install failure: src/plan/plan.ts reads nothing else). Far fewer than every VM of a large fleet.
   */
  planHistory(now: number, reattachAfterMs: number, maxAttempts: number, alsoVms: readonly string[]): Map<string, VmState> {
    const map = new Map<string, VmState>();
    const rows = this.sql
      .get<[number, number, number, string], VmStateRow>(
        `${SELECT} WHERE quarantine_until > ? OR last_attach_at > ? OR attempts >= ? OR last_attach_tagged = 1
           OR vm_uuid IN (SELECT value FROM json_each(?))`,
      )
      .iterate(now, now - reattachAfterMs, maxAttempts, JSON.stringify(alsoVms));
    for (const row of rows) map.set(row.vm_uuid, toState(row));
    return map;
  }

  all(): Map<string, VmState> {
    const map = new Map<string, VmState>();
    for (const row of this.sql.get<[], VmStateRow>(SELECT).iterate()) map.set(row.vm_uuid, toState(row));
    return map;
  }
}

/** now + base * 2^(failures - afterFailures), capped at maxMs; undefined below the threshold. */
export function quarantineUntil(failures: number, now: number, q: QuarantinePolicy): number | undefined {
  const after = Math.max(1, q.afterFailures);
  if (failures < after) return undefined;
  const exponent = Math.min(failures - after, 52); // past 2^52 the cap applies anyway; avoids Infinity
  return now + Math.min(q.maxMs, q.baseMs * 2 ** exponent);
}

function toState(row: VmStateRow): VmState {
  return {
    vmUuid: row.vm_uuid,
    lastSeenVersion: row.last_seen_version,
    lastAttachTarget: row.last_attach_target,
    lastAttachAt: row.last_attach_at,
    consecutiveFailures: row.consecutive_failures,
    quarantineUntil: row.quarantine_until,
    regression: row.regression,
    attempts: row.attempts,
    attemptsTarget: row.attempts_target,
    lastAttachTagged: row.last_attach_tagged === 1,
    lastAttachFailed: row.last_attach_failed === 1,
    retriedAt: row.retried_at,
  };
}
