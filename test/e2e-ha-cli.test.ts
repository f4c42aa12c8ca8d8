// One-shot commands on a pair of management nodes (two daemons, two databases, one simulator, the CLI
// as child processes: test/helpers/ha-pair.ts), as an operator runs them around a failover:
// - a `gtr reconcile` on the old leader that still holds the lease holds the new leader back;
// - a `gtr reconcile` on a node that just became leader waits for its ledger to catch up, or exits 5;
// - a `gtr retry` on the standby reaches the leader and survives the next sync.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateAttaches, HEX } from './helpers/fault.js';
import { exited, gtr, spawnGtr, waitFor } from './helpers/cli.js';
import { logLines, type LogLine } from './helpers/daemon.js';
import { attachedOnce, health, leadsAndAttaches, NEVER, start, withPair, type Node } from './helpers/ha-pair.js';

const at = (line: LogLine) => Date.parse(String(line.time));

async function syncedFromPeer(node: Node): Promise<boolean> {
  return typeof (await health(node)).body.ha.sync?.lastSyncAt === 'string';
}

/** The VMs `gtr status --json` on this node shows quarantined, sorted. */
async function quarantined(node: Node): Promise<string[]> {
  const r = await gtr(['status', '--json', '--config', node.config]);
  assert.equal(r.code, 0, r.stderr);
  const { needsAttention } = JSON.parse(r.stdout) as { needsAttention: { vms: { vmUuid: string; quarantinedUntil: string | null }[] } };
  return needsAttention.vms.filter((v) => v.quarantinedUntil !== null).map((v) => v.vmUuid).sort();
}

describe('two management nodes: one-shot commands around a failover', () => {
  it('a gtr reconcile on the old leader holds the new leader back while it holds the lease: no copy taken, nothing attached, no VM twice', async () => {
    const vms = 6;
    // A never ticks: the only run on A is the operator's gtr reconcile.
    await withPair({ vms, jobDurationMs: 10, cron: { A: NEVER } }, async ({ sim, nodes, lead }) => {
      lead('A');
      await start(nodes.A);
      await start(nodes.B);
      await waitFor('B synced from A', () => syncedFromPeer(nodes.B), 30_000);
      sim.holdAttachJobs();
      const cli = spawnGtr(['reconcile', '--json', '--config', nodes.A.config]);
      await waitFor('the run on A has two attaches in flight', () => sim.attachesStarted().length === 2, 30_000);

      lead('B');
      const held = await waitFor('B leads and either waits for the run on A or attaches', async () => {
        const h = await health(nodes.B);
        const reason = h.body.ha.sync?.reason;
        return h.body.role === 'leader' && (reason === null || /peer's run/.test(String(reason))) ? h : null;
      }, 30_000);
      assert.match(String(held.body.ha.sync?.reason), /waiting for the peer's run to finish/, 'the lease of a gtr reconcile is a run in progress');
      assert.equal(held.status, 503);
      await waitFor("A's daemon declines B's copy too while the run holds the lease", () => nodes.A.daemon.lines()
        .some((l) => l.msg === 'ledger not synced' && l.problem === 'not pulling: a run of this node is under way'), 30_000);
      assert.equal(sim.attachesStarted().length, 2, 'B attached nothing meanwhile');
      assert.ok(!nodes.B.daemon.lines().some((l) => l.msg === 'leader attaching'), 'B has not gone on');

      const releasedAt = Date.now();
      sim.releaseAttachJobs();
      const done = await exited(cli);
      // It lost leadership during the run: exit 5, unless its check still said leader to the end (0).
      assert.ok(done.code === 5 || done.code === 0, `${done.code}: ${cli.output().stderr.slice(-2000)}`);
      await waitFor('every VM attached', () => attachedOnce(sim, vms), 60_000);
      await waitFor('B leads and attaches', () => leadsAndAttaches(nodes.B), 30_000);
      assert.deepEqual(duplicateAttaches(sim.attachesStarted()), []);
      assert.equal(sim.attachesStarted().length, vms, 'one attach per VM in all');
      assert.equal(sim.attachesStarted().filter((a) => a.at < releasedAt).length, 2, 'nothing else started while the run on A held the lease');
      const ready = nodes.B.daemon.lines().find((l) => l.msg === 'leader attaching');
      assert.ok(ready, JSON.stringify(nodes.B.daemon.lines().slice(-5)));
      assert.equal(ready.basis, 'caught-up', JSON.stringify(ready));
      assert.ok(at(ready) >= releasedAt, 'B went on only after the run on A ended');
    });
  });

  it('gtr reconcile on a node that just became leader waits for its ledger to catch up, or exits 5 saying why, attaching nothing meanwhile', async () => {
    const vms = 4;
    // Neither daemon ticks: every attach is the operator's gtr reconcile on B. 2 x ha.syncInterval = 10 s.
    await withPair({ vms, jobDurationMs: 10, cron: { A: NEVER, B: NEVER }, syncInterval: '5s' }, async ({ sim, nodes, lead, alsoLead }) => {
      lead('A');
      await start(nodes.A);
      await start(nodes.B);
      await waitFor('B synced from A', () => syncedFromPeer(nodes.B), 30_000);
      // Both checks answer leader for a while (the old leader's answer, a VIP moving): B has not caught up.
      alsoLead('B');
      await waitFor('B waits for A to step down', async () => /still says it is the leader/.test(String((await health(nodes.B)).body.ha.sync?.reason)), 30_000);

      const refused = await gtr(['reconcile', '--json', '--config', nodes.B.config]);
      assert.equal(refused.code, 5, refused.stderr);
      assert.equal(refused.stdout, '');
      assert.match(refused.stderr, /this node leads but its ledger has not caught up with the peer's after 10 s \(2 x ha\.syncInterval\): the peer still says it is the leader; waiting for it to step down; nothing was attached/);
      assert.match(refused.stderr, /GTR_HA_NOT_CAUGHT_UP|The daemon on this node catches up from the peer/);
      assert.ok(logLines(refused.stderr).some((l) => l.msg === 'ledger not caught up with the peer yet: waiting before attaching'), refused.stderr);
      assert.equal(sim.attachesStarted().length, 0, 'nothing attached');
      const runs = JSON.parse((await gtr(['runs', '--json', '--config', nodes.B.config])).stdout) as { runs: { trigger: string }[] };
      assert.deepEqual(runs.runs.filter((r) => r.trigger === 'cli'), [], 'no run recorded: it never took the lease');

      // Run again; A steps down meanwhile: B's daemon takes A's ledger, and the run goes on from it.
      const waiting = spawnGtr(['reconcile', '--json', '--config', nodes.B.config]);
      await waitFor('the run on B says it waits', () => logLines(waiting.output().stderr).some((l) => l.msg === 'ledger not caught up with the peer yet: waiting before attaching'), 30_000);
      lead('B');
      const done = await exited(waiting);
      assert.equal(done.code, 0, waiting.output().stderr);
      const caughtUp = logLines(waiting.output().stderr).find((l) => l.msg === 'ledger caught up with the peer');
      assert.equal(caughtUp?.basis, 'as-new', JSON.stringify(caughtUp));
      const ready = nodes.B.daemon.lines().find((l) => l.msg === 'leader attaching');
      assert.equal(ready?.basis, 'caught-up', JSON.stringify(ready));
      assert.ok(attachedOnce(sim, vms));
      assert.deepEqual(duplicateAttaches(sim.attachesStarted()), []);
      assert.ok(Math.min(...sim.attachesStarted().map((a) => a.at)) >= at(ready as LogLine), 'the first attach came after B caught up');
    });
  });

  it('gtr retry on the standby reaches the leader and survives the next sync; with the leader down it says it did not', async () => {
    await withPair({ vms: 2, jobDurationMs: 10, cron: { A: NEVER, B: NEVER }, policy: { quarantineAfter: 1, maxErrors: '100%' } }, async ({ sim, nodes, lead }) => {
      lead('A');
      await start(nodes.A);
      await start(nodes.B);
      await waitFor('A leads and attaches', () => leadsAndAttaches(nodes.A), 30_000);
      sim.setFaults({ attachFailRate: 1 });
      const failing = await gtr(['reconcile', '--config', nodes.A.config]);
      assert.equal(failing.code, 1, failing.stderr);
      sim.setFaults({ attachFailRate: 0 });
      assert.deepEqual(await quarantined(nodes.A), [HEX(1), HEX(2)]);
      await waitFor('B mirrors both quarantines', async () => (await quarantined(nodes.B)).length === 2, 30_000);

      const retry = await gtr(['retry', '--vm', HEX(1), '--config', nodes.B.config]);
      const retriedAt = Date.now();
      assert.equal(retry.code, 0, retry.stderr);
      assert.match(retry.stdout, new RegExp(`${HEX(1)}: failures, quarantine and attempts forgotten`));
      assert.match(retry.stdout, new RegExp(`peer ${nodes.A.url}: forgotten there too \\(1 of 1 VMs had a record there\\)`));
      assert.deepEqual(await quarantined(nodes.A), [HEX(2)], 'on the leader at once');
      await waitFor('B synced from A after the retry', async () => Date.parse(String((await health(nodes.B)).body.ha.sync?.lastSyncAt)) > retriedAt, 30_000);
      assert.deepEqual(await quarantined(nodes.B), [HEX(2)], 'the sync keeps it: the leader has it too');
      const again = await gtr(['reconcile', '--json', '--config', nodes.A.config]);
      const actions = (JSON.parse(again.stdout) as { actions: { vmUuid: string; action: string; reason: string; outcome?: string }[] }).actions;
      const of = (vm: string) => actions.find((a) => a.vmUuid === vm);
      assert.equal(of(HEX(1))?.action, 'attach', again.stdout);
      assert.equal(`${of(HEX(2))?.action}/${of(HEX(2))?.reason}`, 'defer/quarantined');

      // The leader is down: the standby's retry is its own only, and it says so.
      assert.equal((await nodes.A.daemon.stop()).code, 0);
      nodes.A.daemon = null as never;
      const alone = await gtr(['retry', '--vm', HEX(2), '--config', nodes.B.config]);
      assert.equal(alone.code, 0, alone.stderr);
      assert.match(alone.stdout, new RegExp(`warning: peer ${nodes.A.url} did not get this \\(.*is unreachable.*\\)\\. .*If the peer is the leader, run the command there: its next sync replaces this node's ledger`));
    });
  });
});
