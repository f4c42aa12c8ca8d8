// The benchmark's simulated management node, in its own process so that its CPU (it answers every
// request of the run) does not count against the reconciler's. Driven over IPC by scripts/bench.ts:
// started with its options as argv[2] (JSON), it replies {endpoint, ...}; then answers 'stats' and 'close'.
import { startSimulator } from '../../src/sim/index.js';

interface ChildOptions {
  vms: number;
  seed: number;
  latencyMs: number;
  jobMs: number;
  outdatedShare: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const sim = await startSimulator({
  fleet: { vms: opts.vms, seed: opts.seed, isoVersion: '1.2.0', outdatedShare: opts.outdatedShare },
  jobDurationMs: opts.jobMs,
  faults: opts.latencyMs > 0 ? { latencyMs: opts.latencyMs } : undefined,
});

process.on('message', (msg: unknown) => {
  if (msg === 'stats') {
    process.send?.({ kind: 'stats', requestsByApi: sim.requestsByApi(), attaches: sim.attachesStarted().length });
  } else if (msg === 'reset') {
    sim.calls.length = 0;
    process.send?.({ kind: 'reset' });
  } else if (msg === 'close') {
    void sim.close().then(() => process.exit(0));
  }
});
// The parent going away must not leave a server behind.
process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
process.send?.({ kind: 'ready', endpoint: sim.endpoint, accountName: sim.accountName, password: sim.password });
