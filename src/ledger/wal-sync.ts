// The disk sync of the ledger's write-ahead log (docs/performance.md). A commit made with
// synchronous=NORMAL is in the WAL file (the OS has it: it survives a crash of this process) but not yet
// on disk; sync() resolves once everything written to the WAL before the call is on disk.
//
// Where the fsync runs: on this thread while the disk is fast, on libuv's thread pool while it is slow.
// An fsync handed to the pool is answered only at the event loop's next turn, which at 50 attaches in
// flight is several milliseconds later: longer than a quick disk takes to sync (~0.2 ms), and every start
// of the batch waits for it. So a sync runs inline until one takes longer than INLINE_LIMIT_MS (the disk
// is busy: the MN's database shares it); the next POOL_AFTER_SLOW syncs then go to the pool, where the
// event loop keeps reading replies and sending polls while the disk works, and inline is tried again
// after them. A slow disk thus blocks the event loop for one fsync in every POOL_AFTER_SLOW + 1.
// Calls that arrive while a pool fsync is in flight share the next one: at most one fsync runs and one
// waits, whatever the number of commits.
//
// Why the WAL alone is enough: with WAL and synchronous=NORMAL, SQLite syncs the WAL before each
// checkpoint and the database file after it, so a frame is either still in the WAL (synced here) or
// already in the synced database file. The WAL file itself exists and its folder entry was synced by
// the FULL commits made when the ledger was opened and the run started, before any start.
//
// The file stays open between syncs (an open and a close per sync cost as much main-thread time as the
// fsync's dispatch): SQLite removes the WAL only when the last connection closes, and the ledger's own
// connection is open for as long as this object is used (Ledger.close closes both).
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface SyncTarget {
  /** fsync on the thread pool. */
  sync(): Promise<void>;
  /** fsync on this thread. */
  syncNow(): void;
  close(): void;
}

type OpenForSync = (file: string) => SyncTarget;

/** An inline fsync slower than this sends the next POOL_AFTER_SLOW to the thread pool. */
export const INLINE_LIMIT_MS = 2;
export const POOL_AFTER_SLOW = 32;

const openFile: OpenForSync = (file) => {
  const fd = openSync(file, 'r');
  return {
    sync: () => new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve()))),
    syncNow: () => fsyncSync(fd),
    close: () => closeSync(fd),
  };
};

export class WalSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private target: SyncTarget | null = null;
  /** Syncs still to hand to the pool after a slow inline one. */
  private pooled = 0;
  /** fsyncs started (tests; the benchmark counts the ledger's synced() calls through its profiler). */
  syncs = 0;
  /** Of them, those run on the thread pool. */
  pooledSyncs = 0;

  constructor(
    private readonly file: string,
    private readonly openForSync: OpenForSync = openFile,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Closes the kept file (the ledger's close; a failed sync, so the next one opens it again), after a pool fsync in flight. */
  close(): void {
    const target = this.target;
    this.target = null;
    if (target === null) return;
    const closeIt = () => {
      try {
        target.close();
      } catch {
        // Only ever read through: nothing to lose.
      }
    };
    if (this.running === null) closeIt();
    else void this.running.then(closeIt, closeIt);
  }

  /** Resolves once everything written to the file before this call is on disk; rejects with the fsync's error. */
  sync(): Promise<void> {
    if (this.running === null && this.queued === null) return this.pooled === 0 ? this.inline() : this.start();
    // The fsync in flight may have begun before this caller's write: wait for the next one.
    this.queued ??= (this.running ?? Promise.resolve()).then(noop, noop).then(() => {
      this.queued = null;
      return this.start();
    });
    return this.queued;
  }

  private inline(): Promise<void> {
    this.syncs++;
    const t0 = this.now();
    try {
      this.open().syncNow();
    } catch (error) {
      this.close();
      return Promise.reject(error);
    }
    if (this.now() - t0 > INLINE_LIMIT_MS) this.pooled = POOL_AFTER_SLOW;
    return Promise.resolve();
  }

  private open(): SyncTarget {
    this.target ??= this.openForSync(this.file);
    return this.target;
  }

  private start(): Promise<void> {
    this.syncs++;
    this.pooledSyncs++;
    this.pooled = Math.max(0, this.pooled - 1);
    let p: Promise<void>;
    try {
      const target = this.open();
      p = target.sync().catch((error: unknown) => {
        if (this.target === target) this.close();
        throw error;
      });
    } catch (error) {
      this.close();
      p = Promise.reject(error);
    }
    p = p.finally(() => {
      if (this.running === p) this.running = null;
    });
    this.running = p;
    return p;
  }
}

function noop(): void {}
