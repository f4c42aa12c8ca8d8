import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import { StartPath } from '../src/apply/start-path.js';
import { Ledger } from '../src/ledger/index.js';
import { processStartTime, selfIdentity } from '../src/ledger/process-alive.js';
import { withLease } from '../src/reconcile/lease.js';
import { newJobUuid } from '../src/zstack/client.js';
import { HEX } from './helpers/fleet.js';
import { tempLedger, type TempLedger } from './helpers/ledger.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LEDGER_MODULE = pathToFileURL(path.join(ROOT, 'src/ledger/index.ts')).href;

let t: TempLedger;
let dbPath: string;
let ledger: Ledger;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const TTL = 60_000;

beforeEach(() => {
  t = tempLedger('gtr-ledger-lease-');
  dbPath = t.file;
  ledger = t.ledger;
});

afterEach(() => {
  t.cleanup();
});

/** Rewrites the holder's identity as if another process on this host (`pid`) held the lease. */
function setLeasePid(pid: number): void {
  const db = new Database(dbPath);
  try {
    db.prepare('UPDATE lease SET pid = ?, start_time = ?').run(pid, processStartTime(pid));
  } finally {
    db.close();
  }
}

describe('lease', () => {
  test('a second acquirer is refused and told who holds it', () => {
    assert.deepEqual(ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 }), { ok: true, stamp: T0 });
    const second = ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + 1000 });
    const me = selfIdentity();
    assert.deepEqual(second, {
      ok: false,
      holder: { holder: 'daemon-1', host: os.hostname(), pid: process.pid, acquiredAt: T0, expiresAt: T0 + TTL, purpose: 'schedule', bootId: me.bootId, startTime: me.startTime },
    });
    assert.equal(ledger.leaseHolder(T0 + 1000)?.holder, 'daemon-1');
    // The same holder may acquire again (it renews, keeping its acquisition stamp).
    assert.deepEqual(ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 + 2000 }), { ok: true, stamp: T0 });
    assert.equal(ledger.leaseHolder(T0 + 2000)?.expiresAt, T0 + 2000 + TTL);
  });

  test('an expired lease whose holder is alive on this host is not taken over, whatever the clock says', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      assert.ok(child.pid);
      ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 });
      setLeasePid(child.pid);
      assert.equal(ledger.leaseHolder(T0 + TTL), null, 'expired: nobody holds it for status');
      // A second process whose clock is two minutes ahead sees the lease expired: the holder still runs.
      const late = ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + TTL + 120_000 });
      assert.equal(late.ok, false);
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  });

  test('an expired lease is taken over when its holder is on another host, and the old holder is fenced', () => {
    const got = ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 });
    assert.ok(got.ok);
    const db = new Database(dbPath);
    db.prepare("UPDATE lease SET host = 'elsewhere'").run();
    db.close();
    assert.deepEqual(ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + TTL }), { ok: true, stamp: T0 + TTL });
    assert.equal(ledger.leaseHolder(T0 + TTL)?.holder, 'cli-2');
    assert.equal(ledger.renewLease('daemon-1', TTL, T0 + TTL, got.stamp), false, 'the old holder lost it');
    assert.equal(ledger.leaseHolds('daemon-1', got.stamp), false);
    assert.equal(ledger.leaseHolds('cli-2', T0 + TTL), true);
  });

  test('a start after another process took the lease over is refused at once (lease-lost), before any renew', async () => {
    const answer = await withLease(ledger, { purpose: 'test', now: Date.now, logger: pino({ level: 'silent' }) }, async (fence) => {
      const other = new Database(dbPath);
      other.prepare("UPDATE lease SET holder = 'someone-else'").run();
      other.close();
      const start = StartPath.open(ledger, fence, [], Date.now);
      const vm = { vmUuid: HEX(1), agentType: 'LinuxOnKvm', architecture: 'x86_64', target: '1.2.0' } as const;
      return start.start({ api: 'AttachGuestToolsIsoToVm', subject: vm, jobUuid: newJobUuid(), record: () => assert.fail('nothing is recorded') });
    });
    assert.equal(answer.permit, null);
    assert.equal(answer.refusal?.reason, 'lease-lost');
  });

  test('a pid reused after a reboot or by another program is not the old holder', () => {
    ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 });
    const db = new Database(dbPath);
    // This very pid (alive), but recorded with another boot id: the machine rebooted since.
    db.prepare("UPDATE lease SET boot_id = 'another-boot', holder = 'old-daemon'").run();
    db.close();
    assert.equal(ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + 1 }).ok, true);
    const db2 = new Database(dbPath);
    db2.prepare("UPDATE lease SET start_time = '1', holder = 'old-daemon-2', pid = 1").run();
    db2.close();
    assert.equal(ledger.acquireLease({ holder: 'cli-3', purpose: 'reconcile', ttlMs: TTL, now: T0 + 2 }).ok, true, 'pid 1 started at another time');
  });

  test('a lease held by a dead process on this host is taken over before expiry', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    const deadPid = child.pid;
    assert.ok(deadPid);
    await once(child, 'exit');
    ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 });
    setLeasePid(deadPid);
    const result = ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + 1 });
    assert.deepEqual(result, { ok: true, stamp: T0 + 1 });
    assert.equal(ledger.leaseHolder(T0 + 1)?.pid, process.pid);
  });

  test('a lease held by a live process on this host is not taken over', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      assert.ok(child.pid);
      ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 });
      setLeasePid(child.pid);
      const result = ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + 1 });
      assert.equal(result.ok, false);
      assert.equal(result.ok ? null : result.holder.pid, child.pid);
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  });

  test('a holder on another host is only taken over at expiry', () => {
    ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 });
    const db = new Database(dbPath);
    db.prepare("UPDATE lease SET host = 'elsewhere', pid = 999999999").run();
    db.close();
    const probe = (): boolean => false; // would say dead, but it is not this host's pid to judge
    assert.equal(ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + 1, isAlive: probe }).ok, false);
    assert.equal(ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + TTL, isAlive: probe }).ok, true);
  });

  test('renew extends, release frees, and neither touches another holder\'s lease', () => {
    ledger.acquireLease({ holder: 'daemon-1', purpose: 'schedule', ttlMs: TTL, now: T0 });
    assert.equal(ledger.renewLease('daemon-1', TTL, T0 + 30_000, T0), true);
    assert.equal(ledger.leaseHolder(T0 + 30_000)?.expiresAt, T0 + 90_000);
    assert.equal(ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + 70_000 }).ok, false);
    assert.equal(ledger.renewLease('cli-2', TTL, T0 + 70_000, T0), false);
    ledger.releaseLease('cli-2');
    assert.equal(ledger.leaseHolder(T0 + 70_000)?.holder, 'daemon-1');
    ledger.releaseLease('daemon-1');
    assert.equal(ledger.leaseHolder(T0 + 70_000), null);
    assert.equal(ledger.renewLease('daemon-1', TTL, T0 + 70_000, T0), false, 'a released lease cannot be renewed');
    assert.deepEqual(ledger.acquireLease({ holder: 'cli-2', purpose: 'reconcile', ttlMs: TTL, now: T0 + 70_000 }), { ok: true, stamp: T0 + 70_000 });
  });
});

describe('two processes racing for the lease', () => {
  // Each child opens the ledger, says "ready", waits for "go", tries once, prints the result, and stays
  // alive until its stdin closes (a dead winner could otherwise be taken over legitimately).
  const CHILD = `
import readline from 'node:readline';
import { Ledger } from ${JSON.stringify(LEDGER_MODULE)};
const [dbPath, holder] = process.argv.slice(2);
const ledger = Ledger.open(dbPath);
process.stdout.write('ready\\n');
const lines = readline.createInterface({ input: process.stdin });
lines.once('line', () => {
  const result = ledger.acquireLease({ holder, purpose: 'race', ttlMs: 60000, now: Date.now() });
  process.stdout.write(JSON.stringify({ holder, pid: process.pid, result }) + '\\n');
});
lines.once('close', () => { ledger.close(); process.exit(0); });
`;

  const children: ChildProcessWithoutNullStreams[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill();
        await once(c, 'exit');
      }
    }
  });

  function start(script: string, holder: string): { child: ChildProcessWithoutNullStreams; next: () => Promise<string> } {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dbPath, holder], { cwd: ROOT });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => {
      const r = await lines.next();
      if (r.done) throw new Error(`child ${holder} ended early: ${stderr}`);
      return r.value;
    };
    return { child, next };
  }

  test('exactly one wins; the other is told the winner', async () => {
    const script = path.join(t.dir, 'race-child.mts');
    fs.writeFileSync(script, CHILD);
    ledger.close(); // the parent takes no part; the database is already migrated
    const a = start(script, 'racer-a');
    const b = start(script, 'racer-b');
    assert.equal(await a.next(), 'ready');
    assert.equal(await b.next(), 'ready');
    a.child.stdin.write('go\n');
    b.child.stdin.write('go\n');
    const results = await Promise.all([a.next(), b.next()]);
    const parsed = results.map((line) => JSON.parse(line) as {
      holder: string; pid: number; result: { ok: boolean; holder?: { holder: string; pid: number } };
    });
    const winners = parsed.filter((p) => p.result.ok);
    const losers = parsed.filter((p) => !p.result.ok);
    assert.equal(winners.length, 1, `exactly one winner: ${results.join(' | ')}`);
    assert.equal(losers[0].result.holder?.holder, winners[0].holder);
    assert.equal(losers[0].result.holder?.pid, winners[0].pid);
    for (const c of [a, b]) c.child.stdin.end();
    await Promise.all([once(a.child, 'exit'), once(b.child, 'exit')]);
    assert.deepEqual([a.child.exitCode, b.child.exitCode], [0, 0]);
    ledger = Ledger.open(dbPath);
    assert.equal(ledger.leaseHolder(Date.now())?.holder, winners[0].holder);
  });
});
