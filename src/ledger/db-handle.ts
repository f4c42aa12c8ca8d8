// The ledger's database connection as the stores of every module use it: cached prepared statements
// and short synchronous transactions, with SQLite failures mapped to GTR_LEDGER_UNUSABLE. The ledger
// writes its tables through it, and so do other modules' stores (src/rollout/store.ts) for theirs;
// each keeps its own SQL, all tables come from migrations/.
import { storageError, Statements, type Db } from './db.js';

export class DbHandle {
  readonly sql: Statements;
  /** One transaction wrapper for every write: better-sqlite3 builds a new one per transaction() call. */
  private readonly tx: ReturnType<Db['transaction']>;
  /** Inside batch(): writes join its transaction as they are. */
  private inBatch = false;

  constructor(private readonly db: Db, private readonly file: string) {
    this.sql = new Statements(db);
    this.tx = db.transaction((fn: () => unknown) => fn());
  }

  /**
   * One IMMEDIATE write transaction: the write lock is taken up front, so a read-then-write never meets
   * a stale snapshot. Nested calls become savepoints of the outer transaction.
   */
  write<R>(fn: () => R): R {
    if (this.inBatch) return fn();
    return this.guard(() => (this.tx.immediate as (f: () => R) => R)(fn));
  }

  /**
   * One write transaction whose nested writes run in it directly, without savepoints (a SAVEPOINT and
   * its RELEASE per write cost more than the write): a failure anywhere rolls back the whole of it.
   * For group commit (src/apply/group-commit.ts), which fails every write of a batch when one fails.
   */
  batch<R>(fn: () => R): R {
    return this.write(() => {
      this.inBatch = true;
      try {
        return fn();
      } finally {
        this.inBatch = false;
      }
    });
  }

  /** One read transaction: a consistent snapshot. */
  read<R>(fn: () => R): R {
    return this.guard(() => (this.tx as unknown as (f: () => R) => R)(fn));
  }

  guard<R>(fn: () => R): R {
    try {
      return fn();
    } catch (e) {
      throw storageError(this.file, e);
    }
  }
}
