// The benchmark's simulated management node, in its own process so that its CPU (it answers every
// request of the run) does not count against the reconciler's. Driven over IPC by scripts/bench.ts:
// started with its options as argv[2] (JSON), it replies {endpoint, ...}; then answers 'stats' and 'close'.
import { generateFleet, startSimulator } from '../../src/sim/index.js';
import { uuidLists } from '../../test/helpers/query-lists.js';
import type { ReadFigures } from './report.js';

interface ChildOptions {
  vms: number;
  seed: number;
  latencyMs: number;
  jobMs: number;
  outdatedShare: number;
  /** The warm variant: serialised query replies kept until the world changes (SimOptions.cacheReplies). */
  cacheReplies: boolean;
  /** The install scenario (--install): every Linux VM's QEMU guest agent runs, its installer takes the job's time. */
  install?: boolean;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const fleetOptions = { vms: opts.vms, seed: opts.seed, isoVersion: '1.2.0', outdatedShare: opts.outdatedShare };
const sim = await startSimulator({
  fleet: opts.install
    ? generateFleet(fleetOptions).map((vm) => (vm.platform === 'Linux' ? { ...vm, guest: { qgaState: 'Running' as const, version: vm.guest?.version ?? null } } : vm))
    : fleetOptions,
  ...(opts.install ? { guests: { installMs: opts.jobMs, agentRestartMs: 1 } } : {}),
  jobDurationMs: opts.jobMs,
  faults: opts.latencyMs > 0 ? { latencyMs: opts.latencyMs } : undefined,
  cacheReplies: opts.cacheReplies,
});
/** CPU (user + system) since the last 'reset': what the simulator spent answering the measured run. */
function cpuMeter(): { reset(): void; ms(): number } {
  let base = process.cpuUsage();
  return {
    reset: () => {
      base = process.cpuUsage();
    },
    ms: () => {
      const d = process.cpuUsage(base);
      return (d.user + d.system) / 1000;
    },
  };
}
const cpu = cpuMeter();

/** The reads before the first attach: the inventory (fleet-wide queries) and the re-read of the attach set (batches). */
function readFigures(): ReadFigures {
  const firstAttach = sim.calls.findIndex((c) => c.api === 'AttachGuestToolsIsoToVm');
  const reads = (firstAttach < 0 ? sim.calls : sim.calls.slice(0, firstAttach)).filter((c) => c.api.startsWith('Query'));
  const inventory = reads.filter((c) => uuidLists(c.query).length === 0);
  const reread = reads.filter((c) => uuidLists(c.query).length > 0);
  return {
    inventoryRequests: inventory.length,
    inventoryPages: inventory.filter((c) => c.api === 'QueryVmInstance').length,
    rereadRequests: reread.length,
    rereadBatches: new Set(reread.flatMap((c) => uuidLists(c.query))).size,
  };
}

process.on('message', (msg: unknown) => {
  if (msg === 'stats') {
    process.send?.({ kind: 'stats', requestsByApi: sim.requestsByApi(), attaches: sim.attachesStarted().length, reads: readFigures(), cpuMs: cpu.ms() });
  } else if (msg === 'installers') {
    // The install scenario waits for every launched installer to have ended in its guest.
    const runs = sim.installerRuns();
    process.send?.({ kind: 'installers', launched: runs.length, ended: runs.filter((r) => r.outcome !== undefined).length });
  } else if (msg === 'reset') {
    sim.calls.length = 0;
    cpu.reset();
    process.send?.({ kind: 'reset' });
  } else if (msg === 'close') {
    void sim.close().then(() => process.exit(0));
  }
});
// The parent going away must not leave a server behind.
process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
process.send?.({ kind: 'ready', endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password });
