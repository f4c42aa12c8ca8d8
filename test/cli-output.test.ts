// What a terminal or a pipe sees of a command (issue 25): `gtr plan --json | head -1` closes the pipe after
// the first chunk (the command reaches its own exit code, no `write EPIPE` trace, its run recorded), and no
// MaxListenersExceededWarning with more than 10 requests in flight on the shutdown signal.
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

describe('many requests at once on one shutdown signal', () => {
  it('reconcile with policy.maxConcurrency 60: no Node warning at all on stderr (one abort listener per request in flight is no leak)', async () => {
    const sim = await startSimulator({ fleet: testFleet(120, { hosts: 120 }), jobDurationMs: 50 });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim, { policy: { maxConcurrency: 60, maxPerHost: 1 } }));
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(sim.maxAttachInFlight > 10, `more than 10 attaches were in flight at once (${sim.maxAttachInFlight})`);
      assert.doesNotMatch(r.stderr, /Warning|memory leak|\(node:\d+\)/);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
