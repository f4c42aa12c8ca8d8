// Fault suite, end to end through the CLI: ZStack error bodies (5xx), plain-text proxy errors,
// connection resets and timeouts on every API kind, then latency spikes and sessions expiring at
// random points. After each: no VM attached twice, every run terminal and recorded, exit codes as
// documented, and a clean run afterwards converges.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type ApiName, type FaultOptions } from '../src/sim/index.js';
import { gtr, simConfig, workspace } from './helpers/cli.js';
import { checkExit, checkInvariants, ledgerFacts, outdatedFleet } from './helpers/fault.js';

const EVERY_API: ApiName[] = [
  'LogInByAccount', 'LogOut', 'QueryVmInstance', 'QueryVmCdRom', 'QuerySystemTag', 'QueryGuestToolsState',
  'AttachGuestToolsIsoToVm', 'GetLatestGuestToolsForVm', 'QueryJob',
];
const everyApi = (rate: number) => Object.fromEntries(EVERY_API.map((api) => [api, rate])) as Partial<Record<ApiName, number>>;

const VMS = 12;

/**
 * Runs `reconcile --json` `runs` times under `faults`, then once more without faults, and checks the
 * invariants. Returns the exit codes and the statuses printed, for scenario-specific assertions.
 */
async function underFaults(faults: FaultOptions, runs: number, zstack: Record<string, unknown> = {}) {
  const sim = await startSimulator({ fleet: outdatedFleet(VMS, 4), jobDurationMs: 10, guests: { installShare: 1 } });
  const ws = await workspace();
  try {
    const config = ws.writeConfig(simConfig(ws, sim, { zstack, policy: { maxConcurrency: 4, maxPerHost: 2, maxErrors: '100%' } }));
    sim.setFaults(faults);
    const codes: number[] = [];
    let maxPutsPerVm = 0;
    for (let i = 0; i < runs; i++) {
      const from = sim.calls.length;
      const r = await gtr(['reconcile', '--config', config, '--json']);
      checkExit(r);
      codes.push(r.code as number);
      // PUTs per VM within this run: the first, plus at most one resend after ID.1001.
      const puts = new Map<string, number>();
      for (const c of sim.calls.slice(from)) if (c.api === 'AttachGuestToolsIsoToVm' && c.vmUuid) puts.set(c.vmUuid, (puts.get(c.vmUuid) ?? 0) + 1);
      maxPutsPerVm = Math.max(maxPutsPerVm, ...puts.values());
    }
    const injected = sim.faultsInjected();
    sim.setFaults({});
    const clean = await gtr(['reconcile', '--config', config, '--json']);
    assert.equal(checkExit(clean, [0]) !== null, true, 'the clean run prints its report');
    const attaches = sim.attachesStarted();
    const inv = checkInvariants(attaches, ws.database);
    assert.deepEqual(inv.duplicates, [], 'no VM attached twice for the same target');
    assert.deepEqual(inv.nonTerminalRuns, [], 'every run ends in a terminal status');
    assert.deepEqual(inv.unrecorded, [], 'every attach the MN ran has its job uuid in the ledger');
    assert.equal(inv.pending, 0, 'no attach left in doubt');
    const facts = ledgerFacts(ws.database);
    assert.equal(facts.runs.length, runs + 1, 'every run is on record, including the failed ones');
    // Level-triggered convergence: a VM never attached is attached by the clean run at the latest,
    // unless an earlier attach of it failed (then it waits for reattachAfter: never twice).
    const attached = new Set(attaches.map((a) => a.vmUuid));
    const neither = sim.vms().filter((vm) => !attached.has(vm.uuid) && !facts.failedVms.has(vm.uuid)).map((vm) => vm.uuid);
    assert.deepEqual(neither, [], 'every VM was attached or has a recorded failure');
    return { codes, injected, attaches, maxPutsPerVm };
  } finally {
    await sim.close();
    ws.cleanup();
  }
}

describe('fault suite: every API kind', () => {
  it('ZStack error bodies (503 SYS.1000): runs fail or partly fail with documented codes; nothing attached twice', async () => {
    const { codes, injected } = await underFaults({ seed: 11, errorRates: everyApi(0.08) }, 4);
    assert.ok((injected.error ?? 0) > 0, 'faults were injected');
    assert.ok(codes.every((c) => [0, 1, 3, 4].includes(c)));
  });

  it('plain-text proxy errors (502/503): retried for reads, polled for the attach, never re-sent', async () => {
    const { injected } = await underFaults({ seed: 12, proxyErrorRates: everyApi(0.15) }, 3);
    assert.ok((injected.proxy ?? 0) > 0, 'faults were injected');
  });

  it('connection resets: retried for reads; a reset attach is found by polling its job', async () => {
    const { injected } = await underFaults({ seed: 13, resetRates: everyApi(0.15) }, 3);
    assert.ok((injected.reset ?? 0) > 0, 'faults were injected');
  });

  it('timeouts (the MN acts but never answers): reads retried, the attach resolved through its job', async () => {
    const { injected } = await underFaults({ seed: 14, timeoutRates: everyApi(0.1) }, 3, { requestTimeoutMs: 300 });
    assert.ok((injected.timeout ?? 0) > 0, 'faults were injected');
  });
});

describe('fault suite: latency and sessions', () => {
  it('latency spikes longer than the request timeout: the late attach is never re-sent', async () => {
    const { injected } = await underFaults({ seed: 21, latencyMs: 5, spikeRate: 0.15, spikeMs: 450 }, 3, { requestTimeoutMs: 300 });
    assert.ok((injected.spike ?? 0) > 0, 'spikes were injected');
  });

  it('sessions expiring at random points: re-login, at most one resend of a rejected attach, exit 0 or documented', async () => {
    const { injected, codes, maxPutsPerVm } = await underFaults({ seed: 22, sessionExpireRate: 0.12 }, 3);
    assert.ok((injected['session-expired'] ?? 0) > 0, 'sessions expired');
    assert.ok(maxPutsPerVm <= 2, `at most one resend after ID.1001 in a run (saw ${maxPutsPerVm} PUTs for one VM)`);
    assert.ok(codes.some((c) => c === 0), 'a run gets through despite the expiries');
  });
});
