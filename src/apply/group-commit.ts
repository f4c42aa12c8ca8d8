// Group commit for the attach bookkeeping. With synchronous=FULL every SQLite commit waits for the
// disk (an fsync, ~0.2 ms on a quiet disk and tens of ms on a busy one), on the event loop. So:
// - Writes asked for in the same turn of the event loop share one transaction.
// - That transaction commits without waiting for the disk (Ledger.batchUnsynced: it survives a crash
//   of this process at once), then the disk sync follows (Ledger.synced: an fsync of the WAL, on this
//   thread while the disk is fast, on the thread pool while it is slow, where it is shared by every
//   commit made while it waited and the event loop keeps reading replies, sending polls and committing
//   the next batch meanwhile; src/ledger/wal-sync.ts, docs/performance.md).
// - begin: the caller awaits it, and it resolves only once its transaction is ON DISK, so a PUT still
//   leaves only after its row (with the job uuid) is durable: the pre-PUT record is as before.
// - finish: not awaited; it commits with the next batch and reaches the disk with the next sync, or at
//   flush() (a synchronous FULL commit). A power loss before that leaves the attach 'pending' with its
//   job uuid, which the next start polls, as for a crash during the call.
// Without `batch` (test doubles), every write runs at once in its own transaction; without
// `batchUnsynced` and `synced`, each batch is one FULL commit on the event loop.

export interface BatchingLedger {
  /** Runs `fn` as one transaction; the ledger's own writes inside it join it (a failure rolls back all of it). */
  batch?<R>(fn: () => R): R;
  /** batch() whose commit does not wait for the disk; `synced()` then resolves once it is on disk. */
  batchUnsynced?<R>(fn: () => R): R;
  /** Resolves once every commit made so far is on disk. */
  synced?(): Promise<void>;
}

interface PendingBegin {
  write: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private begins: PendingBegin[] = [];
  private finishes: (() => void)[] = [];
  private scheduled = false;
  private failure: unknown = null;

  /** Run inside each transaction, after the finishes and before the begins (gates re-read state there). */
  private readonly refreshes: (() => void)[] = [];

  constructor(private readonly ledger: BatchingLedger) {}

  /** A re-read before the begins of every later transaction. */
  addRefresh(fn: () => void): void {
    this.refreshes.push(fn);
  }

  private beforeBegins(): void {
    for (const fn of this.refreshes) fn();
  }

  /** Resolves with what `write` returned once it is committed. */
  begin<R>(write: () => R): Promise<R> {
    if (!this.ledger.batch) {
      try {
        this.beforeBegins();
        return Promise.resolve(write());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<R>((resolve, reject) => {
      let result: R;
      this.begins.push({
        write: () => {
          result = write();
        },
        resolve: () => resolve(result),
        reject,
      });
      this.schedule();
    });
  }

  /** Committed with the next batch (or at flush()). */
  finish(write: () => void): void {
    if (!this.ledger.batch) return write();
    this.finishes.push(write);
    this.schedule();
  }

  /** Commits everything still queued, on disk when it returns; throws the first failure of any batch. */
  flush(): void {
    this.commit(true);
    if (this.failure !== null) throw this.failure;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: every completion that arrived together shares the commit.
    setImmediate(() => this.commit());
  }

  /** `synchronous`: a FULL commit on this thread (flush), else an unsynced one when the ledger has it. */
  private commit(synchronous = false): void {
    this.scheduled = false;
    const begins = this.begins;
    const finishes = this.finishes;
    if (begins.length === 0 && finishes.length === 0) return;
    this.begins = [];
    this.finishes = [];
    const { batch, batchUnsynced, synced } = this.ledger;
    const lazy = !synchronous && batchUnsynced !== undefined && synced !== undefined;
    const run = (lazy ? batchUnsynced : batch) as NonNullable<BatchingLedger['batch']>;
    const fail = (error: unknown) => {
      this.failure ??= error;
      for (const b of begins) b.reject(error);
    };
    try {
      run.call(this.ledger, () => {
        for (const write of finishes) write();
        if (begins.length > 0) this.beforeBegins();
        for (const b of begins) b.write();
      });
    } catch (error) {
      fail(error);
      return;
    }
    if (!lazy) {
      for (const b of begins) b.resolve();
      return;
    }
    // Every start of this batch waits for the disk; the finishes alone need not (see above).
    if (begins.length === 0) return;
    (synced as NonNullable<BatchingLedger['synced']>).call(this.ledger).then(() => {
      for (const b of begins) b.resolve();
    }, fail);
  }
}
