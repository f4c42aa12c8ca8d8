// Group commit for the attach bookkeeping. With synchronous=FULL every SQLite commit waits for the
// disk (an fsync, ~0.2 ms here and often more), and two commits per attach made the ledger half of a
// 20k-attach run. Writes asked for in the same turn of the event loop now share one transaction:
// - begin: the caller awaits it, so its PUT still leaves only after its row (with the job uuid) is
//   committed; crash safety is unchanged.
// - finish: not awaited; it commits with the next batch or at flush(). A crash before that leaves the
//   attach 'pending' with its job uuid, which the next start polls, as for a crash during the call.
// Without `batch` (test doubles), every write runs at once in its own transaction.

export interface BatchingLedger {
  /** Runs `fn` as one transaction; the ledger's own writes inside it become savepoints. */
  batch?<R>(fn: () => R): R;
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

  /** Commits everything still queued; throws the first failure of any batch. */
  flush(): void {
    this.commit();
    if (this.failure !== null) throw this.failure;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: every completion that arrived together shares the commit.
    setImmediate(() => this.commit());
  }

  private commit(): void {
    this.scheduled = false;
    const begins = this.begins;
    const finishes = this.finishes;
    if (begins.length === 0 && finishes.length === 0) return;
    this.begins = [];
    this.finishes = [];
    try {
      (this.ledger.batch as NonNullable<BatchingLedger['batch']>)(() => {
        for (const write of finishes) write();
        if (begins.length > 0) this.beforeBegins();
        for (const b of begins) b.write();
      });
    } catch (error) {
      this.failure ??= error;
      for (const b of begins) b.reject(error);
      return;
    }
    for (const b of begins) b.resolve();
  }
}
