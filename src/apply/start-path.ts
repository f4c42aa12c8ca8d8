// The one way to start a change in ZStack (docs/design.md 2). Every PUT that changes something (an
// attach, its re-send after ID.1001, a detach; later the install) needs a start permit, and this is
// the only place that issues them: in ONE SQLite write transaction it
//   1. re-reads shared state (each gate's refresh: rollout commands of other processes, the lease row),
//   2. asks every gate, the fence among them (the lease row still names this run: holder and stamp),
//   3. records the start (the job uuid, before the PUT) or the refusal,
// and only after that commit does the permit exist. The ZStack client asks for the permit after it has
// its credentials, right before the PUT, so no start rests on a decision taken before a login round
// trip or any other await. Transactions are shared by the starts of one turn of the event loop (group
// commit, group-commit.ts); the fence and the gates are re-read in each.
import type { DeferReason } from '../plan/reasons.js';
import { firstRefusal, type AttachGate, type GateSubject } from '../plan/gates.js';
import { StartPermit, type StartApi } from '../zstack/client.js';
import { GroupCommit, type BatchingLedger } from './group-commit.js';

export interface Refusal {
  gate: AttachGate;
  reason: DeferReason;
}

export type StartAnswer = { permit: StartPermit; refusal: null } | { permit: null; refusal: Refusal };

interface StartRequest {
  api: StartApi;
  /** What the gates judge; its vmUuid is the permit's subject (a VM, or a script's resourceUuid). */
  subject: GateSubject;
  /** Chosen by the caller; recorded by `record` before the permit is issued. */
  jobUuid: string;
  /** Records the start (inside the transaction). */
  record(): void;
  /** Records the refusal (inside the transaction). */
  refused?(refusal: Refusal): void;
}

interface ManyRequest {
  api: StartApi;
  /** Every VM the request starts something on. */
  subjects: readonly GateSubject[];
  /** The permit's subject (executeSubject(script, VMs)). */
  permitSubject: string;
  jobUuid: string;
  /** Records the start of all of them (inside the transaction). */
  record(): void;
  /** Records the refusals (inside the transaction); nothing is started then. */
  refused(refusals: ReadonlyMap<string, Refusal>): void;
}

export class StartPath {
  private constructor(
    private readonly commits: GroupCommit,
    private readonly gates: readonly AttachGate[],
    private readonly now: () => number,
  ) {}

  /**
   * `fence` is the run's lease (src/reconcile/lease.ts): required, so no start path exists without it.
   * `gates` are the run's other gates (window, shutdown, leader, ...).
   */
  static open(ledger: BatchingLedger, fence: AttachGate, gates: readonly AttachGate[], now: () => number): StartPath {
    return new StartPath(new GroupCommit(ledger), [], now).withGates([fence, ...gates]);
  }

  /** The same transactions with more gates (the rollout gate, a run's error budget). */
  withGates(more: readonly AttachGate[]): StartPath {
    for (const gate of more) if (gate.refresh) this.commits.addRefresh(() => gate.refresh?.());
    return new StartPath(this.commits, [...this.gates, ...more], this.now);
  }

  /** Every gate of this path, for the planner's and apply's early checks (which never start anything). */
  get allGates(): readonly AttachGate[] {
    return this.gates;
  }

  /** Decides and records in one write transaction; resolves once it is committed. */
  start(r: StartRequest): Promise<StartAnswer> {
    return this.commits.begin((): StartAnswer => {
      const refusal = firstRefusal(this.gates, r.subject, this.now());
      if (refusal) {
        r.refused?.(refusal);
        return { permit: null, refusal };
      }
      r.record();
      return { permit: StartPermit.issue(r.api, r.subject.vmUuid, r.jobUuid), refusal: null };
    });
  }

  /**
   * One start for several VMs (ExecuteGuestVmScript on a batch): every VM is gated in the same
   * transaction. Only when none is refused is the start recorded and a permit for `permitSubject`
   * issued; otherwise the refusals are recorded and returned, nothing is permitted, and the caller
   * asks again for the VMs that were let through (a new request with its own permit).
   */
  startMany(r: ManyRequest): Promise<{ permit: StartPermit | null; refusals: Map<string, Refusal> }> {
    return this.commits.begin(() => {
      const refusals = new Map<string, Refusal>();
      const now = this.now();
      for (const subject of r.subjects) {
        const refusal = firstRefusal(this.gates, subject, now);
        if (refusal) refusals.set(subject.vmUuid, refusal);
      }
      if (refusals.size > 0) {
        r.refused(refusals);
        return { permit: null, refusals };
      }
      r.record();
      return { permit: StartPermit.issue(r.api, r.permitSubject, r.jobUuid), refusals };
    });
  }

  /** An outcome, committed with the next transaction (or at flush()). */
  finish(write: () => void): void {
    this.commits.finish(write);
  }

  /** Commits everything still queued; throws the first failure of any transaction. */
  flush(): void {
    this.commits.flush();
  }
}
