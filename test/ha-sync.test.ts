// The ledger mirror between two management nodes, in one process: each node is a real SQLite ledger
// behind a real status server with the peer endpoints, and a LedgerSync stepped by the test. The
// leader check is replaced by a settable role (the real check runs in the two-daemon test).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { DEFAULT_MIGRATIONS_DIR, Ledger, verifySnapshot } from '../src/ledger/index.js';
import { LedgerSync } from '../src/ha/ledger-sync.js';
import { peerRoutes } from '../src/daemon/peer-routes.js';
import { factsToHeaders } from '../src/ha/peer-facts.js';
import { readSyncRecord } from '../src/ha/sync-record.js';
import type { HaRole } from '../src/ha/role.js';
import { startStatusServer, type StatusRoutes } from '../src/daemon/status-server.js';
import { createAuthenticator } from '../src/daemon/http-auth.js';
import { ledgerRoutes } from '../src/daemon/status-routes.js';
import { loadConfig } from '../src/config/load.js';
import { singleNodeRole } from '../src/ha/role-status.js';
import { GtrError } from '../src/errors.js';
import { RolloutStore } from '../src/rollout/store.js';
import { startRollout } from '../src/rollout/start.js';
import { parseWaveSpec, type WaveStep } from '../src/count-or-percent.js';
import { tellPeer } from '../src/cli/commands/rollout-peer.js';
import { HEX as uuid } from './helpers/fleet.js';

const TOKEN = 'peer-token-0123456789abcdef';
const INTERVAL = 60_000;
const SUBJECT = { vmUuid: 'a'.repeat(32), agentType: 'LinuxOnKvm', architecture: 'x86_64', target: '1.0.0' } as const;

interface Node {
  dir: string;
  ledger: Ledger;
  sync: LedgerSync;
  role: { value: HaRole };
  url: string;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** One node: its ledger in its own folder, its status server with /ha/*, its sync towards `peerUrl`. */
async function startNode(name: string, peerUrl: string, opts: { migrationsDir?: string; now?: () => number; httpToken?: string } = {}): Promise<Node> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gtr-ha-${name}-`));
  const ledger = Ledger.open(path.join(dir, 'gtr.db'), { migrationsDir: opts.migrationsDir });
  const role = { value: 'standby' as HaRole };
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const sync = new LedgerSync({
    peer: { url: peerUrl, token: TOKEN }, syncIntervalMs: INTERVAL, ledger: () => ledger, roles: { role: () => role.value }, logger,
    runInProgress: () => false, now: opts.now,
  });
  const routes: StatusRoutes = {
    health: () => ({ ok: true }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    ...ledgerRoutes(() => ledger, () => loadConfig({ file: null, env: {} }).config, singleNodeRole),
  };
  const http = await startStatusServer('127.0.0.1:0', routes, {
    auth: opts.httpToken ? createAuthenticator({ token: opts.httpToken, users: new Map() }) : null,
    peer: peerRoutes({ token: TOKEN, ledger: () => ledger, facts: (now) => sync.facts(now), busy: () => sync.busy, logger }),
  });
  return {
    dir, ledger, sync, role, url: http.url, logs,
    close: async () => {
      await sync.stop();
      await http.close();
      ledger.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Two nodes pointing at each other (B learns A's URL first, then A learns B's through a forwarder). */
async function withPair(fn: (a: Node, b: Node) => Promise<void>, opts: { aMigrations?: string; now?: () => number } = {}): Promise<void> {
  const forward = { target: '' };
  const relay = createServer((req, res) => {
    // A's peer URL must exist before B does: a tiny relay in front of B (test plumbing, not product code).
    void request(`${forward.target}${req.url}`, { method: req.method as 'GET', headers: req.headers }).then(async (r) => {
      res.writeHead(r.statusCode, r.headers as Record<string, string>);
      for await (const chunk of r.body) res.write(chunk);
      res.end();
    }, () => res.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  const a = await startNode('a', relayUrl, { migrationsDir: opts.aMigrations, now: opts.now });
  const b = await startNode('b', a.url, { now: opts.now });
  forward.target = b.url;
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
    relay.closeAllConnections();
    relay.close();
  }
}

function addRuns(ledger: Ledger, count: number): void {
  for (let i = 0; i < count; i++) {
    const id = ledger.startRun({ trigger: 'cli', dryRun: false, now: Date.now() });
    ledger.finishRun(id, { status: 'succeeded', counts: {}, now: Date.now() });
  }
}

const runIds = (ledger: Ledger) => ledger.listRuns(100).map((r) => r.id).sort((x, y) => x - y);
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('ha-download') || f.includes('ha-snapshot'));

/** A ready leader: stepped once as leader with the peer answering standby with an older ledger, or unreachable. */
async function makeLeader(node: Node): Promise<void> {
  node.role.value = 'leader';
  await node.sync.step();
  assert.equal(node.sync.health(Date.now()).reason, null, JSON.stringify(node.logs.slice(-3)));
}

describe('ha ledger sync', () => {
  it('a standby pulls the leader\'s snapshot and puts it in place under its open ledger; the sync time is on disk', async () => {
    await withPair(async (a, b) => {
      addRuns(a.ledger, 3);
      addRuns(b.ledger, 1);
      // A lease the node took earlier and that has expired (a held one means a run under way: no sync then).
      const leaseAt = Date.now() - 120_000;
      assert.ok(b.ledger.acquireLease({ holder: 'cli@b', purpose: 'reconcile', ttlMs: 60_000, now: leaseAt }).ok);
      await makeLeader(a);
      const before = Date.now();
      await b.sync.step();
      assert.deepEqual(runIds(b.ledger), [1, 2, 3], 'the same ledger handle reads the leader\'s runs');
      const kept = b.ledger.leaseHolder(leaseAt);
      assert.equal(kept?.holder, 'cli@b', 'the node keeps its own lease');
      assert.ok(kept.bootId !== null && kept.startTime !== null, 'with the holder\'s identity');
      const record = readSyncRecord(b.ledger.path);
      assert.ok(record.syncedAt !== null && record.syncedAt >= before - 1000);
      assert.equal(record.peer, a.url);
      assert.equal(record.peerRole, 'leader');
      const health = b.sync.health(Date.now());
      assert.equal(health.ledgerFresh, true);
      assert.equal(health.reason, null);
      assert.deepEqual(leftovers(a.dir), []);
      assert.deepEqual(leftovers(b.dir), []);
      // Later writes on the leader arrive at the next sync; the standby's copy stays usable for writes.
      addRuns(a.ledger, 1);
      await b.sync.step(); // not due yet (ha.syncInterval)
      assert.deepEqual(runIds(b.ledger), [1, 2, 3]);
    });
  });

  it('a standby does not pull from a leader that has not caught up, nor from another standby', async () => {
    await withPair(async (a, b) => {
      addRuns(a.ledger, 2);
      addRuns(b.ledger, 1);
      a.role.value = 'leader'; // says leader, but its sync has not run: its ledger may be older than ours
      await b.sync.step();
      assert.deepEqual(runIds(b.ledger), [1]);
      const last = b.logs.at(-1);
      assert.deepEqual({ level: last?.level, problem: last?.problem }, { level: 40, problem: 'not pulling: the peer leads but has not caught up yet' }, JSON.stringify(last));
    });
  });

  it('a peer on another schema is refused, naming both versions; our ledger stays', async () => {
    const migrations = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-ha-mig-'));
    for (const f of fs.readdirSync(DEFAULT_MIGRATIONS_DIR)) fs.copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(migrations, f));
    fs.writeFileSync(path.join(migrations, '0999_future.sql'), 'CREATE TABLE future (x INTEGER);\n');
    try {
      await withPair(async (a, b) => {
        addRuns(a.ledger, 2);
        addRuns(b.ledger, 1);
        await makeLeader(a);
        await b.sync.step();
        assert.deepEqual(runIds(b.ledger), [1]);
        const line = JSON.stringify(b.logs.at(-1));
        assert.match(line, /0999_future \(\d+ migrations\)/);
        assert.match(line, /this node gtr [\d.]+ with schema 0\d{3}_[a-z_]+ \(\d+ migrations\)/);
        assert.deepEqual(leftovers(b.dir), []);
      }, { aMigrations: migrations });
    } finally {
      fs.rmSync(migrations, { recursive: true, force: true });
    }
  });

  it('a damaged or truncated download is refused before it touches our ledger', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-ha-bad-'));
    const good = Ledger.open(path.join(dir, 'good.db'));
    addRuns(good, 50);
    await good.snapshotTo(path.join(dir, 'snap.db'));
    const schema = good.appliedMigrations();
    good.close();
    const whole = fs.readFileSync(path.join(dir, 'snap.db'));
    const bodies = {
      truncated: whole.subarray(0, Math.floor(whole.length / 2)),
      garbage: Buffer.from('not a database at all'.repeat(300)),
      // A real header with one page overwritten in the middle.
      damaged: Buffer.concat([whole.subarray(0, 4096 * 2), Buffer.alloc(4096, 0x5a), whole.subarray(4096 * 3)]),
    };
    for (const [kind, body] of Object.entries(bodies)) {
      // A peer that sends a bad file with proper headers (stands in for a broken disk or connection on the peer).
      const server = createServer((_req, res) => {
        res.writeHead(200, factsToHeaders({ role: 'leader', snapshotAt: Date.now(), asOf: Date.now(), ledUntil: Date.now(), fresh: true, runInProgress: false, schema, version: 'x' }));
        res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const node = await startNode('b', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      try {
        addRuns(node.ledger, 2);
        await node.sync.step();
        assert.deepEqual(runIds(node.ledger), [1, 2], `${kind}: our ledger is kept`);
        assert.equal(node.ledger.handle.read(() => 'ok'), 'ok');
        assert.equal(readSyncRecord(node.ledger.path).syncedAt, null, `${kind}: no sync recorded`);
        const refusal = node.logs.find((l) => l.msg === 'ledger snapshot from the peer not used; ours is kept');
        assert.ok(refusal, `${kind}: ${JSON.stringify(node.logs)}`);
        assert.match(JSON.stringify(refusal), /GTR_HA_SNAPSHOT_REFUSED/);
        assert.deepEqual(leftovers(node.dir), []);
      } finally {
        await node.close();
        server.close();
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('verifySnapshot refuses a foreign file and accepts a snapshot of our own schema', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-ha-verify-'));
    try {
      const ledger = Ledger.open(path.join(dir, 'gtr.db'));
      await ledger.snapshotTo(path.join(dir, 'snap.db'));
      ledger.close();
      assert.equal(verifySnapshot(path.join(dir, 'snap.db'), DEFAULT_MIGRATIONS_DIR, 'peer').migrations.length > 0, true);
      fs.writeFileSync(path.join(dir, 'empty.db'), '');
      assert.throws(() => verifySnapshot(path.join(dir, 'empty.db'), DEFAULT_MIGRATIONS_DIR, 'peer'),
        (e: unknown) => e instanceof GtrError && e.code === 'GTR_HA_SNAPSHOT_REFUSED' && /schema is empty/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a new leader with a stale snapshot and an unreachable peer attaches nothing for 2 x ha.syncInterval, and says why', async () => {
    let clock = Date.now();
    const node = await startNode('b', 'http://127.0.0.1:9', { now: () => clock });
    try {
      node.role.value = 'leader';
      await node.sync.step();
      const gate = node.sync.gate();
      assert.equal(gate.check(SUBJECT, clock), 'not-leader');
      const health = node.sync.health(clock);
      assert.match(String(health.reason), /^ledger snapshot stale \(no snapshot yet\), re-syncing: http:\/\/127\.0\.0\.1:9 is unreachable/);
      assert.equal(health.ledgerFresh, false);
      clock += INTERVAL;
      await node.sync.step();
      assert.equal(gate.check(SUBJECT, clock), 'not-leader');
      clock += INTERVAL;
      await node.sync.step();
      assert.equal(gate.check(SUBJECT, clock), null, 'after 2 x ha.syncInterval it goes on with its own ledger');
      assert.equal(node.sync.health(clock).reason, null);
      assert.ok(node.logs.some((l) => l.msg === 'leader attaching' && l.basis === 'peer-unavailable-timeout'), JSON.stringify(node.logs.slice(-3)));
    } finally {
      await node.close();
    }
  });

  it('a new leader with a fresh snapshot goes on at once when the peer is unreachable', async () => {
    const node = await startNode('b', 'http://127.0.0.1:9');
    try {
      fs.writeFileSync(`${node.ledger.path}.ha-sync.json`, JSON.stringify({ syncedAt: new Date(Date.now() - 1000).toISOString(), peer: 'x', peerRole: 'leader', leaderUntil: null }));
      const fresh = new LedgerSync({ peer: { url: 'http://127.0.0.1:9', token: TOKEN }, syncIntervalMs: INTERVAL, ledger: () => node.ledger,
        roles: { role: () => 'leader' }, logger: pino({ level: 'silent' }), runInProgress: () => false });
      await fresh.step();
      assert.equal(fresh.gate().check(SUBJECT, Date.now()), null);
    } finally {
      await node.close();
    }
  });

  it('a new leader catches up from the old leader once it stepped down, and waits while it still claims leadership', async () => {
    let clock = Date.now();
    await withPair(async (a, b) => {
      await makeLeader(a);
      addRuns(a.ledger, 4);
      addRuns(b.ledger, 1);
      // Both say leader (each check cached): B waits, attaching nothing.
      b.role.value = 'leader';
      await b.sync.step();
      assert.equal(b.sync.gate().check(SUBJECT, Date.now()), 'not-leader');
      assert.match(String(b.sync.health(Date.now()).reason), /still says it is the leader/);
      // A steps down: its ledger is the newest truth; B takes it even though A now says standby.
      a.role.value = 'standby';
      clock += 1000; // catch-up attempts come at most once a second
      await b.sync.step();
      assert.deepEqual(runIds(b.ledger), [1, 2, 3, 4], JSON.stringify(b.logs.slice(-3)));
      assert.equal(b.sync.gate().check(SUBJECT, Date.now()), null);
      // Now A mirrors B.
      clock += INTERVAL;
      await a.sync.step();
      assert.equal(readSyncRecord(a.ledger.path).peerRole, 'leader');
    }, { now: () => clock });
  });

  it('a lease held on the old leader (gtr reconcile, a rollout step) is a run in progress: the new leader waits for it, and nothing replaces the ledger under it', async () => {
    let clock = Date.now();
    await withPair(async (a, b) => {
      await makeLeader(a);
      addRuns(a.ledger, 3);
      // A one-shot run on A holds the lease; A's daemon has no run of its own.
      assert.ok(a.ledger.acquireLease({ holder: 'cli@a', purpose: 'reconcile', ttlMs: 10 * INTERVAL, now: clock }).ok);
      a.role.value = 'standby';
      b.role.value = 'leader';
      clock += INTERVAL; // A's next pull as a standby is due
      await a.sync.step();
      assert.ok(a.logs.some((l) => l.msg === 'ledger not synced' && l.problem === 'not pulling: a run of this node is under way'), JSON.stringify(a.logs.slice(-2)));
      await b.sync.step();
      assert.equal((await request(`${a.url}/ha/snapshot`, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` } })).headers['x-gtr-run-in-progress'], 'true');
      assert.match(String(b.sync.health(clock).reason), /waiting for the peer's run to finish/);
      assert.equal(b.sync.gate().check(SUBJECT, Date.now()), 'not-leader');
      assert.deepEqual(runIds(b.ledger), [], 'no copy taken while that run holds the lease');
      // The run ends (its record written, the lease released): B catches up with everything it did.
      addRuns(a.ledger, 1);
      a.ledger.releaseLease('cli@a');
      clock += 1000;
      await b.sync.step();
      assert.deepEqual(runIds(b.ledger), [1, 2, 3, 4], JSON.stringify(b.logs.slice(-3)));
      assert.equal(b.sync.gate().check(SUBJECT, Date.now()), null);
    }, { now: () => clock });
  });

  it('a leader that restarts keeps its own ledger: the standby\'s copy of it is never newer', async () => {
    let clock = Date.now();
    await withPair(async (a, b) => {
      await makeLeader(a);
      addRuns(a.ledger, 2);
      clock += INTERVAL;
      await b.sync.step();
      assert.deepEqual(runIds(b.ledger), [1, 2]);
      addRuns(a.ledger, 1); // after the standby's last sync
      // A restarts (a new sync on the same ledger, as a new daemon would) and leads again at once.
      await a.sync.stop();
      const restarted = new LedgerSync({ peer: { url: b.url, token: TOKEN }, syncIntervalMs: INTERVAL, ledger: () => a.ledger,
        roles: { role: () => 'leader' }, logger: pino({ level: 'silent' }), runInProgress: () => false, now: () => clock });
      clock += 1000;
      await restarted.step();
      assert.equal(restarted.gate().check(SUBJECT, clock), null);
      assert.deepEqual(runIds(a.ledger), [1, 2, 3], 'the run after the last sync is kept');
    }, { now: () => clock });
  });

  it('/ha/* takes the ha token only; http.auth credentials do not open it, the ha token opens nothing else', async () => {
    const node = await startNode('a', 'http://127.0.0.1:9', { httpToken: 'status-page-token-123456' });
    try {
      const get = async (p: string, token?: string) => {
        const res = await request(`${node.url}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
        await res.body.dump();
        return res.statusCode;
      };
      assert.equal(await get('/ha/snapshot'), 401);
      assert.equal(await get('/ha/snapshot', 'status-page-token-123456'), 401);
      assert.equal(await get('/ha/snapshot', `${TOKEN}x`), 401);
      assert.equal(await get('/api/status', TOKEN), 401);
      assert.equal(await get('/api/status', 'status-page-token-123456'), 200);
      const res = await request(`${node.url}/ha/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-gtr-role'], 'standby');
      assert.match(String(res.headers['x-gtr-schema']), /^0001_init,/);
      assert.equal(Buffer.from(await res.body.arrayBuffer()).subarray(0, 15).toString(), 'SQLite format 3');
    } finally {
      await node.close();
    }
    // A node without ha.peer has no peer endpoints at all.
    const http = await startStatusServer('127.0.0.1:0', { health: () => ({ ok: true }) } as unknown as StatusRoutes, { auth: null });
    try {
      const res = await request(`${http.url}/ha/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.statusCode, 404);
      await res.body.dump();
    } finally {
      await http.close();
    }
  });

  it('rollout commands reach the peer: start with the same id and rows, pause/resume/abort by id, retries are harmless', async () => {
    await withPair(async (a, b) => {
      const started = startTestRollout(a.ledger, 'alice@mn1');
      const peer = { url: b.url, token: TOKEN };
      const start = await tellPeer(peer, a.ledger, { kind: 'start', id: started });
      assert.deepEqual(start, { peer: b.url, ok: true, message: `started (rollout ${started} active there)` });
      const onA = new RolloutStore(a.ledger).get(started);
      const onB = new RolloutStore(b.ledger).get(started);
      assert.deepEqual({ ...onB, transitions: onB?.transitions.map(({ id: _id, ...t }) => t) }, { ...onA, transitions: onA?.transitions.map(({ id: _id, ...t }) => t) });
      assert.equal((await tellPeer(peer, a.ledger, { kind: 'start', id: started })).message, `already started (rollout ${started} active there)`);

      new RolloutStore(a.ledger).transition(started, 'pause', 'bob@mn1', 'OPS-7', { now: Date.now() });
      const pause = await tellPeer(peer, a.ledger, { kind: 'pause', id: started, who: 'bob@mn1', why: 'OPS-7', detach: false });
      assert.equal(pause.message, `paused (rollout ${started} paused there)`);
      const paused = new RolloutStore(b.ledger).get(started);
      assert.equal(paused?.state, 'paused');
      assert.deepEqual(paused?.transitions.at(-1), { ...paused?.transitions.at(-1), event: 'pause', who: 'bob@mn1', why: 'OPS-7' });
      assert.equal((await tellPeer(peer, a.ledger, { kind: 'pause', id: started, who: 'bob@mn1', why: null, detach: false })).message, `already paused (rollout ${started} paused there)`);

      // Refusals name what is wrong; the CLI shows them as a warning.
      const missing = await tellPeer(peer, a.ledger, { kind: 'resume', id: 99, who: 'bob@mn1', why: null, detach: false });
      assert.equal(missing.ok, false);
      assert.match(missing.message, /HTTP 404.*no such rollout: 99/);
      new RolloutStore(b.ledger).transition(started, 'abort', 'carol@mn2', null, { now: Date.now() });
      new RolloutStore(a.ledger).transition(started, 'abort', 'carol@mn2', null, { now: Date.now() });
      const other = startTestRollout(b.ledger, 'carol@mn2');
      const clash = startTestRollout(a.ledger, 'alice@mn1', other);
      const taken = await tellPeer(peer, a.ledger, { kind: 'start', id: clash });
      assert.match(taken.message, new RegExp(`HTTP 409.*rollout id ${clash} is taken on this node by another rollout`));
      const unreachable = await tellPeer({ url: 'http://127.0.0.1:9', token: TOKEN }, a.ledger, { kind: 'pause', id: started, who: 'x', why: null, detach: false });
      assert.match(unreachable.message, /is unreachable/);
    });
  });

  it('a peer busy putting a snapshot in place (503) is asked again and gets the pause; one busy for good is a warning saying so', async () => {
    await withPair(async (a, b) => {
      const id = startTestRollout(a.ledger, 'alice@mn1');
      assert.equal((await tellPeer({ url: b.url, token: TOKEN }, a.ledger, { kind: 'start', id })).ok, true);
      // B's own answer while its sync puts a snapshot in place (peer-routes), for the first `busy.left` POSTs.
      const busy = { left: 2, seen: 0 };
      const front = createServer((req, res) => {
        busy.seen++;
        if (busy.left-- > 0) {
          req.resume();
          res.writeHead(503, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: 'busy putting a ledger snapshot in place; try again' }));
        }
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => void request(`${b.url}${req.url}`, { method: 'POST', headers: req.headers, body: Buffer.concat(chunks) }).then(async (r) => {
          res.writeHead(r.statusCode, r.headers as Record<string, string>);
          res.end(await r.body.text());
        }, () => res.destroy()));
      });
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
      try {
        new RolloutStore(a.ledger).transition(id, 'pause', 'bob@mn1', 'OPS-7', { now: Date.now() });
        const paused = await tellPeer({ url, token: TOKEN }, a.ledger, { kind: 'pause', id, who: 'bob@mn1', why: 'OPS-7', detach: false });
        assert.deepEqual(paused, { peer: url, ok: true, message: `paused (rollout ${id} paused there)` });
        assert.equal(busy.seen, 3, 'two busy answers, then the pause');
        assert.equal(new RolloutStore(b.ledger).get(id)?.state, 'paused');

        busy.left = Infinity;
        busy.seen = 0;
        const resumed = await tellPeer({ url, token: TOKEN }, a.ledger, { kind: 'resume', id, who: 'bob@mn1', why: null, detach: false });
        assert.equal(resumed.ok, false);
        assert.match(resumed.message, /answered HTTP 503 \(busy putting a ledger snapshot in place; try again\)/);
        assert.equal(busy.seen, 6, 'asked six times in all, then gave up');
        assert.equal(new RolloutStore(b.ledger).get(id)?.state, 'paused', 'the busy peer never got it');
      } finally {
        front.closeAllConnections();
        front.close();
      }
    });
  });

  it('a rollout started with --install installs on the peer too; one from a peer without the install column does not', async () => {
    await withPair(async (a, b) => {
      const id = startTestRollout(a.ledger, 'alice@mn1', undefined, true);
      assert.equal(new RolloutStore(a.ledger).get(id)?.install, true);
      assert.equal((await tellPeer({ url: b.url, token: TOKEN }, a.ledger, { kind: 'start', id })).ok, true);
      assert.equal(new RolloutStore(b.ledger).get(id)?.install, true, 'the standby would have taken over a rollout that only attaches');
      new RolloutStore(a.ledger).transition(id, 'abort', 'alice@mn1', null, { now: Date.now() });
      new RolloutStore(b.ledger).transition(id, 'abort', 'alice@mn1', null, { now: Date.now() });

      // The body a node one release older sends: its rollouts row has no install column.
      const { rolloutRows } = await import('../src/rollout/replica.js');
      const older = startTestRollout(a.ledger, 'alice@mn1');
      const rows = rolloutRows(a.ledger, older);
      assert.ok(rows);
      delete rows.rollouts[0].install;
      const res = await request(`${b.url}/ha/rollouts`, { method: 'POST', body: JSON.stringify(rows), headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
      assert.equal(res.statusCode, 201, await res.body.text());
      assert.equal(new RolloutStore(b.ledger).get(older)?.install, false);
    });
  });

  it('the rollout endpoints refuse malformed requests with the reason, and change nothing', async () => {
    const node = await startNode('b', 'http://127.0.0.1:9');
    try {
      const post = async (p: string, body: string, contentType = 'application/json') => {
        const res = await request(`${node.url}${p}`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType } });
        return { status: res.statusCode, error: String(((await res.body.json()) as { error?: string }).error) };
      };
      assert.deepEqual(await post('/ha/rollouts', '{'), { status: 400, error: (await post('/ha/rollouts', '{')).error });
      assert.match((await post('/ha/rollouts', '{')).error, /not JSON/);
      assert.match((await post('/ha/rollouts', '{"rollouts": []}')).error, /targets: expected an array/);
      assert.match((await post('/ha/rollouts', '{"x": 1}')).error, /unknown table "x"/);
      assert.equal((await post('/ha/rollouts/1/pause', '{}', 'text/plain')).status, 415);
      assert.match((await post('/ha/rollouts/1/pause', '{"who": ""}')).error, /who: expected/);
      assert.match((await post('/ha/rollouts/1/pause', '{"who": "a", "sql": "x"}')).error, /unknown field "sql"/);
      const source = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-ha-src-'));
      const other = Ledger.open(path.join(source, 'gtr.db'));
      try {
        const id = startTestRollout(other, 'alice@mn1');
        const { rolloutRows } = await import('../src/rollout/replica.js');
        const rows = rolloutRows(other, id);
        assert.ok(rows);
        rows.members[0].status = 'exploded';
        const bad = await post('/ha/rollouts', JSON.stringify(rows));
        assert.equal(bad.status, 400);
        assert.match(bad.error, /constraint/);
        assert.equal(new RolloutStore(node.ledger).get(id), null, 'nothing of the refused rollout is stored');
      } finally {
        other.close();
        fs.rmSync(source, { recursive: true, force: true });
      }
      const get = await request(`${node.url}/ha/rollouts`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(get.statusCode, 405);
      await get.body.dump();
    } finally {
      await node.close();
    }
  });

  it('POST /ha/retry forgets the VMs on the peer, says which it knew, and refuses malformed requests', async () => {
    const node = await startNode('b', 'http://127.0.0.1:9');
    try {
      const post = async (body: string, headers: Record<string, string> = {}) => {
        const res = await request(`${node.url}/ha/retry`, { method: 'POST', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers } });
        return { status: res.statusCode, body: (await res.body.json()) as { error?: string; known?: string[]; vmUuids?: string[] } };
      };
      const known = 'b'.repeat(32);
      const unknown = 'c'.repeat(32);
      node.ledger.observeVersions([{ vmUuid: known, version: '1.0.0' }], Date.now());
      const ok = await post(JSON.stringify({ vmUuids: [known, unknown, known], who: 'alice@mn2' }));
      assert.deepEqual(ok, { status: 200, body: { vmUuids: [known, unknown], known: [known] } });
      assert.ok(node.logs.some((l) => l.msg === 'retry from the peer: failures, quarantine and attempts forgotten' && l.who === 'alice@mn2'));
      assert.match((await post('{')).body.error ?? '', /not JSON/);
      assert.match((await post('[]')).body.error ?? '', /expected a JSON object/);
      assert.match((await post('{"vmUuids": [], "who": "a"}')).body.error ?? '', /vmUuids: expected a list/);
      assert.match((await post(`{"vmUuids": ["${known.toUpperCase()}"], "who": "a"}`)).body.error ?? '', /expected a VM uuid/);
      assert.match((await post(`{"vmUuids": ["${known}"]}`)).body.error ?? '', /who: expected/);
      assert.match((await post(`{"vmUuids": ["${known}"], "who": "a", "sql": 1}`)).body.error ?? '', /unknown field "sql"/);
      assert.equal((await post('{}', { 'content-type': 'text/plain' })).status, 415);
      const wrongToken = await request(`${node.url}/ha/retry`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' } });
      assert.equal(wrongToken.statusCode, 401);
      await wrongToken.body.dump();
    } finally {
      await node.close();
    }
  });
});

/** A rollout of 3 LinuxOnKvm VMs in waves 1,100%; `skipTo` burns ids first so the next one is that id. */
function startTestRollout(ledger: Ledger, who: string, skipTo?: number, install = false): number {
  const store = new RolloutStore(ledger);
  const go = () => startRollout(store, {
    agentTypes: ['LinuxOnKvm'],
    candidates: [1, 2, 3].map((n) => ({ uuid: uuid(n), name: `vm-${n}`, agentType: 'LinuxOnKvm' as const, architecture: 'x86_64', target: '1.2.0', clusterUuid: null, tags: [] })),
    canaries: { vms: [], clusters: [], tags: [] }, wavesSpec: '1,100%', steps: parseWaveSpec('1,100%') as WaveStep[],
    soakMs: 0, waveTimeoutMs: 3_600_000, maxErrors: { kind: 'count', value: 0 }, who, why: 'test', now: Date.now(), install,
  }).id;
  let id = go();
  while (skipTo !== undefined && id < skipTo) {
    store.transition(id, 'abort', who, null, { now: Date.now() });
    id = go();
  }
  return id;
}

