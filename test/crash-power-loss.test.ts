// The durability of the start record with the fsync off the event loop (docs/performance.md): each
// group commit is written with synchronous=NORMAL and its starts are released only after an fsync of
// the WAL on the thread pool. Checked here: the permit waits for that sync; concurrent syncs share one;
// and a simulated power loss (the database copied without the last WAL frames, as if the disk had not
// kept them) followed by a restart attaches no VM twice, the MN's guestToolsHasAttached tag covering
// the attaches whose records were lost.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, existsSync, openSync, readSync, rmSync, statSync, truncateSync } from 'node:fs';
import Database from 'better-sqlite3';
import { GroupCommit } from '../src/apply/group-commit.js';
import { Ledger } from '../src/ledger/index.js';
import { INLINE_LIMIT_MS, POOL_AFTER_SLOW, WalSync, type SyncTarget } from '../src/ledger/wal-sync.js';
import { startSimulator } from '../src/sim/index.js';
import { exited, gtr, simConfig, spawnGtr, waitFor, workspace } from './helpers/cli.js';
import { duplicateAttaches, outdatedFleet } from './helpers/fault.js';

/** A promise and the function that settles it. */
function latch(): { promise: Promise<void>; release: () => void } {
  let release = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe('the start record reaches the disk before its PUT', () => {
  it('a begin resolves only once synced() has: its row is committed before, on disk after', async () => {
    const ws = await workspace();
    const ledger = Ledger.open(ws.database);
    try {
      const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now: Date.now() });
      const disk = latch();
      let syncs = 0;
      const commits = new GroupCommit({
        batch: (fn) => ledger.batch(fn),
        batchUnsynced: (fn) => ledger.batchUnsynced(fn),
        synced: () => {
          syncs++;
          return disk.promise;
        },
      });
      let resolved = false;
      const begun = commits.begin(() => ledger.setRunWarnings(runId, [{ code: 'probe', message: 'written in the batch' }])).then(() => {
        resolved = true;
      });
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      assert.equal(syncs, 1, 'the batch asked for the disk sync');
      assert.equal(resolved, false, 'no permit before the disk sync');
      assert.deepEqual(ledger.getRun(runId)?.warnings.map((w) => w.code), ['probe'], 'the row is committed (a crash of the process keeps it)');
      assert.equal(ledger.settings().synchronous, 2, 'the connection is back to synchronous=FULL after the batch');
      disk.release();
      await begun;
      assert.equal(resolved, true);
      // The real sync of the ledger's WAL resolves too.
      await ledger.synced();
    } finally {
      ledger.close();
      ws.cleanup();
    }
  });

  /** A disk whose inline fsync takes `inlineMs` by the given clock, and whose pool fsyncs finish when released. */
  function disk(inlineMs: () => number) {
    const clock = { ms: 0 };
    const pooled: ReturnType<typeof latch>[] = [];
    let inline = 0;
    const target: SyncTarget = {
      sync: () => {
        const l = latch();
        pooled.push(l);
        return l.promise;
      },
      syncNow: () => {
        inline++;
        clock.ms += inlineMs();
      },
      close: () => {},
    };
    const wal = new WalSync('unused', () => target, () => clock.ms);
    return { wal, pooled, inline: () => inline };
  }

  it('while the disk is fast, a sync runs at once on this thread (no turn of the event loop to wait for)', async () => {
    const d = disk(() => 0.2);
    for (let i = 0; i < 5; i++) await d.wal.sync();
    assert.equal(d.inline(), 5);
    assert.equal(d.pooled.length, 0, 'nothing handed to the thread pool');
  });

  it('after a slow fsync the next ones go to the thread pool, sharing one while one is in flight; inline is tried again after them', async () => {
    let slow = true;
    const d = disk(() => (slow ? INLINE_LIMIT_MS + 4 : 0.2));
    await d.wal.sync();
    slow = false;
    assert.equal(d.inline(), 1, 'the first sync ran inline and was slow');
    const first = d.wal.sync();
    assert.equal(d.pooled.length, 1, 'the next one went to the pool');
    const second = d.wal.sync();
    const third = d.wal.sync();
    assert.equal(second, third, 'one queued sync for every caller meanwhile');
    await new Promise((r) => setImmediate(r));
    assert.equal(d.pooled.length, 1, 'the queued sync waits for the one in flight');
    d.pooled[0].release();
    await first;
    await waitFor('the queued fsync', () => d.pooled.length === 2);
    d.pooled[1].release();
    await second;
    for (let i = 2; i < POOL_AFTER_SLOW; i++) {
      const p = d.wal.sync();
      d.pooled[i].release();
      await p;
    }
    assert.equal(d.pooled.length, POOL_AFTER_SLOW);
    assert.equal(d.inline(), 1, 'no inline sync while the disk counts as slow');
    await d.wal.sync();
    assert.equal(d.inline(), 2, 'inline again after POOL_AFTER_SLOW pooled syncs');
    assert.equal(d.wal.syncs, POOL_AFTER_SLOW + 2);
    assert.equal(d.wal.pooledSyncs, POOL_AFTER_SLOW);
  });

  it('a failed fsync rejects its callers and the next sync opens the file again', async () => {
    let opened = 0;
    let fail = true;
    const wal = new WalSync('unused', () => {
      opened++;
      return {
        sync: () => Promise.resolve(),
        syncNow: () => {
          if (fail) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        },
        close: () => {},
      };
    });
    await assert.rejects(wal.sync(), /EIO/);
    fail = false;
    await wal.sync();
    assert.equal(opened, 2);
  });
});

/** The WAL cut to its header and its first `keep` frames: what a disk that lost the rest would hold. */
function cutWal(wal: string, keepShare: number): { frames: number; kept: number } {
  const fd = openSync(wal, 'r');
  const header = Buffer.alloc(32);
  readSync(fd, header, 0, 32, 0);
  closeSync(fd);
  const pageSize = header.readUInt32BE(8);
  const frameSize = 24 + pageSize;
  const frames = Math.floor((statSync(wal).size - 32) / frameSize);
  const kept = Math.floor(frames * keepShare);
  truncateSync(wal, 32 + kept * frameSize);
  return { frames, kept };
}

describe('simulated power loss', () => {
  it('the database without the last WAL frames, restarted: no VM attached twice', { timeout: 240_000 }, async (t) => {
    const sim = await startSimulator({ fleet: outdatedFleet(240, 40), jobDurationMs: 40 });
    const ws = await workspace();
    const lost = await workspace();
    try {
      const config = (database: string) => simConfig(ws, sim, { database, policy: { maxConcurrency: 8, maxPerHost: 1, maxErrors: '50%' } });
      const child = spawnGtr(['reconcile', '--json', '--config', ws.writeConfig(config(ws.database))]);
      await waitFor('attaches under way', () => sim.attachesStarted().length >= 40, 120_000);
      child.kill('SIGKILL');
      await exited(child);
      // The power goes with the process: the attaches it sent finish on the MN, which tags each VM.
      await waitFor('the attaches it sent to end', () => sim.attachInFlight === 0, 30_000);
      const before = sim.attachesStarted().length;

      // The largest cut-off tail that still loses start records, so the restart meets both kinds: attaches
      // whose records the disk kept (their jobs are polled) and attaches whose records it lost (the tag).
      assert.ok(existsSync(`${ws.database}-wal`), 'the run wrote a WAL');
      let loss = { frames: 0, kept: 0, recorded: 0 };
      for (const keepShare of [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5]) {
        // No -shm: SQLite rebuilds the WAL index from the frames it finds, as after a reboot.
        rmSync(`${lost.database}-shm`, { force: true });
        copyFileSync(ws.database, lost.database);
        copyFileSync(`${ws.database}-wal`, `${lost.database}-wal`);
        const cut = cutWal(`${lost.database}-wal`, keepShare);
        const db = new Database(lost.database, { readonly: true });
        const recorded = (db.prepare('SELECT count(*) AS n FROM decisions WHERE job_uuid IS NOT NULL').get() as { n: number } | undefined)?.n ?? 0;
        db.close();
        loss = { ...cut, recorded };
        if (recorded < before) break;
      }
      rmSync(`${lost.database}-shm`, { force: true });
      t.diagnostic(`${before} attaches sent, ${loss.recorded} of their records kept (${loss.kept} of ${loss.frames} WAL frames)`);
      assert.ok(loss.recorded < before, 'the lost frames held start records: the restart cannot rely on the ledger alone');

      const again = await gtr(['reconcile', '--json', '--config', lost.writeConfig(config(lost.database))], { timeoutMs: 180_000 });
      assert.ok(again.code === 0 || again.code === 1, `the restarted run ends (exit ${again.code}): ${again.stderr.slice(0, 500)}`);
      const report = JSON.parse(again.stdout) as { actions: { vmUuid: string; action: string; reason: string }[] };
      assert.ok(sim.attachesStarted().length > before, 'the restarted run attached the rest of the fleet');
      assert.deepEqual(duplicateAttaches(sim.attachesStarted()), [], 'no VM attached twice');
      const attachedBefore = new Set(sim.attachesStarted().slice(0, before).map((a) => a.vmUuid));
      const waiting = report.actions.filter((a) => attachedBefore.has(a.vmUuid) && a.action === 'defer' && a.reason === 'awaiting-install');
      assert.equal(waiting.length, attachedBefore.size, 'every VM attached before the power loss waits for its install');
    } finally {
      await sim.close();
      ws.cleanup();
      lost.cleanup();
    }
  });
});
