// `gtr plan --json | head -1` (issue 25): the reader closes the pipe after the first chunk. The command
// goes on to its own exit code, with no Node stack trace (`write EPIPE`), and its run is recorded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startSimulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { exited, gtr, simConfig, spawnGtr, workspace } from './helpers/cli.js';

describe('output to a pipe closed early', () => {
  it('plan --json read by a reader that stops after its first chunk: exit 0, no stack trace, the run recorded', async () => {
    // 3000 VMs: a document far larger than a pipe's buffer, so writes go on after the reader left.
    const sim = await startSimulator({ fleet: testFleet(3000, { hosts: 50 }), jobDurationMs: 5 });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim, {}));
      const child = spawnGtr(['plan', '--json', '--config', config]);
      const stdout = child.stdout;
      assert.ok(stdout);
      await once(stdout, 'data');
      stdout.destroy();
      const end = await exited(child);
      assert.equal(end.code, 0, child.output().stderr);
      assert.doesNotMatch(child.output().stderr, /EPIPE|^\s+at /m);
      const runs = JSON.parse((await gtr(['runs', '--json', '--config', config])).stdout) as { runs: { status: string; counts: { vms: number } }[] };
      assert.deepEqual(runs.runs.map((r) => [r.status, r.counts.vms]), [['dry-run', 3000]]);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
