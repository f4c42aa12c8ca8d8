// Two daemons, two databases, one simulator: a pair of management nodes as real child processes.
// Leadership is a command check per node (`test -e DIR/leader-A`), moved by the test with a file.
// What a user would notice: a paused rollout stays paused after a failover, no VM is attached twice
// when the leader switches during a run, and a new leader with a stale ledger and no peer waits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { duplicateAttaches } from './helpers/fault.js';
import { gtr, simConfig, waitFor, workspace, type Workspace } from './helpers/cli.js';
import { startDaemon, type LogLine } from './helpers/daemon.js';

const EVERY_SECOND = '* * * * * *';
const TOKEN = 'ha-e2e-token-0123456789abcdef';

type Name = 'A' | 'B';
interface Node {
  ws: Workspace;
  config: string;
  daemon: ReturnType<typeof startDaemon>;
  url: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function health(node: Node): Promise<{ status: number; body: Record<string, unknown> & { ha: { sync?: Record<string, unknown> } } }> {
  const res = await request(`${node.url}/healthz`);
  return { status: res.statusCode, body: (await res.body.json()) as never };
}

/** True once the node leads and has caught up (its sync no longer holds it back). */
async function leadsAndAttaches(node: Node): Promise<boolean> {
  const h = await health(node);
  return h.body.role === 'leader' && h.body.ha.sync?.reason === null;
}

interface Pair {
  sim: Simulator;
  nodes: Record<Name, Node>;
  lead(name: Name | null): void;
}

async function withPair(
  opts: { vms: number; jobDurationMs: number; policy?: Record<string, unknown>; cron?: Partial<Record<Name, string>> },
  fn: (p: Pair) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({ fleet: testFleet(opts.vms), jobDurationMs: opts.jobDurationMs, guests: { installShare: 1 }, password: 'Pair-Secret-7' });
  const flags = mkdtempSync(join(tmpdir(), 'gtr-ha-flags-'));
  const tokenFile = join(flags, 'ha-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const ports = { A: await freePort(), B: await freePort() };
  const nodes = {} as Record<Name, Node>;
  const lead = (name: Name | null) => {
    // One rename: there is never a moment with two leader files.
    const current = (['A', 'B'] as const).map((n) => join(flags, `leader-${n}`));
    if (name === null) for (const f of current) rmSync(f, { force: true });
    else {
      const other = join(flags, `leader-${name === 'A' ? 'B' : 'A'}`);
      try {
        renameSync(other, join(flags, `leader-${name}`));
      } catch {
        writeFileSync(join(flags, `leader-${name}`), '');
      }
    }
  };
  try {
    for (const name of ['A', 'B'] as const) {
      const ws = await workspace();
      const peer = name === 'A' ? 'B' : 'A';
      const config = ws.writeConfig(simConfig(ws, sim, {
        schedule: { cron: opts.cron?.[name] ?? EVERY_SECOND },
        http: { listen: `127.0.0.1:${ports[name]}` },
        log: { level: 'info' },
        policy: { maxConcurrency: 2, maxPerHost: 1, ...opts.policy },
        ha: {
          leaderCheck: { command: ['/bin/sh', '-c', `test -e ${join(flags, `leader-${name}`)}`] },
          peer: `http://127.0.0.1:${ports[peer]}`,
          syncInterval: '1s',
          tokenFile,
        },
      }));
      nodes[name] = { ws, config, daemon: null as never, url: `http://127.0.0.1:${ports[name]}` };
    }
    await fn({ sim, nodes, lead });
  } finally {
    for (const node of Object.values(nodes)) {
      if (node.daemon) await node.daemon.stop();
      node.ws.cleanup();
    }
    await sim.close();
    rmSync(flags, { recursive: true, force: true });
  }
}

function start(node: Node): Promise<string> {
  node.daemon = startDaemon(node.config);
  return node.daemon.url();
}

async function rolloutState(node: Node, id: number): Promise<{ state: string; currentWave: number | null }> {
  const r = await gtr(['rollout', 'status', String(id), '--json', '--config', node.config]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { state: string; currentWave: number | null };
}

const attachedOnce = (sim: Simulator, vms: number) => new Set(sim.attachesStarted().filter((a) => !a.failedWith).map((a) => a.vmUuid)).size === vms;

describe('two management nodes', () => {
  it('a rollout paused on the leader is paused on the standby at once, and stays paused after a failover', async () => {
    await withPair({ vms: 6, jobDurationMs: 10, policy: { mode: 'rollout' } }, async ({ sim, nodes, lead }) => {
      lead('A');
      await start(nodes.A);
      await start(nodes.B);
      await waitFor('A leads and attaches', () => leadsAndAttaches(nodes.A));
      const started = await gtr(['rollout', 'start', '--waves', '1,100%', '--soak', '1h', '--json', '--config', nodes.A.config]);
      assert.equal(started.code, 0, started.stderr);
      const { id, peer } = JSON.parse(started.stdout) as { id: number; peer: { ok: boolean; message: string } };
      assert.equal(peer.ok, true, peer.message);
      await waitFor('the canary attached by A', () => sim.attachesStarted().length === 1);

      const paused = await gtr(['rollout', 'pause', String(id), '--reason', 'OPS-42', '--config', nodes.A.config]);
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, new RegExp(`peer ${nodes.B.url}: paused \\(rollout ${id} paused there\\)`));
      assert.equal((await rolloutState(nodes.B, id)).state, 'paused', 'on the standby at once, before any sync');

      lead('B');
      await waitFor('B leads and attaches', () => leadsAndAttaches(nodes.B), 30_000);
      const runsBefore = (await gtr(['runs', '--json', '--config', nodes.B.config])).stdout;
      const count = (text: string) => (JSON.parse(text) as { runs: unknown[] }).runs.length;
      await waitFor('two more runs on B', async () => count((await gtr(['runs', '--json', '--config', nodes.B.config])).stdout) >= count(runsBefore) + 2, 30_000);
      const onB = await rolloutState(nodes.B, id);
      assert.equal(onB.state, 'paused');
      assert.equal(onB.currentWave, 1, 'no wave advanced');
      assert.equal(sim.attachesStarted().length, 1, 'nothing more attached by the new leader');

      // The operator resumes on the new leader; the old one (standby now) gets it at once too.
      const resumed = await gtr(['rollout', 'resume', String(id), '--config', nodes.B.config]);
      assert.match(resumed.stdout, new RegExp(`peer ${nodes.A.url}: resumed`));
      assert.equal((await rolloutState(nodes.A, id)).state, 'active');
    });
  });

  it('no VM is attached twice when the leader switches while its run has attaches in flight', async () => {
    const vms = 8;
    await withPair({ vms, jobDurationMs: 1500 }, async ({ sim, nodes, lead }) => {
      lead('A');
      await start(nodes.A);
      await start(nodes.B);
      await waitFor('A has attaches in flight', () => sim.attachesStarted().length >= 2, 30_000);
      lead('B');
      await waitFor('every VM attached', () => attachedOnce(sim, vms), 60_000);
      await waitFor('B leads and attaches', () => leadsAndAttaches(nodes.B), 30_000);
      assert.deepEqual(duplicateAttaches(sim.attachesStarted()), []);
      assert.equal(sim.attachesStarted().length, vms, 'one attach per VM in all');
      const byB = nodes.B.daemon.lines().find((l) => l.msg === 'leader attaching');
      assert.match(String(byB?.why), /caught up from the peer/, JSON.stringify(byB));
    });
  });

  it('a new leader with a stale ledger and an unreachable peer attaches nothing for 2 x ha.syncInterval, and /healthz says why', async () => {
    // A never ticks (its schedule is once a year): it only leads and serves its ledger.
    await withPair({ vms: 3, jobDurationMs: 10, cron: { A: '0 0 0 1 1 *' } }, async ({ sim, nodes, lead }) => {
      lead('A');
      await start(nodes.A);
      await start(nodes.B);
      await waitFor('B synced from A', async () => typeof (await health(nodes.B)).body.ha.sync?.lastSyncAt === 'string', 30_000);
      const stopped = await nodes.A.daemon.stop();
      assert.equal(stopped.code, 0);
      await waitFor("B's copy is stale", async () => (await health(nodes.B)).body.ha.sync?.ledgerFresh === false, 30_000);
      lead('B');
      const waiting = await waitFor('B says why it waits', async () => {
        const h = await health(nodes.B);
        return h.body.role === 'leader' && /^ledger snapshot stale/.test(String(h.body.ha.sync?.reason)) ? h : null;
      }, 30_000);
      assert.equal(waiting.status, 503);
      assert.match(String(waiting.body.reason), /leader not attaching yet: ledger snapshot stale \(snapshot \d+ s old\), re-syncing: .* is unreachable/);
      assert.equal(sim.attachesStarted().length, 0, 'nothing attached while it waits');
      await waitFor('B attaches after 2 x ha.syncInterval', () => attachedOnce(sim, 3), 30_000);
      const lines = nodes.B.daemon.lines();
      const became = lines.find((l) => l.msg === 'became leader: catching up from the peer before attaching');
      const going = lines.find((l) => l.msg === 'leader attaching');
      assert.ok(became && going, JSON.stringify(lines.slice(-5)));
      assert.match(String(going.why), /peer unavailable for 2 x ha.syncInterval/);
      const firstAttach = Math.min(...sim.attachesStarted().map((a) => a.at));
      const at = (line: LogLine) => Date.parse(String(line.time));
      assert.ok(firstAttach >= at(going), 'the first attach came after the wait ended');
      assert.ok(at(going) - at(became) >= 2000, 'the wait lasted 2 x ha.syncInterval');
    });
  });
});
