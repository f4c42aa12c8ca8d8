// Gates: whatever may stop an attach from starting (rollout state and wave, ISO soak, error budget,
// shutdown, lease loss; maintenance windows and leadership plug in the same way). The planner asks
// every gate for each VM it would attach, and apply asks them again right before each attach starts,
// inside the SQLite write transaction that records the attach's ledger row, before its PUT. The
// first gate that refuses turns the attach into `defer/<reason>`, recorded in the ledger and report.
//
// The contract lives here, under every stage that asks or offers a gate; each gate lives with what it
// guards (the error budget in apply/, the leader gate in ha/, the rollout gate in rollout/, the window
// gate in schedule/, the lease fence in reconcile/).
//
// Adding a gate: implement AttachGate (a name, a cheap check, optionally refresh and stopsRun) and
// put it in the pass's gate list (PassOptions.gates of runPass, src/reconcile/pass.ts, or a PassHook's
// gates()). When several
// refuse, the reason that comes first in the precedence (docs/reference/reasons.md) wins (ties: the earlier gate).
import type { AgentType } from '../domain.js';
import { earlierReason, type DeferReason } from './reasons.js';

/** What a gate sees of an attach: the fields of a plan decision it may depend on. */
export interface GateSubject {
  vmUuid: string;
  agentType: AgentType;
  architecture: string | null;
  /** The catalog target the attach would mount. */
  target: string | null;
}

export interface AttachGate {
  /** Names the gate in logs, e.g. 'rollout', 'shutdown'. */
  readonly name: string;
  /** Why this attach must not start now, or null to let it start. Called per attach: keep it cheap. */
  check(subject: GateSubject, now: number): DeferReason | null;
  /**
   * Re-read shared state (another process's rollout commands). Apply calls it inside each write
   * transaction, before the checks of the attaches that transaction records, so no attach starts on
   * state older than the transaction's write lock.
   */
  refresh?(): void;
  /** A refusal holds for every later attach of the run (shutdown, lease loss, error budget): apply defers the rest at once. */
  readonly stopsRun?: boolean;
}

/** Told the outcome of every attach that started, inside the transaction that records it. */
export interface AttachObserver {
  onOutcome(subject: GateSubject, outcome: { failed: boolean; errorCode: string | null }, now: number): void;
}

/** The refusal among `gates` that wins by precedence, with the gate that refused. */
export function firstRefusal(gates: readonly AttachGate[], subject: GateSubject, now: number): { gate: AttachGate; reason: DeferReason } | null {
  let first: { gate: AttachGate; reason: DeferReason } | null = null;
  for (const gate of gates) {
    const reason = gate.check(subject, now);
    if (reason !== null && (first === null || earlierReason(first.reason, reason) !== first.reason)) first = { gate, reason };
  }
  return first;
}

/** A gate that refuses every attach with `reason` once `signal` has aborted (shutdown, lease loss). */
export function signalGate(name: string, reason: DeferReason, signal: AbortSignal): AttachGate {
  return { name, stopsRun: true, check: () => (signal.aborted ? reason : null) };
}
