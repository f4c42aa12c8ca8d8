// End to end: rollouts move only on the guest's evidence (docs/design.md 7). A canary that did not confirm
// holds its wave: in a tag-only fleet, with an agent that has not reported a version yet, with our own
// tag (zstack.recordVersionTag) on it, and when its attach was lost across a crash and an MN restart.
// A wave that times out fails its unconfirmed members (no-evidence) and the error budget pauses it.
// Real simulator, `gtr` as child processes, real SQLite; waits are bounded polls on what the simulator
// or the ledger shows, never sleeps.
import { localTime } from '../src/time-format.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SimVm } from '../src/sim/index.js';
import { exited, gtr, spawnGtr, waitFor } from './helpers/cli.js';
import { attachedVms, reconcileUntil, startRolloutCli, withLedger, withRolloutSetup, type RolloutSetup as Setup, type Sim } from './helpers/rollout.js';
import { HEX, testFleet } from './helpers/fleet.js';

type Waiting = { wave: number; waveMembers: number; timesOutAt: string; total: number; members: { vmUuid: string; vmName: string; canary: boolean; status: string; guestAgent: boolean | null; state: string; waitingSince: string; timesOutAt: string }[] };
type RolloutOut = {
  id: number; state: string; stateReason: string | null;
  errors: { wave: number | null; failed: number; budget: number };
  waveProgress: { number: number; state: string; members: number; timesOutAt: string | null; timedOut: boolean }[];
  waiting: Waiting | null;
  members: { vmUuid: string; wave: number; canary: boolean; status: string; reason: string | null; guestAgent: boolean | null; attachedAt: string | null }[];
  transitions: { event: string; why: string | null }[];
  notes?: string[];
};

const CANARY = HEX(3);
/** Guests that never install by themselves: the test says when a guest reports. */
const fleet = (count: number, patch: Partial<SimVm> = {}) => testFleet(count, { patch: () => ({ installs: false, ...patch }) });
/** Tag-only guests: no QueryGuestToolsState row; the installer's report rewrites the GuestTools:: tag. */
const TAG_ONLY: Partial<SimVm> = { guest: null };

const startCanary = (s: Setup, extra: string[] = []) =>
  startRolloutCli<RolloutOut>(s, ['--agent-type', 'LinuxOnKvm', '--waves', '1,100%', '--soak', '0', '--canary-vm', CANARY, ...extra]);

async function status(s: Setup, id: number): Promise<RolloutOut> {
  const r = await s.rollout(['status', String(id), '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as RolloutOut;
}

const member = (r: RolloutOut, vmUuid: string) => r.members.find((m) => m.vmUuid === vmUuid);

/** Runs `gtr reconcile` `n` times, each exiting 0. */
async function reconcileTimes(s: Setup, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await s.reconcile();
    assert.equal(r.code, 0, r.stderr);
  }
}

/** The canary's wave holds: across runs only the canary is attached, and it waits as `attached`. */
async function assertHeld(s: Setup, id: number, sim: Sim, runs = 2): Promise<RolloutOut> {
  await reconcileTimes(s, runs);
  assert.deepEqual(attachedVms(sim), [CANARY], 'nothing beyond the canary is attached while it has no evidence');
  const r = await status(s, id);
  assert.equal(member(r, CANARY)?.status, 'attached');
  assert.deepEqual(r.waveProgress.map((w) => w.state), ['running', 'waiting']);
  return r;
}

describe('rollouts move only on evidence', () => {
  it('a canary in a tag-only fleet holds its wave until its guest reports; then wave 2 starts', async () => {
    await withRolloutSetup({ fleet: fleet(6, TAG_ONLY) }, {}, async (s) => {
      const started = await startCanary(s);
      assert.equal((await s.reconcile()).code, 0);
      const held = await assertHeld(s, started.id, s.sim);
      assert.equal(member(held, CANARY)?.guestAgent, false);

      // What holds the wave, in words and in JSON: the canary, since when, until when.
      const waiting = held.waiting as Waiting;
      assert.deepEqual([waiting.wave, waiting.total, waiting.waveMembers], [1, 1, 1]);
      assert.equal(waiting.members[0].vmUuid, CANARY);
      assert.equal(waiting.members[0].waitingSince, member(held, CANARY)?.attachedAt);
      assert.equal(waiting.timesOutAt, held.waveProgress[0].timesOutAt);
      const human = await s.rollout(['status', String(started.id)]);
      assert.match(human.stdout, /Wave 1 waits for 1 of its 1 members until \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}; then those without the guest's evidence count as failed \(no-evidence\):/);
      assert.match(human.stdout, /name\s+uuid\s+state\s+waiting since\s+times out at/);
      assert.match(human.stdout, new RegExp(`vm-3 \\(canary\\)\\s+${CANARY}\\s+attached \\(no guest agent\\)\\s+${localTime(waiting.members[0].waitingSince)?.replace('+', '\\+')}\\s+${localTime(waiting.timesOutAt)?.replace('+', '\\+')}`));
      const one = await gtr(['status', '--config', s.config]);
      assert.match(one.stdout, /0\/6 verified, 0 failed \(max 5% per wave; wave 1: 0 failed, no failures allowed\); wave 1 waits for 1 member, times out at /);

      // The installer in the guest reports: the MN rewrites the tag, which we did not send.
      s.sim.guestReport(CANARY, '1.2.0');
      await reconcileUntil(s, 'wave 2 attached', () => attachedVms(s.sim).length === 6);
      const done = s.read(started.id);
      assert.equal(done.members.find((m) => m.vmUuid === CANARY)?.status, 'verified');
      assert.equal(new Set(attachedVms(s.sim)).size, 6, 'each VM attached once');
    });
  });

  it('a canary whose agent runs (qgaState Running) but has not reported a version is an agent, and holds until it reports', async () => {
    await withRolloutSetup({ fleet: fleet(4, { guest: { qgaState: 'Running', version: null } }) }, {}, async (s) => {
      const started = await startCanary(s);
      assert.equal((await s.reconcile()).code, 0);
      const held = await assertHeld(s, started.id, s.sim);
      assert.equal(member(held, CANARY)?.guestAgent, true, 'an agent before its first version');
      assert.equal(held.waiting?.members[0].state, 'attached (guest agent runs)');

      s.sim.guestReport(CANARY, '1.2.0');
      await reconcileUntil(s, 'wave 2 attached', () => attachedVms(s.sim).length === 4);
      assert.equal(s.read(started.id).members.find((m) => m.vmUuid === CANARY)?.status, 'verified');
    });
  });

  it('with zstack.recordVersionTag our own tag never verifies the canary; the guest\'s own report does', async () => {
    await withRolloutSetup({ fleet: fleet(4, TAG_ONLY), recordVersionTag: true }, { zstack: { recordVersionTag: true } }, async (s) => {
      const started = await startCanary(s);
      assert.equal((await s.reconcile()).code, 0);
      assert.ok(s.sim.vm(CANARY)?.tags.includes('GuestTools::1.2.0'), 'the MN keeps the tag we sent with the attach');
      await assertHeld(s, started.id, s.sim, 3);
      const plan = JSON.parse((await gtr(['plan', '--config', s.config, '--json'])).stdout) as { actions: { vmUuid: string; reason: string; detail?: string }[] };
      assert.match(plan.actions.find((a) => a.vmUuid === CANARY)?.detail ?? '', /was sent by this reconciler with the attach: no evidence/);

      // The guest gets an agent that reports the target: evidence.
      s.sim.updateVm(CANARY, { guest: { qgaState: 'Running', version: '1.2.0' } });
      await reconcileUntil(s, 'wave 2 attached', () => attachedVms(s.sim).length === 4);
      assert.equal(s.read(started.id).members.find((m) => m.vmUuid === CANARY)?.status, 'verified');
    });
  });

  it('a canary whose attach was lost (killed mid-job, then an MN restart) is failed for the wave: the rollout pauses; resume continues', async () => {
    await withRolloutSetup({ fleet: fleet(6, { guest: { qgaState: 'Running', version: '1.0.0' } }) }, {}, async (s) => {
      const started = await startCanary(s);
      s.sim.holdAttachJobs();
      const run = spawnGtr(['reconcile', '--config', s.config]);
      await waitFor('the canary attach in flight', () => s.sim.attachInFlight === 1, 30_000);
      run.kill('SIGKILL');
      await exited(run);
      s.sim.restart(); // the MN forgets the canary's job: it never attached it
      s.sim.releaseAttachJobs();

      // The next run's replay finds the job lost: in doubt for the run (not failed), failed for the wave.
      assert.equal((await s.reconcile()).code, 0);
      const killed = JSON.parse((await gtr(['runs', 'show', '1', '--config', s.config, '--json'])).stdout) as { actions: { vmUuid: string; outcome: string | null; resolution?: string; error: { code: string } | null }[] };
      const attach = killed.actions.find((a) => a.vmUuid === CANARY);
      assert.deepEqual([attach?.outcome, attach?.resolution, attach?.error?.code], ['interrupted', 'in-doubt', 'GTR_JOB_LOST'], 'the run\'s own outcome rules are unchanged');
      const paused = await status(s, started.id);
      assert.deepEqual([paused.state, paused.stateReason], ['paused', 'error-budget']);
      assert.deepEqual([member(paused, CANARY)?.status, member(paused, CANARY)?.reason], ['failed', 'GTR_JOB_LOST']);
      await reconcileTimes(s, 2);
      assert.deepEqual(attachedVms(s.sim), [CANARY], 'wave 2 waits while the budget holds the rollout');
      assert.equal(s.read(started.id).state, 'paused');

      assert.equal((await s.rollout(['resume', String(started.id)])).code, 0);
      await reconcileUntil(s, 'wave 2 attached', () => attachedVms(s.sim).length === 6);
      assert.equal(attachedVms(s.sim).filter((vm) => vm === CANARY).length, 1, 'the lost canary waits for reattachAfter: never sent twice');
    });
  });

  it('a canary whose job is lost in an MN restart during the run is failed at once and pauses the rollout in that run', async () => {
    await withRolloutSetup({ fleet: fleet(6, { guest: { qgaState: 'Running', version: '1.0.0' } }) }, {}, async (s) => {
      const started = await startCanary(s);
      s.sim.holdAttachJobs();
      const run = spawnGtr(['reconcile', '--config', s.config, '--json']);
      await waitFor('the canary attach in flight', () => s.sim.attachInFlight === 1, 30_000);
      s.sim.restart();
      s.sim.releaseAttachJobs();
      const end = await exited(run);
      assert.equal(end.code, 0, run.output().stderr);
      const report = JSON.parse(run.output().stdout) as { counts: Record<string, number>; actions: { vmUuid: string; outcome: string | null; error: { code: string } | null }[] };
      assert.deepEqual([report.counts['in-doubt'], report.counts.failed], [1, 0], 'in doubt for the run, never in its budget');
      assert.equal(report.actions.find((a) => a.vmUuid === CANARY)?.error?.code, 'GTR_JOB_LOST');
      const r = s.read(started.id);
      assert.deepEqual([r.state, r.stateReason], ['paused', 'error-budget']);
      assert.deepEqual(r.members.filter((m) => m.vmUuid === CANARY).map((m) => [m.status, m.reason]), [['failed', 'GTR_JOB_LOST']]);
      assert.match(r.transitions.find((t) => t.event === 'pause')?.why ?? '', /error-budget: 1 failed members in wave 1/);
    });
  });

  it('a wave that times out with an unconfirmed canary fails it (no-evidence) and pauses with error-budget; resume continues', async () => {
    await withRolloutSetup({ fleet: fleet(6, TAG_ONLY) }, {}, async (s) => {
      const started = await startCanary(s, ['--wave-timeout', '1h']);
      assert.equal((await s.reconcile()).code, 0);
      await assertHeld(s, started.id, s.sim, 1);
      // Let the wave's hour pass: its start moves back by the timeout (the rollout's clock is the ledger's).
      withLedger(s.database, (ledger) => ledger.handle.write(() =>
        ledger.handle.sql.get('UPDATE rollout_waves SET started_at = started_at - 3600000 WHERE rollout_id = ? AND number = 1').run(started.id)));

      assert.equal((await s.reconcile()).code, 0);
      const paused = await status(s, started.id);
      assert.deepEqual([paused.state, paused.stateReason], ['paused', 'error-budget']);
      assert.deepEqual([member(paused, CANARY)?.status, member(paused, CANARY)?.reason], ['failed', 'no-evidence']);
      assert.match(paused.transitions.find((t) => t.event === 'wave-timeout')?.why ?? '', /1 members without the guest's evidence within the wave timeout \(1h\), counted as failures \(no-evidence\)/);
      await reconcileTimes(s, 2);
      assert.deepEqual(attachedVms(s.sim), [CANARY], 'the budget holds the rollout: no wave 2');
      const human = await s.rollout(['status', String(started.id)]);
      assert.match(human.stdout, /paused \(error-budget\)/);
      assert.match(human.stdout, new RegExp(`${CANARY} vm-3 \\(wave 1\\): no-evidence`));

      assert.equal((await s.rollout(['resume', String(started.id)])).code, 0);
      await reconcileUntil(s, 'wave 2 attached', () => attachedVms(s.sim).length === 6);
      const resumed = await status(s, started.id);
      assert.equal(resumed.waveProgress[0].timedOut, true);
      assert.equal(resumed.waveProgress[0].state, 'completed');
    });
  });

  it('abort --detach after a wave of tag-only members detaches every member attached and not verified', async () => {
    // Clean-up after verify is off: every detach counted here is abort's (the clean-up has its tests in e2e-install).
    await withRolloutSetup({ fleet: fleet(5, TAG_ONLY) }, { policy: { detachAfterVerify: false } }, async (s) => {
      const started = await startRolloutCli<RolloutOut>(s, ['--agent-type', 'LinuxOnKvm', '--waves', '3,100%', '--soak', '1h']);
      const wave1 = started.members.filter((m) => m.wave === 1).map((m) => m.vmUuid);
      assert.equal((await s.reconcile()).code, 0);
      assert.deepEqual(attachedVms(s.sim).sort(), [...wave1].sort());
      // One guest installs; the other two stay attached without evidence.
      s.sim.guestReport(wave1[0], '1.2.0');
      await reconcileUntil(s, 'one member verified', () => s.read(started.id).members.some((m) => m.status === 'verified'));
      const waiting = s.read(started.id).members.filter((m) => m.status === 'attached').map((m) => m.vmUuid);
      assert.deepEqual(waiting.sort(), wave1.slice(1).sort());

      const abort = await s.rollout(['abort', String(started.id), '--detach']);
      assert.equal(abort.code, 0, abort.stderr);
      assert.match(abort.stdout, /detached the GuestTools ISO from 2 members that were attached and not verified/);
      const detached = () => s.sim.calls.filter((c) => c.api === 'DetachGuestToolsIsoFromVm' && c.method === 'PUT').map((c) => c.vmUuid);
      assert.deepEqual(detached().sort(), waiting);
      assert.equal((await s.reconcile()).code, 0);
      assert.equal(detached().length, 2, 'detached once each, never the verified member');
      assert.ok(s.read(started.id).members.filter((m) => waiting.includes(m.vmUuid)).every((m) => m.detachedAt !== null));
    });
  });

  it('a canary selector that matches no member exits 2 and names it; --allow-unmatched-canaries starts anyway', async () => {
    const vms = testFleet(4, { patch: (i) => ({ tags: i === 1 ? ['GuestTools::1.0.0', 'gt-canary'] : ['GuestTools::1.0.0'] }) });
    await withRolloutSetup({ fleet: vms }, {}, async (s) => {
      const typo = await s.rollout(['start', '--agent-type', 'LinuxOnKvm', '--canary-tag', 'gt-canry']);
      assert.equal(typo.code, 2, typo.stderr);
      assert.match(typo.stderr, /--canary-tag gt-canry: matches no member \(no out-of-date eligible VM of LinuxOnKvm\)/);
      assert.match(typo.stderr, /--allow-unmatched-canaries/);
      assert.doesNotMatch(typo.stderr, /\n\s+at /);
      const both = await s.rollout(['start', '--canary-vm', HEX(99), '--canary-cluster', HEX(0xb9), '--canary-tag', 'gt-canary']);
      assert.equal(both.code, 2);
      assert.match(both.stderr, new RegExp(`--canary-vm ${HEX(99)}, --canary-cluster ${HEX(0xb9)}: match no member`));
      assert.match((await s.rollout(['list'])).stdout, /No rollouts yet/, 'nothing was started');

      const allowed = await startRolloutCli<RolloutOut>(s, ['--agent-type', 'LinuxOnKvm', '--canary-tag', 'gt-canry', '--allow-unmatched-canaries']);
      assert.ok(allowed.notes?.some((n) => /--canary-tag gt-canry matched no member; started anyway/.test(n)), JSON.stringify(allowed.notes));
      assert.equal(allowed.members.filter((m) => m.canary).length, 0);
    });
  });
});
