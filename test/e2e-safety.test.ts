// End to end: exit codes, limits, the error budget, session expiry, location rewriting, catalog
// mismatch, the lease, and a reconciler killed with SIGKILL mid-run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type SimOptions, type SimVm } from '../src/sim/index.js';
import { Ledger } from '../src/ledger/index.js';
import { HEX, testFleet, testVm } from './helpers/fleet.js';
import { exited, gtr, simConfig, spawnGtr, waitFor, withSimSetup, workspace } from './helpers/cli.js';

/** Out-of-date VMs over `hosts` hosts; every third one (1, 4, 7, ...) runs Windows. */
function outdated(count: number, hosts: number): SimVm[] {
  return testFleet(count, { hosts, patch: (i) => ({ platform: i % 3 === 0 ? 'Windows' : 'Linux' }) });
}

async function withSetup<T>(
  simOpts: SimOptions,
  extra: Parameters<typeof simConfig>[2],
  fn: (s: { sim: Awaited<ReturnType<typeof startSimulator>>; config: string; database: string; isoDir: string }) => Promise<T>,
): Promise<T> {
  const sim = await startSimulator({ jobDurationMs: 10, guests: { installShare: 1 }, ...simOpts });
  const ws = await workspace();
  try {
    const config = ws.writeConfig(simConfig(ws, sim, extra));
    return await fn({ sim, config, database: ws.database, isoDir: ws.isoDir });
  } finally {
    await sim.close();
    ws.cleanup();
  }
}

type Report = { status: string; counts: Record<string, number>; actions: { vmUuid: string; action: string; reason: string; outcome: string | null; error: { code: string; details: string } | null }[]; message: string | null };
const parse = (stdout: string) => JSON.parse(stdout) as Report;

describe('exit codes', () => {
  it('2 for an unknown flag, an unknown command and an invalid config, without a stack trace', async () => {
    const flag = await gtr(['reconcile', '--bogus']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /bogus/);
    const command = await gtr(['frobnicate']);
    assert.equal(command.code, 2);
    await withSetup({ fleet: outdated(1, 1) }, { policy: { maxConcurrency: 'ten' }, schedule: { cron: 'not a cron' } }, async ({ config }) => {
      const r = await gtr(['plan', '--config', config]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /policy\.maxConcurrency/);
      assert.match(r.stderr, /schedule\.cron/, 'every problem reported at once');
      for (const out of [flag.stderr, command.stderr, r.stderr]) assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
    });
  });

  it('3 when ZStack is unreachable, the login is refused, or the ISO folder is missing', async () => {
    await withSetup({ fleet: outdated(1, 1) }, {}, async ({ sim, config }) => {
      const wrongPassword = await withConfig(config, (c) => ({ ...c, zstack: { ...c.zstack, password: 'wrong-password' } }));
      const refused = await gtr(['reconcile', '--config', wrongPassword]);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /login refused/);
      assert.doesNotMatch(refused.stderr, /wrong-password/, 'the password is never printed');
      const noIso = await withConfig(config, (c) => ({ ...c, isoDir: '/nonexistent/zstack-dvd' }));
      const iso = await gtr(['reconcile', '--config', noIso]);
      assert.equal(iso.code, 3, iso.stderr);
      assert.match(iso.stderr, /nonexistent\/zstack-dvd/);
      await sim.close();
      const down = await gtr(['reconcile', '--config', config]);
      assert.equal(down.code, 3, down.stderr);
    });
  });

  it('1 when some attaches fail, with the ZStack error in the output', async () => {
    await withSetup({ fleet: outdated(6, 3), faults: { failVmUuids: [HEX(2)] } }, { policy: { maxErrors: 3 } }, async ({ config }) => {
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 1, r.stderr);
      const report = parse(r.stdout);
      assert.equal(report.status, 'partial');
      const failed = report.actions.find((a) => a.vmUuid === HEX(2));
      assert.equal(failed?.outcome, 'failed');
      assert.equal(failed?.error?.code, 'SYS.1006');
      assert.equal(report.counts.failed, 1);
      assert.equal(report.counts.succeeded, 5);
      const human = await gtr(['runs', 'show', '1', '--config', config]);
      assert.match(human.stdout, /SYS\.1006/);
    });
  });

  it('4 when failures exceed the error budget: the rest is deferred as budget-halted', async () => {
    const fleet = outdated(30, 10);
    const failing = fleet.slice(0, 30).map((v) => v.uuid);
    await withSetup({ fleet, faults: { failVmUuids: failing } }, { policy: { maxErrors: 2, maxConcurrency: 2, maxPerHost: 1 } }, async ({ sim, config }) => {
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 4, r.stderr);
      const report = parse(r.stdout);
      assert.equal(report.status, 'halted');
      const failed = report.actions.filter((a) => a.outcome === 'failed').length;
      const halted = report.actions.filter((a) => a.action === 'defer' && a.reason === 'budget-halted').length;
      assert.ok(failed >= 3, 'halts only once failures exceed maxErrors');
      assert.ok(failed <= 3 + 1, 'in-flight attaches finish, nothing new starts (concurrency 2)');
      assert.equal(failed + halted, 30);
      assert.equal(sim.attachesStarted().length, failed);
    });
  });

  it('5 when another run holds the lease, naming the holder', async () => {
    await withSetup({ fleet: outdated(1, 1) }, {}, async ({ config, database }) => {
      assert.equal((await gtr(['migrate', '--config', config])).code, 0);
      const ledger = Ledger.open(database);
      const got = ledger.acquireLease({ holder: 'test-holder', purpose: 'daemon', ttlMs: 60_000, now: Date.now() });
      assert.equal(got.ok, true);
      try {
        const r = await gtr(['reconcile', '--config', config]);
        assert.equal(r.code, 5, r.stderr);
        assert.match(r.stderr, /another run holds the lease: daemon \(pid \d+/);
      } finally {
        ledger.close();
      }
    });
  });
});

describe('limits', () => {
  it('never exceeds maxConcurrency or maxPerHost, and --limit caps the attaches', async () => {
    await withSetup({ fleet: outdated(40, 5), jobDurationMs: 60 }, { policy: { maxConcurrency: 4, maxPerHost: 1, maxErrors: 0 } }, async ({ sim, config }) => {
      const limited = await gtr(['reconcile', '--config', config, '--json', '--limit', '3']);
      assert.equal(limited.code, 0, limited.stderr);
      const first = parse(limited.stdout);
      assert.equal(first.counts.attach, 3);
      assert.equal(first.counts['defer/run-limit'], 37);
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parse(r.stdout).counts.attach, 37);
      assert.ok(sim.maxAttachInFlight <= 4, `in flight ${sim.maxAttachInFlight} <= maxConcurrency 4`);
      assert.ok(sim.maxAttachInFlightPerHost() <= 1, `per host ${sim.maxAttachInFlightPerHost()} <= maxPerHost 1`);
      assert.ok(sim.maxAttachInFlight >= 2, 'attaches do run concurrently');
      assert.equal(new Set(sim.attachesStarted().map((a) => a.vmUuid)).size, 40, 'each VM attached once');
    });
  });

  it('--vm limits the run to the named VMs; --dry-run changes nothing', async () => {
    await withSetup({ fleet: outdated(5, 2) }, {}, async ({ sim, config }) => {
      const dry = await gtr(['reconcile', '--config', config, '--json', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(parse(dry.stdout).status, 'dry-run');
      assert.equal(sim.attachesStarted().length, 0);
      const one = await gtr(['reconcile', '--config', config, '--json', '--vm', HEX(3)]);
      assert.equal(one.code, 0, one.stderr);
      assert.deepEqual(parse(one.stdout).actions.map((a) => a.vmUuid), [HEX(3)]);
      assert.deepEqual(sim.attachesStarted().map((a) => a.vmUuid), [HEX(3)]);
      const bad = await gtr(['reconcile', '--config', config, '--vm', 'nope']);
      assert.equal(bad.code, 2);
    });
  });

  it('a run limit never lets an unprobed group attach when the probed group is mismatched', async () => {
    // Two groups (x86_64 and aarch64 Linux VMs); the MN still offers 1.1.0 to both; --limit 1.
    const mnIsos = [{ agentType: 'LinuxOnKvm' as const, architecture: 'general', version: '1.1.0' }];
    await withSimSetup({ fleet: [testVm(1), testVm(2, { architecture: 'aarch64' })], isos: mnIsos }, {}, async ({ sim, config }) => {
      const r = await gtr(['reconcile', '--config', config, '--json', '--limit', '1']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parse(r.stdout).actions.map((a) => a.reason), ['catalog-mismatch', 'catalog-mismatch']);
      assert.equal(sim.attachesStarted().length, 0, 'nothing attached for a group the MN cannot serve');
    });
  });
});

describe('management node behaviour', () => {
  it('survives sessions expiring mid-run and a job location naming another host', async () => {
    await withSetup(
      // A session that lives for 15 calls while 2 attaches are in flight: every attach may meet one expiry
      // (then it is re-sent once with a new job uuid), never two in a row.
      { fleet: outdated(12, 4), locationHost: '127.0.0.2:9', faults: { sessionExpireAfterCalls: 15 } },
      { policy: { maxConcurrency: 2 } },
      async ({ sim, config }) => {
        const r = await gtr(['reconcile', '--config', config, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const report = parse(r.stdout);
        assert.equal(report.status, 'succeeded');
        assert.equal(report.counts.succeeded, 12);
        assert.ok((sim.requestsByApi().LogInByAccount ?? 0) > 1, 'logged in again after expiry');
        const perVm = new Map<string, number>();
        for (const a of sim.attachesStarted()) perVm.set(a.vmUuid, (perVm.get(a.vmUuid) ?? 0) + 1);
        for (const [uuid, n] of perVm) assert.ok(n <= 2, `${uuid}: at most one resend after a rejected PUT`);
      },
    );
  });

  it('skips a group as catalog-mismatch when the MN offers another version than the ISO folder', async () => {
    const older = [
      { agentType: 'WindowsOnKvm' as const, architecture: 'x86_64', version: '1.1.0' },
      { agentType: 'LinuxOnKvm' as const, architecture: 'general', version: '1.2.0' },
    ];
    await withSetup({ fleet: outdated(6, 2), isos: older }, {}, async ({ sim, config }) => {
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = parse(r.stdout);
      const windows = report.actions.filter((a) => [HEX(1), HEX(4)].includes(a.vmUuid));
      for (const a of windows) assert.equal(`${a.action}/${a.reason}`, 'skip/catalog-mismatch');
      assert.match(report.message ?? '', /WindowsOnKvm\/x86_64.*restart the management node/);
      assert.ok(sim.attachesStarted().every((a) => ![HEX(1), HEX(4)].includes(a.vmUuid)), 'no attach for the mismatched group');
      assert.equal(sim.attachesStarted().length, 4, 'the Linux VMs are attached');
      const human = await gtr(['plan', '--config', config]);
      assert.match(human.stdout, /WARNING: catalog mismatch/);
    });
  });
});

describe('crash safety', () => {
  it('a reconcile killed with SIGKILL mid-run is marked interrupted; its jobs are polled, never re-sent', async () => {
    await withSetup({ fleet: outdated(8, 8), jobDurationMs: 1500 }, { policy: { maxConcurrency: 4, maxPerHost: 1 } }, async ({ sim, config, database }) => {
      const child = spawnGtr(['reconcile', '--config', config]);
      await waitFor('attaches in flight', () => sim.attachesStarted().length >= 4);
      child.kill('SIGKILL');
      await exited(child);
      const sentBeforeCrash = sim.attachesStarted().map((a) => a.vmUuid);
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const ledger = Ledger.open(database);
      try {
        const first = ledger.getRun(1);
        assert.equal(first?.status, 'interrupted');
        const resolved = first?.actions.filter((a) => a.action === 'attach' && a.jobUuid !== null) ?? [];
        assert.equal(resolved.length, sentBeforeCrash.length);
        for (const a of resolved) {
          assert.deepEqual([a.outcome, a.resolution, a.resolvedBy], ['interrupted', 'attached', 2], `${a.vmUuid}: job polled and found done by run 2`);
        }
      } finally {
        ledger.close();
      }
      const perVm = new Map<string, number>();
      for (const a of sim.attachesStarted()) perVm.set(a.vmUuid, (perVm.get(a.vmUuid) ?? 0) + 1);
      assert.equal(perVm.size, 8, 'every VM attached');
      for (const [uuid, n] of perVm) assert.equal(n, 1, `${uuid} attached exactly once`);
    });
  });
});

async function withConfig(path: string, change: (c: { zstack: Record<string, unknown>; [k: string]: unknown }) => unknown): Promise<string> {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const next = path.replace(/\.json$/, `-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(next, JSON.stringify(change(JSON.parse(readFileSync(path, 'utf8')))));
  return next;
}
