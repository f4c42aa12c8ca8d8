// Trustworthy outcomes (docs/design.md 3), end to end: the built CLI as a child process against the simulator
// and a temp SQLite file. Verified only on guest evidence; runs that cannot converge stop; a failed
// probe, an empty ISO folder, a VM without architecture and a user's ISO in CD-ROM 0 are handled as
// docs/design.md 1 says.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { startSimulator, type SimOptions, type SimVm, type Simulator } from '../src/sim/index.js';
import { HEX, testVm } from './helpers/fleet.js';
import { exited, gtr, simConfig, spawnGtr, waitFor, withSimSetup, type SimSetup } from './helpers/cli.js';
import { logLines } from './helpers/daemon.js';

type Action = { vmUuid: string; action: string; reason: string; outcome: string | null; verifiedBy?: string | null; detail?: string; jobUuid?: string };
type Report = { status: string; counts: Record<string, number>; actions: Action[]; message: string | null };

type Setup = SimSetup;

function withSetup(simOpts: SimOptions, extra: Parameters<typeof simConfig>[2], fn: (s: Setup) => Promise<void>): Promise<void> {
  return withSimSetup({ jobDurationMs: 5, ...simOpts }, extra, fn);
}

async function reconcile(config: string, ...args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const r = await gtr(['reconcile', '--config', config, '--json', ...args]);
  assert.ok(r.stdout.trim().startsWith('{'), `expected JSON, got: ${r.stdout.slice(0, 300)}\nstderr: ${r.stderr.slice(0, 800)}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

const of = (report: Report, n: number): Action => {
  const a = report.actions.find((x) => x.vmUuid === HEX(n));
  assert.ok(a, `vm ${n} missing from the report`);
  return a;
};
const decided = (report: Report, n: number): string => `${of(report, n).action}/${of(report, n).reason}`;
const attachesOf = (sim: Simulator, n: number): number => sim.attachesStarted().filter((a) => a.vmUuid === HEX(n)).length;

const HOUR = 3_600_000;

/**
 * Lets policy.reattachAfter pass without waiting for it: moves the recorded attach times back by `ms`
 * in the real SQLite file, and the MN's tag dates (guestToolsHasAttached) too: the state the ledger
 * and the MN would hold that much later.
 */
function ageAttaches(s: Setup, ms: number): void {
  s.sim.ageTags(ms);
  const db = new Database(s.ws.database);
  try {
    db.prepare('UPDATE vm_state SET last_attach_at = last_attach_at - ? WHERE last_attach_at IS NOT NULL').run(ms);
  } finally {
    db.close();
  }
}

describe('issue 11: verified only on evidence from the guest', () => {
  it('a guest that installs right after the attach is verified by the guest; one that never installs stays attached', async () => {
    const fleet = [
      testVm(1, { installs: true, guest: { qgaState: 'Running', version: '1.0.0' } }),
      testVm(2, { guest: { qgaState: 'Running', version: '1.0.0' } }),
    ];
    await withSetup({ fleet }, {}, async (s) => {
      const run = await reconcile(s.config);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual([of(run.report, 1).outcome, of(run.report, 1).verifiedBy], ['verified', 'guest']);
      assert.deepEqual([of(run.report, 2).outcome, of(run.report, 2).verifiedBy], ['attached', undefined]);
      assert.deepEqual([run.report.counts.verified, run.report.counts.attached], [1, 1]);
      assert.deepEqual(s.sim.attachesStarted().map((a) => a.systemTags), [[], []], 'recordVersionTag is off by default');
      const show = await gtr(['runs', 'show', '1', '--config', s.config, '--json']);
      const stored = (JSON.parse(show.stdout) as { actions: (Action & { verifiedBy: string | null })[] }).actions;
      assert.deepEqual(stored.map((a) => [a.vmUuid, a.outcome, a.verifiedBy]), [[HEX(1), 'verified', 'guest'], [HEX(2), 'attached', null]]);
    });
  });

  it('tag-only VMs (the MN records the tag we sent) are attached, never verified, now or in later runs', async () => {
    const fleet = [testVm(1), testVm(2)];
    await withSetup({ fleet, recordVersionTag: true }, { zstack: { recordVersionTag: true }, policy: { reattachAfter: '1h' } }, async (s) => {
      const first = await reconcile(s.config);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(s.sim.attachesStarted().map((a) => a.systemTags), [['GuestTools::1.2.0'], ['GuestTools::1.2.0']]);
      assert.ok(s.sim.vm(HEX(1))?.tags.includes('GuestTools::1.2.0'), 'the MN recorded the tag we sent');
      assert.deepEqual(first.report.actions.map((a) => a.outcome), ['attached', 'attached']);
      assert.equal(first.report.counts.verified, 0);
      const second = await reconcile(s.config);
      assert.equal(decided(second.report, 1), 'defer/awaiting-install', 'our own tag is not up-to-date');
      assert.match(of(second.report, 1).detail ?? '', /sent by this reconciler/);
      ageAttaches(s, HOUR);
      const third = await reconcile(s.config);
      assert.equal(decided(third.report, 1), 'attach/outdated');
      assert.equal(of(third.report, 1).outcome, 'attached');
      assert.equal(attachesOf(s.sim, 1), 2);
    });
  });

  it('recordVersionTag off and a tag written by the MN from the installer report: verified by tag', async () => {
    // No QGA (no state row): the installer's report reaches the MN, which writes the tag (zstack-api.md 5.3).
    await withSetup({ fleet: [testVm(1, { installs: true })] }, {}, async (s) => {
      const run = await reconcile(s.config);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual([of(run.report, 1).outcome, of(run.report, 1).verifiedBy], ['verified', 'tag']);
      assert.equal(run.report.counts.verifiedByTag, 1);
      const status = JSON.parse((await gtr(['status', '--config', s.config, '--json'])).stdout) as { fleet: { version: string; source: string }[] };
      // The fleet summary was taken before the attach: 1.0.0 by tag only.
      assert.deepEqual(status.fleet.map((f) => [f.version, f.source]), [['1.0.0', 'tag']]);
    });
  });
});

describe('issue 14: the fleet on target, confirmed or by our tag only', () => {
  it('gtr status splits on target into confirmed (guest report, a tag we did not send) and tag only (the tag we sent)', async () => {
    const fleet = [
      testVm(1, { installs: true, guest: { qgaState: 'Running', version: '1.0.0' } }), // the guest reports 1.2.0
      testVm(2, { tags: ['GuestTools::1.2'] }), // on target before we came: the MN wrote that tag
      testVm(3), // attached, never installs: only the tag we sent says 1.2.0
      testVm(4, { cdRoms: 0 }), // stays older
    ];
    await withSetup({ fleet, recordVersionTag: true }, { zstack: { recordVersionTag: true }, policy: { reattachAfter: '1h' } }, async (s) => {
      assert.equal((await reconcile(s.config)).code, 0);
      const plan = await gtr(['plan', '--config', s.config, '--json']);
      assert.equal(plan.code, 0, plan.stderr);
      type Group = { agentType: string; architecture: string; total: number; onTarget: number; onTargetConfirmed: number; onTargetTagOnly: number; older: number };
      const status = JSON.parse((await gtr(['status', '--config', s.config, '--json'])).stdout) as { distribution: Group[]; fleet: { version: string; source: string; count: number }[] };
      const g = status.distribution.find((x) => x.agentType === 'LinuxOnKvm' && x.architecture === 'x86_64');
      assert.deepEqual([g?.total, g?.onTarget, g?.onTargetConfirmed, g?.onTargetTagOnly, g?.older], [4, 3, 2, 1, 1]);
      const sources = status.fleet.map((f) => `${f.version}:${f.source}:${f.count}`).sort();
      assert.deepEqual(sources, ['1.0.0:tag:1', '1.2.0:guest:1', '1.2.0:sent-tag:1', '1.2:tag:1']);
      const text = await gtr(['status', '--config', s.config]);
      assert.match(text.stdout, /1\.2\.0 +nothing \(our tag\) +Linux/);
      assert.match(text.stdout, /on target +confirmed +tag only +older/);
      assert.match(text.stdout, /LinuxOnKvm +x86_64 +1\.2\.0 +4 +3 +2 +1 +1 +0 +0/);
    });
  });
});

describe('issue 11: runs that cannot converge stop', () => {
  it('attached, attached again after reattachAfter, then not-converging after maxAttempts; gtr retry re-arms it', async () => {
    const fleet = [testVm(1, { guest: { qgaState: 'Running', version: '1.0.0' } })];
    await withSetup({ fleet }, { policy: { reattachAfter: '1h', maxAttempts: 2 } }, async (s) => {
      const first = await reconcile(s.config);
      assert.equal(of(first.report, 1).outcome, 'attached');
      const waiting = await reconcile(s.config);
      assert.equal(decided(waiting.report, 1), 'defer/awaiting-install');
      ageAttaches(s, HOUR);
      const second = await reconcile(s.config);
      assert.deepEqual([decided(second.report, 1), of(second.report, 1).outcome], ['attach/outdated', 'attached']);
      const stillWaiting = await reconcile(s.config);
      assert.equal(decided(stillWaiting.report, 1), 'defer/awaiting-install', 'until reattachAfter has passed');
      ageAttaches(s, HOUR);
      const stopped = await reconcile(s.config);
      assert.equal(stopped.code, 0);
      assert.equal(decided(stopped.report, 1), 'skip/not-converging');
      assert.equal(attachesOf(s.sim, 1), 2);

      const status = await gtr(['status', '--config', s.config]);
      assert.match(status.stdout, /Needs attention \(1 VMs/);
      assert.match(status.stdout, /vm-1 .*not-converging/);
      const json = JSON.parse((await gtr(['status', '--config', s.config, '--json'])).stdout) as { needsAttention: { total: number; vms: { vmUuid: string; problem: string }[] } };
      assert.deepEqual(json.needsAttention.vms.map((v) => [v.vmUuid, v.problem]), [[HEX(1), 'not-converging']]);

      const retry = await gtr(['retry', '--config', s.config, '--vm', HEX(1)]);
      assert.equal(retry.code, 0, retry.stderr);
      assert.match(retry.stdout, /forgotten/);
      const rearmed = await reconcile(s.config);
      assert.deepEqual([decided(rearmed.report, 1), of(rearmed.report, 1).outcome], ['attach/outdated', 'attached']);
      assert.equal(attachesOf(s.sim, 1), 3);

      const bad = await gtr(['retry', '--config', s.config, '--vm', 'nope']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--vm: "nope" is neither the uuid nor the name of a VM recorded in the ledger/);
      assert.equal((await gtr(['retry', '--config', s.config])).code, 2);
    });
  });

  it('a version that goes backwards is a regression in the run, the log and gtr status', async () => {
    const fleet = [testVm(1, { tags: ['GuestTools::1.2.0'] })];
    await withSetup({ fleet }, {}, async (s) => {
      await reconcile(s.config);
      s.sim.updateVm(HEX(1), { tags: ['GuestTools::1.1.0'] });
      const run = await reconcile(s.config);
      assert.equal(run.report.counts.regressions, 1);
      assert.ok(run.stderr.includes('GuestTools version went backwards'));
      const status = await gtr(['status', '--config', s.config]);
      assert.match(status.stdout, /version went backwards 1\.2\.0 -> 1\.1\.0/);
    });
  });
});

describe('issue 11: the catalog, the architecture and the CD-ROM', () => {
  it('an empty ISO folder fails plan, reconcile and iso with exit 3 GTR_CATALOG_EMPTY naming the folder', async () => {
    await withSetup({ fleet: [testVm(1)] }, {}, async (s) => {
      const empty = join(s.ws.dir, 'empty-dvd');
      mkdirSync(empty);
      const config = s.ws.writeConfig(simConfig(s.ws, s.sim, { isoDir: empty }));
      for (const command of ['plan', 'reconcile', 'iso']) {
        const r = await gtr([command, '--config', config]);
        assert.equal(r.code, 3, `${command}: ${r.stderr}`);
        assert.match(r.stderr, /GTR_CATALOG_EMPTY/);
        assert.ok(r.stderr.includes(empty), `${command} names the folder`);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
      assert.equal(s.sim.attachesStarted().length, 0);
    });
  });

  it('a daemon tick on an empty ISO folder fails the same way and /healthz is unhealthy with that message', async () => {
    await withSetup({ fleet: [testVm(1)] }, {}, async (s) => {
      const empty = join(s.ws.dir, 'empty-dvd');
      mkdirSync(empty);
      const config = s.ws.writeConfig(simConfig(s.ws, s.sim, { isoDir: empty, schedule: { cron: '* * * * * *' }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' } }));
      const child = spawnGtr(['daemon', '--config', config]);
      try {
        const lines = () => logLines(child.output().stdout);
        const url = (await waitFor('daemon started', () => lines().find((l) => l.msg === 'daemon started'))).listen as string;
        await waitFor('a failed tick', () => lines().find((l) => l.level === 50 && (l.error as { code?: string } | undefined)?.code === 'GTR_CATALOG_EMPTY'));
        const res = await request(`${url}/healthz`);
        const body = (await res.body.json()) as { ok: boolean; reason: string };
        assert.equal(res.statusCode, 503);
        assert.equal(body.ok, false);
        assert.match(body.reason, /GTR_CATALOG_EMPTY/);
        assert.ok(body.reason.includes(empty));
      } finally {
        child.kill('SIGTERM');
        await exited(child);
      }
    });
  });

  it('a catalog probe that times out defers its group as catalog-unverified with the error, never a mismatch', async () => {
    await withSetup({ fleet: [testVm(1), testVm(2, { platform: 'Windows' })], faults: { timeoutRates: { GetLatestGuestToolsForVm: 1 } } }, { zstack: { requestTimeoutMs: 300 } }, async (s) => {
      const run = await reconcile(s.config);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(decided(run.report, 1), 'defer/catalog-unverified');
      assert.match(of(run.report, 1).detail ?? '', /catalog probe failed: .*GetLatestGuestToolsForVm/);
      assert.equal(run.report.counts['skip/catalog-mismatch'] ?? 0, 0);
      assert.match(run.report.message ?? '', /catalog probe failed/);
      assert.doesNotMatch(run.report.message ?? '', /restart the management node/);
      assert.equal(s.sim.attachesStarted().length, 0);
    });
  });

  it('a VM without architecture is skip/unknown-architecture, never attached as x86_64', async () => {
    await withSetup({ fleet: [testVm(1, { architecture: null }), testVm(2)] }, {}, async (s) => {
      const run = await reconcile(s.config);
      assert.equal(decided(run.report, 1), 'skip/unknown-architecture');
      assert.equal(attachesOf(s.sim, 1), 0);
      assert.equal(attachesOf(s.sim, 2), 1);
    });
  });

  it("a VM with a user's ISO in CD-ROM 0 is deferred as cdrom-busy and needs attention; policy.ejectUserIso attaches it", async () => {
    const fleet: SimVm[] = [testVm(1, { cdRomIsoUuid: HEX(0xf1) })];
    await withSetup({ fleet }, {}, async (s) => {
      const run = await reconcile(s.config);
      assert.equal(decided(run.report, 1), 'defer/cdrom-busy');
      assert.match(of(run.report, 1).detail ?? '', new RegExp(HEX(0xf1)));
      assert.equal(attachesOf(s.sim, 1), 0);
      assert.equal(s.sim.vm(HEX(1))?.cdRomIsoUuid, HEX(0xf1), 'the user ISO is still there');
      const status = await gtr(['status', '--config', s.config]);
      assert.match(status.stdout, /vm-1 .*cdrom-busy/);
      const eject = s.ws.writeConfig(simConfig(s.ws, s.sim, { policy: { ejectUserIso: true } }));
      const forced = await reconcile(eject);
      assert.equal(of(forced.report, 1).outcome, 'attached');
      assert.equal(s.sim.vm(HEX(1))?.cdRomIsoUuid, undefined, 'the attach ejected it, as kvmagent does');
    });
  });

  it('the generated fleets hold VMs with a user ISO in CD-ROM 0', async () => {
    const sim = await startSimulator({ fleet: { vms: 2000, seed: 3 } });
    try {
      const busy = sim.vms().filter((v) => v.cdRomIsoUuid);
      assert.ok(busy.length > 10 && busy.length < 100, `${busy.length} VMs with a user ISO`);
    } finally {
      await sim.close();
    }
  });
});

describe('issue 11: windows bound every attach start; signals stop a reconcile cleanly', () => {
  it('a window that closes during a run with slow attach jobs: the rest are outside-window, the run ends normally', async () => {
    // The window is the current UTC minute, entered with 15-25 s of it left: it closes at the next minute.
    const MIN = 60_000;
    const left = () => MIN - (Date.now() % MIN);
    await waitFor('15-25 s left in the minute', () => left() <= 25_000 && left() > 15_000, 70_000, 100);
    const start = new Date(Math.floor(Date.now() / MIN) * MIN);
    const closesAt = start.getTime() + MIN;
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const windows = [{ days: [], start: hhmm(start), end: hhmm(new Date(closesAt)) }];
    const fleet = Array.from({ length: 90 }, (_, i) => testVm(i + 1));
    await withSetup({ fleet, jobDurationMs: 1500 }, { schedule: { windows }, policy: { maxConcurrency: 1, maxPerHost: 1 } }, async (s) => {
      const r = await gtr(['reconcile', '--config', s.config, '--json'], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      const run = { report: JSON.parse(r.stdout) as Report };
      assert.notEqual(run.report.status, 'interrupted');
      const started = s.sim.attachesStarted();
      assert.ok(started.length > 0 && started.length < 90, `${started.length} attaches started`);
      assert.ok(started.every((a) => a.at < closesAt + 1000), 'no attach started after the window closed');
      assert.equal(run.report.counts['defer/outside-window'], 90 - started.length);
      assert.match(run.report.message ?? '', /maintenance window closed during the run/);
      assert.equal(run.report.actions.filter((a) => a.outcome === 'attached').length, started.length, 'in-flight ones finished');
    });
  });

  it('SIGTERM during a run: exit 143, in-flight attaches interrupted with their job uuid, the rest deferred; the next run never attaches them twice', async () => {
    const fleet = Array.from({ length: 6 }, (_, i) => testVm(i + 1));
    // zstack.jobTimeoutMs bounds how long the next run's replay follows the stuck jobs (docs/design.md 3).
    await withSetup({ fleet, faults: { stuckJobRate: 1 } }, { policy: { maxConcurrency: 2, maxPerHost: 1 }, zstack: { jobTimeoutMs: 3000 } }, async (s) => {
      const child = spawnGtr(['reconcile', '--config', s.config, '--json'], { GTR_SHUTDOWN_GRACE_MS: '300' });
      await waitFor('two attaches in flight', () => s.sim.attachesStarted().length >= 2);
      child.kill('SIGTERM');
      const end = await exited(child);
      assert.equal(end.code, 143, child.output().stderr);
      const report = JSON.parse(child.output().stdout) as Report;
      assert.equal(report.status, 'interrupted');
      const inFlight = report.actions.filter((a) => a.outcome === 'interrupted');
      assert.equal(inFlight.length, 2);
      const jobs = new Set(s.sim.attachesStarted().map((a) => a.jobUuid));
      for (const a of inFlight) assert.ok(a.jobUuid && jobs.has(a.jobUuid), 'the job uuid the MN saw');
      assert.deepEqual(report.actions.filter((a) => a.action === 'defer').map((a) => a.reason), ['shutdown', 'shutdown', 'shutdown', 'shutdown']);
      const show = JSON.parse((await gtr(['runs', 'show', '1', '--config', s.config, '--json'])).stdout) as { status: string; actions: Action[] };
      assert.equal(show.status, 'interrupted');
      assert.deepEqual(show.actions.filter((a) => a.outcome === 'interrupted').map((a) => a.vmUuid).sort(), inFlight.map((a) => a.vmUuid).sort());

      s.sim.setFaults({});
      const next = await reconcile(s.config);
      assert.equal(next.code, 0, next.stderr);
      const replayed = JSON.parse((await gtr(['runs', 'show', '1', '--config', s.config, '--json'])).stdout) as { actions: (Action & { finishedAt: string | null })[] };
      const settled = replayed.actions.filter((a) => a.outcome === 'interrupted');
      assert.equal(settled.length, 2, 'the stopped run keeps its true outcome');
      // Their jobs are stuck (still running): a job is never recorded attached before it succeeded, so the
      // replay leaves them unsettled and polls them again at the next start (docs/design.md 3).
      assert.ok(settled.every((a) => a.finishedAt === null), 'a job still running is not settled');
      for (const a of inFlight) {
        assert.equal(decided(next.report, Number.parseInt(a.vmUuid, 16)), 'defer/awaiting-install');
        assert.equal(s.sim.attachesStarted().filter((x) => x.vmUuid === a.vmUuid).length, 1, 'never attached twice');
      }
      assert.equal(next.report.counts.attached, 4, 'the deferred ones are attached now');
    });
  });

  it('a second signal exits at once', async () => {
    await withSetup({ fleet: [testVm(1)], faults: { stuckJobRate: 1 } }, {}, async (s) => {
      const child = spawnGtr(['reconcile', '--config', s.config]);
      await waitFor('an attach in flight', () => s.sim.attachesStarted().length >= 1);
      child.kill('SIGINT');
      // The first signal's line gives the grace period of the attaches in flight; the second's none.
      await waitFor('the first signal noticed', () => logLines(child.output().stderr).some((l) => l.signal === 'SIGINT' && typeof l.graceMs === 'number'));
      child.kill('SIGINT');
      const end = await exited(child);
      assert.equal(end.code, 130);
    });
  });
});
