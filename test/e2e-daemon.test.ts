// The daemon as a real child process against the simulator, with a seconds-level schedule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import type { SimOptions, SimVm } from '../src/sim/index.js';
import { Ledger } from '../src/ledger/index.js';
import { testFleet } from './helpers/fleet.js';
import { exited, gtr, simConfig, spawnGtr, waitFor, withSimSetup, type SimSetup } from './helpers/cli.js';

const EVERY_SECOND = '* * * * * *';
const outdated = (count: number): SimVm[] => testFleet(count);

type LogLine = { msg: string; level: number; [k: string]: unknown };

function logLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

function startDaemon(config: string) {
  const child = spawnGtr(['daemon', '--config', config]);
  const lines = () => logLines(child.output().stdout);
  const url = async () => {
    const started = await waitFor('daemon started', () => {
      const line = lines().find((l) => l.msg === 'daemon started');
      if (!line && child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode} before it started:\n${child.output().stderr}${child.output().stdout}`);
      return line;
    }, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n--- daemon output ---\n${child.output().stderr}${child.output().stdout.slice(-4000)}`);
    });
    return started.listen as string;
  };
  return { child, lines, url };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, body: JSON.parse(text) as Record<string, unknown> };
}

function withDaemonSetup(simOpts: SimOptions, extra: Parameters<typeof simConfig>[2], fn: (s: SimSetup) => Promise<void>) {
  const daemon = { schedule: { cron: EVERY_SECOND }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' }, ...extra };
  return withSimSetup({ jobDurationMs: 10, guests: { installShare: 1 }, password: 'Daemon-Secret-42', ...simOpts }, daemon, fn);
}

function runsOf(database: string) {
  const ledger = Ledger.open(database);
  try {
    return ledger.listRuns(1000);
  } finally {
    ledger.close();
  }
}

describe('gtr daemon', () => {
  it('runs on schedule and serves /healthz, /metrics and /api/* with real figures; SIGTERM exits 0', async () => {
    await withDaemonSetup({ fleet: outdated(5) }, {}, async ({ sim, config }) => {
      const d = startDaemon(config);
      try {
        const url = await d.url();
        // Two finished runs: the second one saw the fleet after the first one's attaches.
        const finished = async () => ((await getJson(`${url}/api/runs`)).body.runs as { finishedAt: string | null }[]).filter((r) => r.finishedAt);
        await waitFor('two finished scheduled runs', async () => (await finished()).length >= 2);
        const runs = (await getJson(`${url}/api/runs`)).body.runs as { trigger: string; status: string }[];
        assert.ok(runs.every((r) => r.trigger === 'schedule'));
        assert.ok(runs.some((r) => r.status === 'succeeded'), JSON.stringify(runs));
        assert.equal(sim.attachesStarted().length, 5, 'each VM attached once across runs');

        const health = await getJson(`${url}/healthz`);
        assert.equal(health.status, 200);
        assert.equal(health.body.ok, true);
        assert.equal(health.body.scheduler, 'running');

        const status = await getJson(`${url}/api/status`);
        const fleet = status.body.fleet as { version: string; count: number }[];
        assert.equal(fleet.reduce((n, f) => n + f.count, 0), 5);

        const metrics = await (await request(`${url}/metrics`)).body.text();
        assert.match(metrics, /gtr_runs_total\{status="succeeded"\} [1-9]/);
        assert.match(metrics, /gtr_attaches_total\{outcome="verified"\} 5/);
        assert.match(metrics, /gtr_vms\{version="1\.2\.0",platform="Linux",architecture="x86_64",confirmed="tag"\} 5/, "no QGA: known by the installer's tag only");
        assert.match(metrics, /gtr_attaches_verified_by_tag_total 5/);
        assert.match(metrics, /gtr_zstack_requests\{api="QueryVmInstance"\} [1-9]/);
        assert.match(metrics, /gtr_last_success_timestamp_seconds [1-9]/);

        const post = await request(`${url}/api/runs`, { method: 'POST' });
        await post.body.text();
        assert.equal(post.statusCode, 405, 'read-only');
        assert.ok(d.lines().some((l) => l.msg === 'run summary' && typeof l.runId === 'number'), 'a summary line per run');
      } finally {
        d.child.kill('SIGTERM');
      }
      assert.deepEqual(await exited(d.child), { code: 0, signal: null });
      const out = d.child.output().stdout;
      assert.doesNotMatch(out, new RegExp(sim.password), 'the password never reaches the logs');
    });
  });

  it('defers attaches outside the maintenance window and reports the next window', async () => {
    const later = new Date(Date.now() + 12 * 3_600_000);
    const hhmm = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const windows = [{ days: [], start: hhmm(later), end: hhmm(new Date(later.getTime() + 60_000)) }];
    await withDaemonSetup({ fleet: outdated(3) }, { schedule: { cron: EVERY_SECOND, windows } }, async ({ sim, ws, config }) => {
      const d = startDaemon(config);
      try {
        const url = await d.url();
        await waitFor('a finished run', () => runsOf(ws.database).some((r) => r.finishedAt !== null));
        const run = runsOf(ws.database).find((r) => r.finishedAt !== null);
        assert.equal(run?.status, 'noop');
        assert.equal(run?.counts['defer/outside-window'], 3);
        assert.equal(sim.attachesStarted().length, 0);
        const status = await getJson(`${url}/api/status`);
        const window = status.body.window as { open: boolean; nextOpening: string };
        assert.equal(window.open, false);
        assert.equal(window.nextOpening.slice(11, 16), hhmm(later));
      } finally {
        d.child.kill('SIGTERM');
        await exited(d.child);
      }
    });
  });

  it('SIGTERM during a slow run lets in-flight attaches finish, records the run, exits 0', async () => {
    await withDaemonSetup({ fleet: outdated(6), jobDurationMs: 1500 }, { policy: { maxConcurrency: 2, maxPerHost: 1 } }, async ({ sim, ws, config }) => {
      const d = startDaemon(config);
      await d.url();
      await waitFor('attaches in flight', () => sim.attachesStarted().length >= 2);
      d.child.kill('SIGTERM');
      assert.deepEqual(await exited(d.child), { code: 0, signal: null });
      const ledger = Ledger.open(ws.database);
      try {
        const run = ledger.getRun(1);
        assert.ok(run && run.finishedAt !== null, 'the run is recorded as finished');
        assert.notEqual(run?.status, 'running');
        const withJob = run?.actions.filter((a) => a.jobUuid !== null) ?? [];
        assert.equal(withJob.length, sim.attachesStarted().length, 'every attach sent is on record');
        for (const a of withJob) assert.ok(a.outcome === 'attached' || a.outcome === 'verified', `${a.vmUuid}: finished, not abandoned (${a.outcome})`);
        assert.ok(sim.attachesStarted().length < 6, 'no new attaches started after SIGTERM');
      } finally {
        ledger.close();
      }
      assert.ok(d.lines().some((l) => l.msg === 'stopped'));
    });
  });

  it('a second SIGTERM exits at once with code 1; the next start resolves what was in flight', async () => {
    await withDaemonSetup({ fleet: outdated(2), jobDurationMs: 3000 }, { policy: { maxConcurrency: 1 } }, async ({ sim, ws, config }) => {
      const d = startDaemon(config);
      await d.url();
      await waitFor('an attach in flight', () => sim.attachesStarted().length >= 1);
      d.child.kill('SIGTERM');
      await waitFor('the first signal taken', () => d.lines().some((l) => l.msg === 'stopping'));
      d.child.kill('SIGTERM');
      assert.deepEqual(await exited(d.child), { code: 1, signal: null });
      assert.match(d.child.output().stderr, /second SIGTERM: exiting at once/);
      const next = startDaemon(config);
      try {
        await next.url();
        await waitFor('the abandoned run marked interrupted', () => runsOf(ws.database).some((r) => r.status === 'interrupted'));
        await waitFor('every VM attached', () => new Set(sim.attachesStarted().map((a) => a.vmUuid)).size === 2, 30_000);
      } finally {
        next.child.kill('SIGTERM');
        await exited(next.child);
      }
      assert.equal(sim.attachesStarted().length, 2, 'the attach in flight at the forced exit is not sent again');
    });
  });

  it('SIGHUP reloads the config; an invalid config is reported and the running one kept', async () => {
    await withDaemonSetup({ fleet: outdated(1) }, {}, async ({ config }) => {
      const d = startDaemon(config);
      try {
        const url = await d.url();
        const good = JSON.parse(readFileSync(config, 'utf8')) as { policy: Record<string, unknown> };
        good.policy.maxPerHost = 3;
        writeFileSync(config, JSON.stringify(good));
        d.child.kill('SIGHUP');
        const reloaded = await waitFor('reload', () => d.lines().find((l) => l.msg === 'configuration reloaded'));
        assert.equal((reloaded.config as { policy: { maxPerHost: number } }).policy.maxPerHost, 3);
        writeFileSync(config, '{ "policy": { "maxPerHost": "lots" } }');
        d.child.kill('SIGHUP');
        const failed = await waitFor('reload failure', () => d.lines().find((l) => l.level === 50 && Array.isArray(l.invalidKeys)));
        assert.deepEqual(failed.invalidKeys, ['policy.maxPerHost'], 'the invalid key, never its value');
        // Still running the old config, and saying so: unhealthy until a good reload (issue 24).
        const health = await getJson(`${url}/healthz`);
        assert.equal(health.status, 503, 'a failed reload is shown');
        assert.match(String(health.body.reason), /config reload failed.*policy\.maxPerHost.*previous configuration/s);
        assert.equal(health.body.scheduler, 'running', 'the running configuration goes on');
      } finally {
        d.child.kill('SIGTERM');
        await exited(d.child);
      }
    });
  });

  it('the lease holds off a manual reconcile and a second daemon; runs never overlap', async () => {
    await withDaemonSetup({ fleet: outdated(4), jobDurationMs: 200 }, { policy: { maxConcurrency: 1 } }, async ({ sim, ws, config }) => {
      // The first attach stays in flight (its run holds the lease) until the checks below are done.
      sim.holdAttachJobs();
      const a = startDaemon(config);
      const b = startDaemon(config);
      try {
        await a.url();
        await b.url();
        await waitFor('an attach in flight', () => sim.attachesStarted().length >= 1);
        const manual = await gtr(['reconcile', '--config', config]);
        assert.equal(manual.code, 5, manual.stderr);
        assert.match(manual.stderr, /another run holds the lease: daemon/);
        // A skipped tick's warning names the holder: the other daemon.
        await waitFor('a skipped tick', () => [...a.lines(), ...b.lines()].some((l) => l.level === 40 && (l.holder as { purpose?: string } | undefined)?.purpose === 'daemon'));
        sim.releaseAttachJobs();
        await waitFor('every VM attached', () => sim.attachesStarted().length >= 4, 30_000);
      } finally {
        a.child.kill('SIGTERM');
        b.child.kill('SIGTERM');
        await Promise.all([exited(a.child), exited(b.child)]);
      }
      const runs = runsOf(ws.database)
        .filter((r) => r.finishedAt !== null)
        .map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt as string)])
        .sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < runs.length; i++) assert.ok(runs[i][0] >= runs[i - 1][1], 'runs never overlap');
      assert.equal(new Set(sim.attachesStarted().map((x) => x.vmUuid)).size, sim.attachesStarted().length, 'no VM attached twice');
    });
  });

  it('a daemon killed with SIGKILL leaves a lease that the next start takes over', async () => {
    await withDaemonSetup({ fleet: outdated(3), jobDurationMs: 1000 }, { policy: { maxConcurrency: 1 } }, async ({ sim, ws, config }) => {
      const first = startDaemon(config);
      await first.url();
      await waitFor('an attach in flight', () => sim.attachesStarted().length >= 1);
      first.child.kill('SIGKILL');
      await exited(first.child);
      const second = startDaemon(config);
      try {
        await second.url();
        await waitFor('every VM attached', () => new Set(sim.attachesStarted().map((x) => x.vmUuid)).size === 3, 30_000);
        await waitFor('the killed run marked interrupted', () => runsOf(ws.database).some((r) => r.status === 'interrupted'));
      } finally {
        second.child.kill('SIGTERM');
        await exited(second.child);
      }
      assert.equal(sim.attachesStarted().length, 3, 'no second attach for the VM that was in flight at the kill');
    });
  });
});
