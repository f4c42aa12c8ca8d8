// What a node of a pair decides about its ledger, shared by the daemon's sync loop (src/ha/ledger-sync.ts)
// and a one-shot `gtr reconcile` (src/ha/reconcile-wait.ts), so both follow one rule (docs/design.md 7):
// - a run is under way on a node while its daemon runs one or anyone holds the node's lease (a daemon
//   tick, `gtr reconcile`, a rollout step): its outcomes are not all recorded yet, so its ledger is
//   neither replaced nor taken by the peer meanwhile;
// - a node that leads but has not caught up takes its peer's ledger only when the peer's own writes are
//   newer than its own, and waits while the peer still leads or has a run under way.
import { defaultIsAlive, type IsAlive, type Ledger, type LeaseHolder } from '../ledger/index.js';
import type { PeerFacts } from './peer-facts.js';
import type { SyncRecord } from './sync-record.js';

/**
 * The lease's holder while it holds it (unexpired), whoever it is; null when free or expired, or when
 * its holder is provably gone on this host (the next run takes it over: section 6).
 */
export function leaseInUse(ledger: Ledger, now: number, isAlive: IsAlive = defaultIsAlive): LeaseHolder | null {
  const holder = ledger.leaseHolder(now);
  if (holder === null) return null;
  return isAlive({ host: holder.host, pid: holder.pid, bootId: holder.bootId, startTime: holder.startTime }) ? holder : null;
}

/**
 * Why a new leader goes on attaching, as a log field (beside the prose `why`): it took the peer's newer
 * ledger, its own is as new, or the peer is unavailable and its copy is fresh, or 2 x ha.syncInterval passed.
 */
export type ReadyBasis = 'caught-up' | 'as-new' | 'peer-unavailable-fresh' | 'peer-unavailable-timeout';

type CatchUpVerdict = { kind: 'take' } | { kind: 'keep-ours' } | { kind: 'wait'; why: string };

/** A node that leads but has not caught up, looking at its peer's facts; `ownAsOf`: up to when its own ledger is complete. */
export function catchUpVerdict(f: PeerFacts, ownAsOf: number | null): CatchUpVerdict {
  if (f.role === 'leader') return { kind: 'wait', why: 'the peer still says it is the leader; waiting for it to step down' };
  if (f.runInProgress) return { kind: 'wait', why: "waiting for the peer's run to finish" };
  // Only the peer's own writes are newer truth: a copy it synced from us is never newer than ours.
  if (f.ledUntil !== null && (ownAsOf === null || f.ledUntil > ownAsOf)) return { kind: 'take' };
  return { kind: 'keep-ours' };
}

/** Up to when a node's ledger is known complete from its sync record alone (not while it leads: then it is now). */
export function recordAsOf(record: SyncRecord): number | null {
  const { syncedAt, leaderUntil } = record;
  if (syncedAt === null) return leaderUntil;
  return leaderUntil === null ? syncedAt : Math.max(syncedAt, leaderUntil);
}

/** A copy at most 2 x ha.syncInterval old: a new leader whose peer is unreachable goes on with it at once. */
export function copyIsFresh(asOf: number | null, now: number, syncIntervalMs: number): boolean {
  return asOf !== null && now - asOf <= 2 * syncIntervalMs;
}

export function describeAge(asOf: number | null, now: number): string {
  return asOf === null ? 'no snapshot yet' : `snapshot ${Math.round((now - asOf) / 1000)} s old`;
}
