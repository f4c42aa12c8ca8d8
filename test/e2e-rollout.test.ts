// End to end: `gtr rollout` against the simulator with simulated guest installs, driven by repeated
// `gtr reconcile` runs (and the daemon for the crash test). Waits are bounded polls, never sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { SimVm } from '../src/sim/index.js';
import { Ledger } from '../src/ledger/index.js';
import { exited, gtr, spawnGtr, waitFor } from './helpers/cli.js';
import { attachedVms, reconcileUntil, startRolloutCli, withRolloutSetup, type RolloutSetup as Setup, type Sim } from './helpers/rollout.js';
import { HEX, testFleet } from './helpers/fleet.js';

/** Out-of-date Linux VMs whose guest reports 1.0.0: verified only once the guest installs the new tools. */
function fleet(count: number, patch: (i: number) => Partial<SimVm> = () => ({})): SimVm[] {
  return testFleet(count, { patch: (i) => ({ guest: { qgaState: 'Running', version: '1.0.0' }, ...patch(i) }) });
}

type RolloutOut = { id: number; state: string; stateReason: string | null; counts: Record<string, number>; waveProgress: { number: number; members: number; verified: number; state: string; soakEndsAt: string | null }[]; members: { vmUuid: string; wave: number; canary: boolean; status: string }[]; transitions: { event: string; who: string; why: string | null }[] };

const start = (s: Setup, args: string[]) => startRolloutCli<RolloutOut>(s, args);

const detachCalls = (sim: Sim) => sim.calls.filter((c) => c.api === 'DetachGuestToolsIsoFromVm' && c.method === 'PUT');

describe('gtr rollout', () => {
  it('runs a rollout through all its waves, in order, to completion', async () => {
    await withRolloutSetup({ fleet: fleet(10) }, { policy: { maxErrors: 0 } }, async (s) => {
      const started = await start(s, ['--waves', '1,50%,100%', '--soak', '0', '--wave-timeout', '1h', '--max-errors', '0']);
      assert.equal(started.state, 'active');
      assert.deepEqual(started.waveProgress.map((w) => w.members), [1, 4, 5]);
      assert.deepEqual(started.waveProgress.map((w) => w.state), ['running', 'waiting', 'waiting']);
      assert.equal(attachedVms(s.sim).length, 0, 'start only records the rollout');
      const waveOf = new Map(started.members.map((m) => [m.vmUuid, m.wave]));

      assert.equal((await s.reconcile()).code, 0);
      assert.deepEqual(attachedVms(s.sim), started.members.filter((m) => m.wave === 1).map((m) => m.vmUuid), 'the first run attaches wave 1 only');

      const status = await gtr(['status', '--config', s.config, '--json']);
      assert.equal((JSON.parse(status.stdout) as { rollouts: { id: number }[] }).rollouts[0].id, started.id, 'gtr status shows the active rollout');

      await reconcileUntil(s, 'rollout completed', () => s.read(started.id).state === 'completed');
      const attached = attachedVms(s.sim);
      assert.equal(attached.length, 10);
      assert.equal(new Set(attached).size, 10, 'each VM attached once');
      const waves = attached.map((uuid) => waveOf.get(uuid) ?? 0);
      assert.deepEqual(waves, [...waves].sort(), 'no VM of a wave is attached before every VM of the wave before');

      const r = await s.rollout(['status', String(started.id), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const done = JSON.parse(r.stdout) as RolloutOut;
      assert.equal(done.counts.verified, 10);
      assert.deepEqual(done.waveProgress.map((w) => w.state), ['completed', 'completed', 'completed']);
      assert.deepEqual(done.transitions.filter((t) => t.event.startsWith('wave-start')).length, 3);
      assert.equal(done.transitions.at(-1)?.event, 'complete');
      const human = await s.rollout(['status', String(started.id)]);
      assert.match(human.stdout, /wave\s+size\s+state\s+members\s+attached\s+installing\s+verified\s+failed\s+skipped\s+pending\s+started\s+times out\s+soak ends/);
      assert.doesNotMatch(human.stdout, /waits for/, 'a completed rollout waits for nothing');
      const list = await s.rollout(['list']);
      assert.match(list.stdout, new RegExp(`^\\s*${started.id}\\s+completed\\s+WindowsOnKvm,LinuxOnKvm\\s+1\\.2\\.0`, 'm'));
    });
  });

  it('waits out the soak, pauses, refuses an invalid transition, and resumes', async () => {
    await withRolloutSetup({ fleet: fleet(6) }, {}, async (s) => {
      const started = await start(s, ['--waves', '2,100%', '--soak', '1h']);
      await reconcileUntil(s, 'wave 1 completed', () => s.read(started.id).waves[0].completedAt !== null);
      for (let i = 0; i < 2; i++) assert.equal((await s.reconcile()).code, 0);
      assert.equal(attachedVms(s.sim).length, 2, 'no attach while the soak runs');
      const soaking = JSON.parse((await s.rollout(['status', '--json'])).stdout) as { rollouts: RolloutOut[] };
      assert.ok(soaking.rollouts[0].waveProgress[0].soakEndsAt, 'status shows when the soak ends');

      const pause = await s.rollout(['pause', String(started.id), '--reason', 'ticket OPS-42']);
      assert.equal(pause.code, 0, pause.stderr);
      assert.match(pause.stdout, /paused \(ticket OPS-42\)/);
      // Pausing a paused rollout (a retry, automation) is nothing to do: exit 0, said so, nothing recorded twice.
      const transitions = s.read(started.id).transitions.length;
      const again = await s.rollout(['pause', String(started.id)]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`note: rollout ${started.id} was already paused: nothing changed`));
      assert.equal(s.read(started.id).transitions.length, transitions, 'no second pause on record');

      // Pretend the soak is over: a paused rollout still attaches nothing.
      const ledger = Ledger.open(s.database);
      ledger.handle.write(() => ledger.handle.sql.get('UPDATE rollout_waves SET soak_until = 0 WHERE rollout_id = ?').run(started.id));
      ledger.close();
      for (let i = 0; i < 2; i++) assert.equal((await s.reconcile()).code, 0);
      assert.equal(attachedVms(s.sim).length, 2, 'nothing attached while paused');

      const resume = await s.rollout(['resume', String(started.id)]);
      assert.equal(resume.code, 0, resume.stderr);
      await reconcileUntil(s, 'rollout completed', () => s.read(started.id).state === 'completed');
      assert.equal(new Set(attachedVms(s.sim)).size, 6);
      const events = s.read(started.id).transitions.map((t) => `${t.event}:${t.who}`);
      assert.ok(events.includes(`pause:${events.find((e) => e.startsWith('start:'))?.slice(6)}`), 'who paused is recorded as user@host');
      assert.ok(events.some((e) => e.startsWith('resume:')));
      assert.equal((await s.rollout(['resume', String(started.id)])).code, 6, 'a completed rollout is final');
    });
  });

  it('abort stops attaching and leaves the ISO attached without --detach', async () => {
    await withRolloutSetup({ fleet: fleet(4, () => ({ installs: false })) }, {}, async (s) => {
      const started = await start(s, ['--waves', '2,100%', '--soak', '0']);
      assert.equal((await s.reconcile()).code, 0);
      assert.equal(attachedVms(s.sim).length, 2);
      const abort = await s.rollout(['abort', String(started.id)]);
      assert.equal(abort.code, 0, abort.stderr);
      for (let i = 0; i < 2; i++) assert.equal((await s.reconcile()).code, 0);
      assert.equal(attachedVms(s.sim).length, 2, 'nothing attached after abort (the version is held)');
      assert.equal(detachCalls(s.sim).length, 0, 'no detach without --detach');
      const resume = await s.rollout(['resume', String(started.id)]);
      assert.equal(resume.code, 6);
      assert.match(resume.stderr, /it is aborted; allowed from aborted: none/);
    });
  });

  it('abort --detach detaches the ISO from members that attached but did not install', async () => {
    // Without the clean-up after verify, so that the only detaches are abort's (e2e-install.test.ts covers that one).
    await withRolloutSetup({ fleet: fleet(5) }, { policy: { detachAfterVerify: false } }, async (s) => {
      const started = await start(s, ['--waves', '3,100%', '--soak', '1h']);
      const neverInstalls = started.members.filter((m) => m.wave === 1)[0].vmUuid;
      s.sim.updateVm(neverInstalls, { installs: false });
      await reconcileUntil(s, 'wave 1 attached', () => s.read(started.id).members.filter((m) => m.wave === 1).every((m) => m.status !== 'pending'));
      // Members that installed become verified; the one that never installs stays attached.
      await reconcileUntil(s, 'installs seen', () => s.read(started.id).members.filter((m) => m.status === 'verified').length === 2);
      const waiting = s.read(started.id).members.filter((m) => m.status === 'attached').map((m) => m.vmUuid);
      assert.deepEqual(waiting, [neverInstalls]);
      const abort = await s.rollout(['abort', String(started.id), '--detach', '--json']);
      assert.equal(abort.code, 0, abort.stderr);
      assert.match(abort.stdout, /detached the GuestTools ISO from 1 members/);
      assert.deepEqual(detachCalls(s.sim).map((c) => c.vmUuid), waiting);
      assert.equal((await s.reconcile()).code, 0);
      assert.equal(detachCalls(s.sim).length, 1, 'detached once');
      assert.ok(s.read(started.id).members.find((m) => m.vmUuid === neverInstalls)?.detachedAt);
    });
  });

  it('pauses with reason error-budget when failures exceed max-errors, and attaches nothing more until resume', async () => {
    await withRolloutSetup({ fleet: fleet(8) }, { policy: { maxErrors: 10 } }, async (s) => {
      const started = await start(s, ['--waves', '3,100%', '--soak', '0', '--max-errors', '1']);
      const wave1 = started.members.filter((m) => m.wave === 1).map((m) => m.vmUuid);
      s.sim.setFaults({ failVmUuids: wave1.slice(0, 2) });
      const r = await s.reconcile();
      assert.equal(r.code, 1, 'the run reports its failed attaches');
      const paused = s.read(started.id);
      assert.equal(paused.state, 'paused');
      assert.equal(paused.stateReason, 'error-budget');
      assert.match(paused.transitions.at(-1)?.why ?? '', /error-budget: 2 failed members/);
      for (let i = 0; i < 2; i++) await s.reconcile();
      assert.equal(attachedVms(s.sim).length, 3, 'nothing more attached while paused');
      const human = await s.rollout(['status', String(started.id)]);
      assert.match(human.stdout, /paused \(error-budget\)/);
      assert.match(human.stdout, /SYS\.1006/);

      assert.equal((await s.rollout(['resume', String(started.id)])).code, 0);
      await reconcileUntil(s, 'rollout completed', () => s.read(started.id).state === 'completed');
      assert.equal(new Set(attachedVms(s.sim)).size, 8, 'after resume the remaining waves run; the budget counts new failures only');
    });
  });

  it('attaches canaries first: named VMs, clusters and tags', async () => {
    const vms = fleet(12, (i) => ({ clusterUuid: i === 7 ? HEX(0xb9) : HEX(0xb0), tags: i === 10 ? ['GuestTools::1.0.0', 'gt-canary'] : ['GuestTools::1.0.0'] }));
    await withRolloutSetup({ fleet: vms }, {}, async (s) => {
      const started = await start(s, ['--waves', '3,100%', '--soak', '0', '--canary-vm', HEX(3), '--canary-cluster', HEX(0xb9), '--canary-tag', 'gt-canary']);
      const canaries = [HEX(3), HEX(8), HEX(11)];
      assert.deepEqual(started.members.filter((m) => m.canary).map((m) => m.vmUuid).sort(), canaries);
      assert.deepEqual(started.members.slice(0, 3).map((m) => m.vmUuid).sort(), canaries, 'canaries come first');
      assert.equal((await s.reconcile()).code, 0);
      assert.deepEqual(attachedVms(s.sim).sort(), canaries, 'the first wave is the canaries');
    });
  });

  it('refuses a second open rollout for the same agent type (exit 6), and bad input (exit 2)', async () => {
    const vms = [...fleet(3), ...fleet(2).map((v, i) => ({ ...v, uuid: HEX(0x100 + i), platform: 'Windows' }))];
    await withRolloutSetup({ fleet: vms }, {}, async (s) => {
      await start(s, ['--agent-type', 'LinuxOnKvm']);
      const second = await s.rollout(['start', '--agent-type', 'LinuxOnKvm']);
      assert.equal(second.code, 6);
      assert.match(second.stderr, /rollout 1 \(LinuxOnKvm, target 1\.2\.0\) is active and covers LinuxOnKvm: one open rollout per agent type/);
      assert.match(second.stderr, /GTR_ROLLOUT_REFUSED/);
      assert.equal((await s.rollout(['start', '--agent-type', 'all'])).code, 6);
      await start(s, ['--agent-type', 'WindowsOnKvm']);
      assert.equal((await s.rollout(['status', '99'])).code, 6);
      const missing = await s.rollout(['abort', '99']);
      assert.equal(missing.code, 6);
      assert.match(missing.stderr, /no such rollout: 99 \(see gtr rollout list\)\n\(GTR_ROLLOUT_NOT_FOUND: no such rollout id\)/);
      for (const bad of [['pause'], ['start', '--waves', '0,x'], ['start', '--target', '9.9.9'], ['start', '--agent-type', 'Solaris'], ['frob'], ['list', '--detach']]) {
        const r = await s.rollout(bad);
        assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
      }
    });
  });

  it('policy.mode rollout and policy.isoSoak hold attaches; rollout.autoStart starts a rollout by itself', async () => {
    await withRolloutSetup({ fleet: fleet(3) }, { policy: { mode: 'rollout' } }, async (s) => {
      const r = await gtr(['reconcile', '--config', s.config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { counts: Record<string, number> }).counts['defer/not-in-wave'], 3);
    });
    await withRolloutSetup({ fleet: fleet(3) }, { policy: { isoSoak: '1h' } }, async (s) => {
      const r = await gtr(['reconcile', '--config', s.config, '--json']);
      assert.equal((JSON.parse(r.stdout) as { counts: Record<string, number> }).counts['defer/iso-soak'], 3);
      assert.equal(attachedVms(s.sim).length, 0);
    });
    await withRolloutSetup({ fleet: fleet(4) }, { rollout: { autoStart: true, waves: '1,100%', soak: '0' } }, async (s) => {
      assert.equal((await s.reconcile()).code, 0);
      assert.equal(attachedVms(s.sim).length, 0, 'the new version waits for its rollout');
      const r = s.read(1);
      assert.equal(r.state, 'active');
      assert.match(r.transitions[0].why ?? '', /rollout\.autoStart: new ISO version 1\.2\.0/);
      await reconcileUntil(s, 'auto rollout completed', () => s.read(1).state === 'completed');
      assert.equal(new Set(attachedVms(s.sim)).size, 4);
    });
  });

  it('resumes after the daemon is killed (SIGKILL) mid-wave without attaching any VM twice', async () => {
    await withRolloutSetup(
      { fleet: fleet(6), jobDurationMs: 400 },
      // One attach at a time: the kill lands while the MN runs it, never between a recorded attach and
      // its PUT (such a VM would rightly wait for policy.reattachAfter, see docs/design.md, Guarantees).
      { schedule: { cron: '* * * * * *' }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' }, policy: { maxConcurrency: 1 } },
      async (s) => {
        const started = await start(s, ['--waves', '3,100%', '--soak', '0']);
        const first = spawnGtr(['daemon', '--config', s.config]);
        await waitFor('an attach in flight', () => s.sim.attachInFlight > 0, 30_000);
        first.kill('SIGKILL');
        await exited(first);
        const inFlight = attachedVms(s.sim).length;
        assert.ok(inFlight >= 1);

        const second = spawnGtr(['daemon', '--config', s.config]);
        try {
          await waitFor('rollout completed', () => s.read(started.id).state === 'completed', 90_000, 100).catch((error: unknown) => {
            const r = s.read(started.id);
            throw new Error(`${String(error)}; rollout ${r.state} (${r.stateReason}), members ${r.members.map((m) => `${m.vmUuid.slice(-2)}:${m.status}/${m.reason}`).join(' ')}; ` +
              `attaches ${attachedVms(s.sim).length}; daemon log tail: ${second.output().stdout.split('\n').slice(-5).join(' | ')}`);
          });
          const attached = attachedVms(s.sim);
          assert.equal(attached.length, 6, `each VM attached exactly once (${attached.join(', ')})`);
          assert.equal(new Set(attached).size, 6);
          const line = await waitFor('daemon started', () => second.output().stdout.split('\n').find((l) => l.includes('"daemon started"')));
          const url = (JSON.parse(line) as { listen: string }).listen;
          const api = await request(`${url}/api/rollouts`);
          const body = (await api.body.json()) as { rollouts: RolloutOut[] };
          assert.equal(body.rollouts[0].state, 'completed');
          assert.equal(body.rollouts[0].counts.verified, 6);
          const metrics = await (await request(`${url}/metrics`)).body.text();
          assert.match(metrics, new RegExp(`gtr_rollout_state\\{rollout="${started.id}",agent_types="WindowsOnKvm,LinuxOnKvm",target="1.2.0",state="completed"\\} 1`));
        } finally {
          second.kill('SIGTERM');
          await exited(second);
        }
      },
    );
  });
});
