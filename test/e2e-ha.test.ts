// Two daemons, two databases, one simulator: a pair of management nodes as real child processes
// (test/helpers/ha-pair.ts). What a user would notice: a paused rollout stays paused after a failover,
// no VM is attached twice when the leader switches during a run, and a new leader with a stale ledger
// and no peer waits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateAttaches } from './helpers/fault.js';
import { gtr, waitFor } from './helpers/cli.js';
import type { LogLine } from './helpers/daemon.js';
import { attachedOnce, health, leadsAndAttaches, rolloutState, start, withPair } from './helpers/ha-pair.js';

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

      // The operator resumes on the new leader; the old one (standby now) gets it at once too (or already
      // has it, when its sync from B came between B's own resume and B's call).
      const resumed = await gtr(['rollout', 'resume', String(id), '--config', nodes.B.config]);
      assert.match(resumed.stdout, new RegExp(`peer ${nodes.A.url}: (already )?resumed`));
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
      assert.equal(byB?.basis, 'caught-up', JSON.stringify(byB));
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
      assert.equal(going.basis, 'peer-unavailable-timeout', JSON.stringify(going));
      const firstAttach = Math.min(...sim.attachesStarted().map((a) => a.at));
      const at = (line: LogLine) => Date.parse(String(line.time));
      assert.ok(firstAttach >= at(going), 'the first attach came after the wait ended');
      assert.ok(at(going) - at(became) >= 2000, 'the wait lasted 2 x ha.syncInterval');
    });
  });
});
