// The pass as every entry point runs it (`gtr plan`, `gtr reconcile`, the daemon's ticks): the lease
// (real runs), the standard gates (shutdown, leadership, then the entry point's own), the rollout hook,
// and the run itself (src/reconcile/run.ts: recovery, observe, plan, apply, verify, record).
import type { HaRoleSource } from '../ha/role.js';
import { leaderGate } from '../ha/leader-gate.js';
import { signalGate, type AttachGate } from '../plan/gates.js';
import { withLease } from './lease.js';
import type { RunReport } from './report.js';
import { rolloutHook } from './rollout-hook.js';
import { reconcile, type ReconcileDeps, type ReconcileOptions } from './run.js';

interface PassOptions extends Pick<ReconcileOptions, 'trigger' | 'dryRun' | 'vmUuids' | 'limit' | 'onProgress'> {
  /** Who holds the lease in `gtr status` ('reconcile', 'daemon'); real runs only. */
  leasePurpose: string;
  /** Who the rollout hook records as the actor of the steps it takes. */
  actor: string;
  /** Aborted once no new attach may start (a signal, the daemon stopping): the `shutdown` gate. */
  stopStarting?: AbortSignal;
  /** This node's role in a pair of management nodes (ha.leaderCheck): the `leader` gate. */
  leader?: HaRoleSource;
  /** The entry point's own gates, asked after the standard ones (the daemon's ledger catch-up). */
  gates?: readonly AttachGate[];
}

/** One pass; a real one under the lease (GTR_LEASE_HELD when another run holds it). */
export async function runPass(deps: ReconcileDeps, opts: PassOptions): Promise<{ report: RunReport; exitCode: number }> {
  const { leasePurpose, actor, stopStarting, leader, gates = [], ...run } = opts;
  const once = (fence?: AttachGate) =>
    reconcile(deps, {
      ...run,
      fence,
      gates: [
        ...(stopStarting ? [signalGate('shutdown', 'shutdown', stopStarting)] : []),
        ...(leader ? [leaderGate(leader)] : []),
        ...gates,
      ],
      hooks: [rolloutHook(deps, actor)],
    });
  if (opts.dryRun) return once();
  return withLease(deps.ledger, { purpose: leasePurpose, now: deps.now, logger: deps.logger }, (fence) => once(fence));
}
