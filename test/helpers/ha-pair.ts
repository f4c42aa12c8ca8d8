// A pair of management nodes as real child processes: two daemons, two databases, one simulator.
// Leadership is a command check per node (`test -e DIR/leader-A`), moved by the test with a file.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { testFleet } from './fleet.js';
import { freePort, gtr, simConfig, workspace, type Workspace } from './cli.js';
import { startDaemon } from './daemon.js';

export const EVERY_SECOND = '* * * * * *';
/** A schedule that never comes in a test: the daemon only leads, syncs and serves its ledger. */
export const NEVER = '0 0 0 1 1 *';
const TOKEN = 'ha-e2e-token-0123456789abcdef';

export type Name = 'A' | 'B';
export interface Node {
  ws: Workspace;
  config: string;
  daemon: ReturnType<typeof startDaemon>;
  url: string;
}

export async function health(node: Node): Promise<{ status: number; body: Record<string, unknown> & { ha: { sync?: Record<string, unknown> } } }> {
  const res = await request(`${node.url}/healthz`);
  return { status: res.statusCode, body: (await res.body.json()) as never };
}

/** True once the node leads and has caught up (its sync no longer holds it back). */
export async function leadsAndAttaches(node: Node): Promise<boolean> {
  const h = await health(node);
  return h.body.role === 'leader' && h.body.ha.sync?.reason === null;
}

export interface Pair {
  sim: Simulator;
  nodes: Record<Name, Node>;
  lead(name: Name | null): void;
  /** This node's check answers leader too, the other's still does (an old leader's answer, a VIP moving). */
  alsoLead(name: Name): void;
}

export interface PairOptions {
  vms: number;
  jobDurationMs: number;
  policy?: Record<string, unknown>;
  cron?: Partial<Record<Name, string>>;
  /** ha.syncInterval of both nodes (default 1s). */
  syncInterval?: string;
}

export async function withPair(opts: PairOptions, fn: (p: Pair) => Promise<void>): Promise<void> {
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
          syncInterval: opts.syncInterval ?? '1s',
          tokenFile,
        },
      }));
      nodes[name] = { ws, config, daemon: null as never, url: `http://127.0.0.1:${ports[name]}` };
    }
    const alsoLead = (name: Name) => writeFileSync(join(flags, `leader-${name}`), '');
    await fn({ sim, nodes, lead, alsoLead });
  } finally {
    for (const node of Object.values(nodes)) {
      if (node.daemon) await node.daemon.stop();
      node.ws.cleanup();
    }
    await sim.close();
    rmSync(flags, { recursive: true, force: true });
  }
}

export function start(node: Node): Promise<string> {
  node.daemon = startDaemon(node.config);
  return node.daemon.url();
}

export async function rolloutState(node: Node, id: number): Promise<{ state: string; currentWave: number | null }> {
  const r = await gtr(['rollout', 'status', String(id), '--json', '--config', node.config]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { state: string; currentWave: number | null };
}

/** Every one of the `vms` VMs has had an attach that the MN did not fail. */
export const attachedOnce = (sim: Simulator, vms: number) => new Set(sim.attachesStarted().filter((a) => !a.failedWith).map((a) => a.vmUuid)).size === vms;
