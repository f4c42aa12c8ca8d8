// Reads of the install tables for `gtr status` and the status page (issue 23 step 7): the funnel per
// group of the ISOs this reconciler attached (attached -> installing -> verified -> detached), and the
// failed installs of the targets still attached, with their cause. Only attached_isos rows count: a VM
// we never attached is in no funnel. The group and the VM's name come from its newest stored decision.
import type { Statements } from './db.js';

/** Where one attached ISO stands; every attached VM is in exactly one. */
export type FunnelStage = 'awaiting' | 'installing' | 'verified' | 'detached' | 'detach-failed' | 'install-failed' | 'no-evidence';

export interface FunnelCount {
  agentType: string | null;
  architecture: string | null;
  target: string;
  stage: FunnelStage;
  count: number;
}

export interface InstallFailure {
  vmUuid: string;
  vmName: string | null;
  agentType: string | null;
  architecture: string | null;
  target: string;
  /** 'install-failed' (the guest or the MN said so) or 'failed' (no evidence by install.timeout). */
  state: 'install-failed' | 'failed';
  reason: string | null;
  errCause: string | null;
  stderrTail: string | null;
  /** The run that started the install, and the one that read its evidence. */
  startedBy: number;
  settledBy: number | null;
  /** Epoch ms. */
  finishedAt: number | null;
}

// The newest stored decision of the VM (decisions_by_vm): its group and name.
const NEWEST_DECISION = '(SELECT id FROM decisions WHERE vm_uuid = a.vm_uuid ORDER BY run_id DESC LIMIT 1)';

// A detach (done or refused) follows the guest's confirmation (src/reconcile/run.ts), so it implies verified.
const FUNNEL = `
  SELECT d.agent_type, d.architecture, a.target,
         CASE WHEN a.detached_at IS NOT NULL THEN 'detached'
              WHEN a.detach_error IS NOT NULL THEN 'detach-failed'
              WHEN a.verified_at IS NOT NULL OR i.state = 'verified' THEN 'verified'
              WHEN i.state = 'installing' THEN 'installing'
              WHEN i.state = 'install-failed' THEN 'install-failed'
              WHEN i.state = 'failed' THEN 'no-evidence'
              ELSE 'awaiting' END AS stage,
         count(*) AS n
    FROM attached_isos a
    LEFT JOIN installs i ON i.vm_uuid = a.vm_uuid AND i.target = a.target
    LEFT JOIN decisions d ON d.id = ${NEWEST_DECISION}
   GROUP BY d.agent_type, d.architecture, a.target, stage
   ORDER BY d.agent_type, d.architecture, a.target, stage`;

// Failures of the target still attached and not confirmed since (a newer attach replaces the row, a
// re-armed one is 'rearmed', and a guest on the target after all is in the funnel's verified).
const FAILED_FROM = 'FROM installs i JOIN attached_isos a ON a.vm_uuid = i.vm_uuid AND a.target = i.target';
const FAILED_WHERE = "WHERE i.state IN ('install-failed', 'failed') AND a.verified_at IS NULL AND a.detached_at IS NULL AND a.detach_error IS NULL";

export class InstallFunnel {
  constructor(private readonly sql: Statements) {}

  counts(): FunnelCount[] {
    return this.sql.get<[], { agent_type: string | null; architecture: string | null; target: string; stage: FunnelStage; n: number }>(FUNNEL).all()
      .map((r) => ({ agentType: r.agent_type, architecture: r.architecture, target: r.target, stage: r.stage, count: r.n }));
  }

  /** One page of the failed installs, newest first. */
  failures(limit: number, offset: number): { total: number; rows: InstallFailure[] } {
    const total = this.sql.get<[], { n: number }>(`SELECT count(*) AS n ${FAILED_FROM} ${FAILED_WHERE}`).get()?.n ?? 0;
    const rows = this.sql.get<[number, number], {
      vm_uuid: string; vm_name: string | null; agent_type: string | null; architecture: string | null; target: string; state: 'install-failed' | 'failed';
      reason: string | null; err_cause: string | null; stderr_tail: string | null; run_id: number; settled_run: number | null; finished_at: number | null;
    }>(
      `SELECT i.vm_uuid, d.vm_name, d.agent_type, d.architecture, i.target, i.state, i.reason, i.err_cause, i.stderr_tail, i.run_id, i.settled_run, i.finished_at
         ${FAILED_FROM} LEFT JOIN decisions d ON d.id = ${NEWEST_DECISION} ${FAILED_WHERE}
        ORDER BY i.finished_at DESC, i.vm_uuid LIMIT ? OFFSET ?`,
    ).all(limit, offset);
    return {
      total,
      rows: rows.map((r) => ({
        vmUuid: r.vm_uuid, vmName: r.vm_name, agentType: r.agent_type, architecture: r.architecture, target: r.target, state: r.state, reason: r.reason,
        errCause: r.err_cause, stderrTail: r.stderr_tail, startedBy: r.run_id, settledBy: r.settled_run, finishedAt: r.finished_at,
      })),
    };
  }
}
