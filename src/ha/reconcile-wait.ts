// `gtr reconcile` on a node of a pair (ha.peer) waits, as the daemon does, until its ledger has caught
// up with the peer's (docs/design.md 7): a node that just became leader may hold an old copy, and a run
// planned from it would attach again what the old leader attached since. The one-shot command does not
// put snapshots in place itself (the daemon of this node does, and two processes must not): it asks the
// peer for its facts (HEAD /ha/snapshot, no snapshot made) and reads this node's sync record, with the
// same rule as the daemon (src/ha/catch-up.ts), until that rule says go, for at most 2 x ha.syncInterval.
// It waits before taking the lease: the daemon does not put a snapshot in place while the lease is held.
import type { Logger } from 'pino';
import { GtrError, messageOf } from '../errors.js';
import { catchUpVerdict, copyIsFresh, describeAge, recordAsOf, type ReadyBasis } from './catch-up.js';
import { peerFacts, type Peer } from './peer-client.js';
import { readSyncRecord } from './sync-record.js';

const POLL_MS = 500;

interface CatchUpWaitOptions {
  peer: Peer;
  /** The ledger's path: the sync record is next to it. */
  database: string;
  syncIntervalMs: number;
  logger: Logger;
  /** False once this node is no longer the leader (then the wait ends with GTR_NOT_LEADER). */
  leads: () => boolean;
  /** Aborted by SIGINT/SIGTERM: the wait ends at once. */
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Resolves with why this node may attach, as a basis and in words (its ledger is as new as the peer's,
 * or the peer is down and the daemon's rule says go on); throws GTR_HA_NOT_CAUGHT_UP, naming the
 * reason, when it still may not after 2 x ha.syncInterval.
 */
export async function waitForCatchUp(o: CatchUpWaitOptions): Promise<{ basis: ReadyBasis; why: string }> {
  const now = o.now ?? Date.now;
  const started = now();
  const boundMs = 2 * o.syncIntervalMs;
  let told: string | null = null;
  for (let round = 0; ; round++) {
    const at = now();
    const ownAsOf = recordAsOf(readSyncRecord(o.database));
    let why: string;
    try {
      const verdict = catchUpVerdict(await peerFacts(o.peer), ownAsOf);
      if (verdict.kind === 'keep-ours') return { basis: 'as-new', why: "our ledger is as new as the peer's" };
      why = verdict.kind === 'wait' ? verdict.why : "the peer has newer writes; this node's daemon puts its ledger snapshot in place";
    } catch (error) {
      // The peer is down or refuses: the daemon's rule (src/ha/ledger-sync.ts catchUp).
      const problem = messageOf(error);
      const age = describeAge(ownAsOf, at);
      if (copyIsFresh(ownAsOf, at, o.syncIntervalMs)) return { basis: 'peer-unavailable-fresh', why: `peer unavailable (${problem}); our ledger is fresh (${age})` };
      if (at - started >= boundMs) return { basis: 'peer-unavailable-timeout', why: `peer unavailable for 2 x ha.syncInterval (${problem}); going on with our ledger (${age})` };
      why = `ledger snapshot stale (${age}), re-syncing: ${problem}`;
    }
    if (!o.leads()) throw new GtrError('GTR_NOT_LEADER', 'this node stopped being the leader while its ledger caught up; nothing was attached');
    if (at - started >= boundMs) {
      throw new GtrError('GTR_HA_NOT_CAUGHT_UP',
        `this node leads but its ledger has not caught up with the peer's after ${Math.round(boundMs / 1000)} s (2 x ha.syncInterval): ${why}; nothing was attached`,
        { details: { peer: o.peer.url, reason: why } });
    }
    // One line per kind of reason (the snapshot's age in it changes every time), once the wait is real:
    // a peer's daemon is "in a run" for a moment at each of its ticks, even as a standby.
    const kind = why.replace(/\d+/g, 'N');
    if (round > 0 && kind !== told) o.logger.warn({ peer: o.peer.url, reason: why }, 'ledger not caught up with the peer yet: waiting before attaching');
    if (round > 0) told = kind;
    await pause(POLL_MS, o.signal);
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GtrError('GTR_ABORTED', 'stopped by a signal while waiting for the ledger to catch up'));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(new GtrError('GTR_ABORTED', 'stopped by a signal while waiting for the ledger to catch up'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
