// Rollout end-to-end tests share this: a simulator and a workspace with its config, `gtr rollout` and
// `gtr reconcile` as real processes, and the rollout as stored.
import assert from 'node:assert/strict';
import { startSimulator, type SimIso, type SimOptions } from '../../src/sim/index.js';
import { Ledger } from '../../src/ledger/index.js';
import { RolloutStore } from '../../src/rollout/store.js';
import type { RolloutDetail } from '../../src/rollout/records.js';
import { DEFAULT_ISOS, gtr, simConfig, waitFor, withSimSetup } from './cli.js';

export type Sim = Awaited<ReturnType<typeof startSimulator>>;

export interface RolloutSetup {
  sim: Sim;
  config: string;
  database: string;
  rollout(args: string[]): ReturnType<typeof gtr>;
  reconcile(): ReturnType<typeof gtr>;
  read(id: number): RolloutDetail;
}

/** Simulated guests install 20 ms after an attach; jobs take 10 ms unless `simOpts` says otherwise. */
export async function withRolloutSetup(
  simOpts: SimOptions,
  extra: Parameters<typeof simConfig>[2],
  fn: (s: RolloutSetup) => Promise<void>,
  isos: SimIso[] = DEFAULT_ISOS,
): Promise<void> {
  await withSimSetup({ jobDurationMs: 10, guests: { installShare: 1 }, ...simOpts }, extra, ({ sim, ws, config }) =>
    fn({
      sim,
      config,
      database: ws.database,
      rollout: (args) => gtr(['rollout', ...args, '--config', config]),
      reconcile: () => gtr(['reconcile', '--config', config]),
      read: (id) => withLedger(ws.database, (ledger) => {
        const r = new RolloutStore(ledger).get(id);
        assert.ok(r, `rollout ${id} exists`);
        return r;
      }),
    }), isos);
}

export function withLedger<T>(database: string, fn: (ledger: Ledger) => T): T {
  const ledger = Ledger.open(database);
  try {
    return fn(ledger);
  } finally {
    ledger.close();
  }
}

/** `gtr rollout start --json ARGS`, which must succeed. */
export async function startRolloutCli<T>(s: RolloutSetup, args: string[]): Promise<T> {
  const r = await s.rollout(['start', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** Runs `gtr reconcile` until `done` holds (bounded). */
export async function reconcileUntil(s: RolloutSetup, what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
  await waitFor(what, async () => {
    if (done()) return true;
    const r = await s.reconcile();
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    return done();
  }, timeoutMs, 0);
}

export const attachedVms = (sim: Sim) => sim.attachesStarted().map((a) => a.vmUuid);
