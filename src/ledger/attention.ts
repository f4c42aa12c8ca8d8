// VMs that need a person, from per-VM state: failures in a row, a quarantine, a regression, or a last
// stored decision with one of the given reasons; each with its newest decision row and newest error.
// Paged, ordered by VM uuid; read from vm_state first, so the cost follows the VMs listed, not the fleet.
import type { Statements } from './db.js';

export interface AttentionRow {
  vmUuid: string;
  vmName: string | null;
  failures: number;
  /** Epoch ms; only when still in force. */
  quarantineUntil: number | null;
  regression: string | null;
  runId: number | null;
  action: string | null;
  reason: string | null;
  current: string | null;
  target: string | null;
  outcome: string | null;
  error: { code: string; description: string; details: string } | null;
}

interface Row {
  vm_uuid: string;
  consecutive_failures: number;
  quarantine_until: number | null;
  regression: string | null;
  run_id: number | null;
  vm_name: string | null;
  action: string | null;
  reason: string | null;
  current_version: string | null;
  target_version: string | null;
  outcome: string | null;
  error_code: string | null;
  error_description: string | null;
  error_details: string | null;
}

const WHERE = `consecutive_failures > 0 OR quarantine_until > @now OR regression IS NOT NULL
  OR json_extract(last_decision_key, '$[1]') IN (SELECT value FROM json_each(@reasons))`;

export class Attention {
  constructor(private readonly sql: Statements) {}

  page(now: number, reasons: readonly string[], limit: number, offset: number): { total: number; rows: AttentionRow[] } {
    const params = { now, reasons: JSON.stringify(reasons) };
    const total = this.sql.get<[typeof params], { n: number }>(`SELECT count(*) AS n FROM vm_state WHERE ${WHERE}`).get(params)?.n ?? 0;
    const rows = this.sql
      .get<[typeof params & { limit: number; offset: number }], Row>(
        `WITH a AS (SELECT vm_uuid, consecutive_failures, quarantine_until, regression FROM vm_state WHERE ${WHERE}
                     ORDER BY vm_uuid LIMIT @limit OFFSET @offset)
         SELECT a.*, d.run_id, d.vm_name, d.action, d.reason, d.current_version, d.target_version, d.outcome, e.error_code, e.error_description, e.error_details
           FROM a LEFT JOIN decisions d ON d.id = (SELECT id FROM decisions WHERE vm_uuid = a.vm_uuid ORDER BY run_id DESC LIMIT 1)
           LEFT JOIN decisions e ON e.id = (SELECT id FROM decisions WHERE vm_uuid = a.vm_uuid AND error_code IS NOT NULL ORDER BY run_id DESC LIMIT 1)
          ORDER BY a.vm_uuid`,
      )
      .all({ ...params, limit, offset });
    return {
      total,
      rows: rows.map((r) => ({
        vmUuid: r.vm_uuid,
        vmName: r.vm_name,
        failures: r.consecutive_failures,
        quarantineUntil: r.quarantine_until !== null && r.quarantine_until > now ? r.quarantine_until : null,
        regression: r.regression,
        runId: r.run_id,
        action: r.action,
        reason: r.reason,
        current: r.current_version,
        target: r.target_version,
        outcome: r.outcome,
        error: r.error_code === null ? null : { code: r.error_code, description: r.error_description ?? '', details: r.error_details ?? '' },
      })),
    };
  }
}
