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
import { open } from 'node:fs/promises';

export type FsyncFile = (file: string) => Promise<void>;

/** open, fsync, close: on the thread pool. Opened per sync, so a WAL file recreated since is never missed. */
export const fsyncFile: FsyncFile = async (file) => {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

export class WalSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** fsyncs started, for the benchmark's figures and tests. */
  syncs = 0;

  constructor(private readonly file: string, private readonly fsync: FsyncFile = fsyncFile) {}

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

  private start(): Promise<void> {
    this.syncs++;
    const p: Promise<void> = this.fsync(this.file).finally(() => {
      if (this.running === p) this.running = null;
    });
    this.running = p;
    return p;
  }
}

function noop(): void {}
