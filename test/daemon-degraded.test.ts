// The daemon waits instead of giving up (issue 24): a missing ISO folder or a busy status port at start
// means running degraded (unhealthy with the reason, retried with backoff) and healthy once fixed, in the
// same process; a reload with a broken config is refused (`gtr daemon --check-config` exits 2, as the
// unit's ExecReload runs it first), reported on /healthz, the page, `gtr status` and a metric, and the
// running configuration kept. Real daemon child processes, real sockets, the simulator on loopback.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { writeIsoDir } from '../src/sim/index.js';
import { DEFAULT_ISOS, exited, gtr, simConfig, waitFor, withSimSetup, type SimSetup } from './helpers/cli.js';
import { startDaemon, type LogLine } from './helpers/daemon.js';
import { FAILED_TICKS_DEGRADED } from '../src/daemon/daemon.js';

/** A cron that does not fire during a test: the retries under test are the daemon's own, not ticks. */
const NEVER = '0 0 0 1 1 *';

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
}

async function healthz(url: string): Promise<{ status: number; body: { ok: boolean; reason?: string; nextRun?: string; problems: { kind: string; reason: string }[] } }> {
  const { status, text } = await get(`${url}/healthz`);
  return { status, body: JSON.parse(text) as never };
}

async function daemonStatus(config: string): Promise<{ running: boolean; problems: { kind: string; reason: string }[]; listen: string | null }> {
  const r = await gtr(['status', '--json', '--config', config]);
  assert.equal(r.code, 0, r.stderr);
  const daemon = (JSON.parse(r.stdout) as { daemon: { running: boolean; problems: { kind: string; reason: string }[]; listen: string | null } | null }).daemon;
  assert.ok(daemon, `gtr status --json has the daemon: ${r.stdout}`);
  return daemon;
}

function withSetup(fn: (s: SimSetup) => Promise<void>): Promise<void> {
  return withSimSetup({ jobDurationMs: 10, password: 'Degraded-Secret-7' }, {}, fn);
}

const logged = (lines: () => LogLine[], msg: string) => () => lines().find((l) => l.msg === msg);

describe('gtr daemon runs degraded instead of giving up', () => {
  it('a missing ISO folder at start: runs unhealthy with the reason, healthy once the folder appears, same process', async () => {
    await withSetup(async ({ ws, sim }) => {
      const isoDir = join(ws.dir, 'nfs-not-mounted-yet');
      const config = ws.writeConfig(simConfig(ws, sim, { isoDir, schedule: { cron: NEVER }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' } }));
      const daemon = startDaemon(config);
      try {
        const url = await daemon.url();
        const before = await healthz(url);
        assert.equal(before.status, 503);
        assert.match(before.body.reason ?? '', /GTR_CATALOG_UNUSABLE.*nfs-not-mounted-yet/);
        assert.deepEqual(before.body.problems.map((p) => p.kind), ['iso-folder']);
        assert.deepEqual((await daemonStatus(config)).problems.map((p) => p.kind), ['iso-folder']);
        assert.match((await get(`${url}/metrics`)).text, /^gtr_daemon_problem\{problem="iso-folder"\} 1$/m);
        assert.ok(logged(daemon.lines, 'waiting for the ISO folder')(), 'the retry is logged');

        await writeIsoDir(isoDir, DEFAULT_ISOS);
        await waitFor('the ISO folder usable again', logged(daemon.lines, 'the ISO folder is usable again'), 120_000);
        const after = await healthz(url);
        assert.equal(after.status, 200, JSON.stringify(after.body));
        assert.deepEqual(after.body.problems, []);
        assert.deepEqual((await daemonStatus(config)).problems, []);
        assert.equal(daemon.child.exitCode, null, 'never restarted: the same process');
      } finally {
        assert.equal((await daemon.stop()).code, 0, daemon.child.output().stderr);
      }
    });
  });

  it('a busy status port at start: runs (gtr status says so), binds the port once the old holder lets go', async () => {
    await withSetup(async ({ ws, sim }) => {
      const holder: Server = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const port = (holder.address() as { port: number }).port;
      const config = ws.writeConfig(simConfig(ws, sim, { schedule: { cron: NEVER }, http: { listen: `127.0.0.1:${port}` }, log: { level: 'info' } }));
      const daemon = startDaemon(config);
      let holderOpen = true;
      try {
        const started = await waitFor('daemon started', logged(daemon.lines, 'daemon started'));
        assert.equal(started.listen, null, 'not listening yet');
        assert.ok(logged(daemon.lines, 'the status port is not free: running degraded and retrying')());
        const status = await daemonStatus(config);
        assert.equal(status.running, true);
        assert.deepEqual(status.problems.map((p) => p.kind), ['status-port']);
        assert.match(status.problems[0]!.reason, /EADDRINUSE/);

        await new Promise<void>((resolve) => holder.close(() => resolve()));
        holderOpen = false;
        const listening = await waitFor('status server listening', logged(daemon.lines, 'status server listening'), 120_000);
        assert.equal(listening.listen, `http://127.0.0.1:${port}`);
        const health = await healthz(listening.listen as string);
        assert.equal(health.status, 200, JSON.stringify(health.body));
        assert.deepEqual((await daemonStatus(config)).problems, []);
        assert.equal(daemon.child.exitCode, null, 'never restarted');
      } finally {
        if (holderOpen) holder.close();
        assert.equal((await daemon.stop()).code, 0, daemon.child.output().stderr);
      }
      const gone = await gtr(['status', '--json', '--config', config]);
      assert.equal((JSON.parse(gone.stdout) as { daemon: unknown }).daemon, null, 'a clean stop removes daemon-status.json');
    });
  });

  it('a reload with a broken config: --check-config exits 2 naming the key, SIGHUP is refused and reported, the old config kept', async () => {
    await withSetup(async ({ ws, sim }) => {
      const good = simConfig(ws, sim, { schedule: { cron: NEVER }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' } });
      const config = ws.writeConfig(good);
      const daemon = startDaemon(config);
      try {
        const url = await daemon.url();
        const healthy = await healthz(url);
        assert.equal(healthy.status, 200, JSON.stringify(healthy.body));
        const ok = await gtr(['daemon', '--check-config', '--config', config]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /configuration ok/);

        // A wrong value: --check-config (the unit's first ExecReload) refuses it, naming the key.
        writeFileSync(config, JSON.stringify({ ...good, policy: { ...(good.policy as object), maxConcurrency: -3 } }));
        const refused = await gtr(['daemon', '--check-config', '--config', config]);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(refused.stderr, /configuration invalid: .*policy\.maxConcurrency: got -3/s);
        assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');

        // A new schedule in a file that lost its password: the daemon (which calls ZStack) must refuse all of
        // it, while `gtr status` (which does not) still reads the file and shows the failed reload.
        const { password: _dropped, ...zstack } = good.zstack as Record<string, unknown>;
        writeFileSync(config, JSON.stringify({ ...good, schedule: { cron: '* * * * * *' }, zstack }));
        const noPassword = await gtr(['daemon', '--check-config', '--config', config]);
        assert.equal(noPassword.code, 2, noPassword.stderr);
        assert.match(noPassword.stderr, /zstack\.password/);

        daemon.child.kill('SIGHUP');
        await waitFor('config reload failed', logged(daemon.lines, 'config reload failed; keeping the running configuration'));
        const failed = await healthz(url);
        assert.equal(failed.status, 503);
        assert.match(failed.body.reason ?? '', /config reload failed.*zstack\.password.*previous configuration/s);
        assert.equal(failed.body.nextRun, healthy.body.nextRun, 'the running schedule is kept');
        assert.match((await get(`${url}/metrics`)).text, /^gtr_config_reload_failed 1$/m);
        assert.match((await get(`${url}/metrics`)).text, /^gtr_config_reloads_total\{result="failed"\} 1$/m);
        assert.match((await get(`${url}/`)).text, /unhealthy: config reload failed/);
        const status = await daemonStatus(config);
        assert.deepEqual(status.problems.map((p) => p.kind), ['config-reload']);
        const human = await gtr(['status', '--config', config]);
        assert.match(human.stdout, /DEGRADED[^\n]*\n\s+config-reload .*config reload failed/);

        writeFileSync(config, JSON.stringify(good));
        daemon.child.kill('SIGHUP');
        await waitFor('configuration reloaded', logged(daemon.lines, 'configuration reloaded'));
        const fixed = await healthz(url);
        assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
        assert.match((await get(`${url}/metrics`)).text, /^gtr_config_reload_failed 0$/m);
      } finally {
        assert.equal((await daemon.stop()).code, 0, daemon.child.output().stderr);
        await exited(daemon.child);
      }
    });
  });

  it(`/healthz is degraded once ${FAILED_TICKS_DEGRADED} scheduled runs failed in a row, and healthy after the next one that runs`, async () => {
    await withSetup(async ({ ws, sim }) => {
      // Every second a tick; the MN refuses every VM query (503 SYS.1000), so every run fails.
      sim.setFaults({ errorRates: { QueryVmInstance: 1 } });
      const config = ws.writeConfig(simConfig(ws, sim, { schedule: { cron: '* * * * * *' }, http: { listen: '127.0.0.1:0' }, zstack: { requestTimeoutMs: 2000 }, log: { level: 'info' } }));
      const daemon = startDaemon(config);
      try {
        const url = await daemon.url();
        const failed = () => daemon.lines().filter((l) => l.msg === 'run failed; the next tick tries again').length;
        await waitFor(`${FAILED_TICKS_DEGRADED} failed ticks`, () => failed() >= FAILED_TICKS_DEGRADED, 30_000);
        const degraded = await waitFor('/healthz 503', async () => ((await healthz(url)).status === 503 ? healthz(url) : null), 10_000);
        assert.equal(degraded.body.ok, false);
        const reason = /the last (\d+) scheduled runs failed \(the last: .*SYS\.1000/.exec(degraded.body.reason ?? '');
        assert.ok(reason && Number(reason[1]) >= FAILED_TICKS_DEGRADED, degraded.body.reason);
        assert.ok(degraded.body.problems.some((p) => p.kind === 'ticks-failing'));
        assert.match((await get(`${url}/metrics`)).text, /^gtr_daemon_problem\{problem="ticks-failing"\} 1$/m);
        assert.ok((await daemonStatus(config)).problems.some((p) => p.kind === 'ticks-failing'), 'gtr status says so too');

        sim.setFaults({});
        await waitFor('healthy again after a tick that ran', async () => (await healthz(url)).status === 200, 30_000);
      } finally {
        await daemon.stop();
      }
    });
  });
});

