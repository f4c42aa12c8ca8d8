// The disk sync of the ledger's write-ahead log, off the event loop (docs/performance.md). A commit
// made with synchronous=NORMAL is in the WAL file (the OS has it: it survives a crash of this process)
// but not yet on disk; sync() resolves once everything written to the WAL before the call is on disk.
// The fsync runs on libuv's thread pool, so the event loop keeps reading replies and sending polls
// meanwhile. Calls that arrive while an fsync is in flight share the next one: at most one fsync runs
// and one waits, whatever the number of commits.
//
// Why the WAL alone is enough: with WAL and synchronous=NORMAL, SQLite syncs the WAL before each
// checkpoint and the database file after it, so a frame is either still in the WAL (synced here) or
// already in the synced database file. The WAL file itself exists and its folder entry was synced by
// the FULL commits made when the ledger was opened and the run started, before any start.
//
// The file stays open between syncs (an open and a close per sync cost as much main-thread time as the
// fsync's dispatch): SQLite removes the WAL only when the last connection closes, and the ledger's own
// connection is open for as long as this object is used (Ledger.close closes both).
import { open, type FileHandle } from 'node:fs/promises';

export interface SyncTarget {
  sync(): Promise<void>;
  close(): Promise<void>;
}

type OpenForSync = (file: string) => Promise<SyncTarget>;

const openFile: OpenForSync = (file) => open(file, 'r') as Promise<FileHandle>;

export class WalSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private handle: Promise<SyncTarget> | null = null;
  /** fsyncs started, for the benchmark's figures and tests. */
  syncs = 0;

  constructor(private readonly file: string, private readonly openForSync: OpenForSync = openFile) {}

  /** Closes the kept file (after the last sync; the ledger's close). */
  close(): void {
    const handle = this.handle;
    this.handle = null;
    void handle?.then((h) => h.close()).catch(noop);
  }

  /** Resolves once everything written to the file before this call is on disk; rejects with the fsync's error. */
  sync(): Promise<void> {
    if (this.running === null) return this.start();
    // The fsync in flight may have begun before this caller's write: wait for the next one.
    this.queued ??= this.running.then(noop, noop).then(() => {
      this.queued = null;
      return this.start();
    });
    return this.queued;
  }

  /** One fsync of the kept file; a failure drops it, so the next sync opens the file again. */
  private async fsync(): Promise<void> {
    this.handle ??= this.openForSync(this.file);
    const handle = this.handle;
    try {
      await (await handle).sync();
    } catch (error) {
      if (this.handle === handle) this.handle = null;
      void handle.then((h) => h.close()).catch(noop);
      throw error;
    }
  }

  private start(): Promise<void> {
    this.syncs++;
    const p: Promise<void> = this.fsync().finally(() => {
      if (this.running === p) this.running = null;
    });
    this.running = p;
    return p;
  }
}

function noop(): void {}
