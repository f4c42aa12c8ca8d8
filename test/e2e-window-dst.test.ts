// End to end: a maintenance window ends at its local wall time across a DST change.
// `gtr reconcile` runs as a real child under libfaketime (Debian's faketime) with a
// clock the test moves through the spring-forward night in Europe/Berlin, against the real simulator
// (on the real clock) and a real SQLite file. Monotonic time is not faked, so timers and job polls
// run as usual. Waits are bounded polls, never sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from '../src/sim/index.js';
import { exited, GTR, cleanEnv, simConfig, waitFor, workspace } from './helpers/cli.js';
import { testFleet } from './helpers/fleet.js';

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p));

interface Report {
  status: string;
  counts: Record<string, number>;
  message: string | null;
}

describe('windows on wall time, end to end', { skip: LIBFAKETIME === undefined ? 'libfaketime is not installed (apt-get install faketime)' : false }, () => {
  it('Sun 01:00-04:00 Europe/Berlin, a run started at 01:30 CET on 2025-03-30: starts stop at 04:00 CEST (02:00Z), not 05:00 CEST', async () => {
    const sim = await startSimulator({ fleet: testFleet(40), jobDurationMs: 150 });
    const ws = await workspace();
    try {
      const windows = [{ days: ['sun'], start: '01:00', end: '04:00' }];
      const config = ws.writeConfig(simConfig(ws, sim, { schedule: { timezone: 'Europe/Berlin', windows }, policy: { maxConcurrency: 1, maxPerHost: 1, maxErrors: '50%' } }));
      // The child's clock: real time shifted by the offset in this file, re-read on every call.
      const clockFile = join(ws.dir, 'faketime.rc');
      const setClock = (iso: string) => {
        const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
        writeFileSync(clockFile, `${seconds >= 0 ? '+' : ''}${seconds}s\n`);
      };
      setClock('2025-03-30T00:30:00Z'); // 01:30 CET: the window is open, the change is at 01:00Z
      const child = spawn(process.execPath, [GTR, 'reconcile', '--config', config, '--json'], {
        env: { ...cleanEnv(), LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const started = () => sim.attachesStarted().length;

      await waitFor('attaches before the change', () => started() >= 2, 30_000);
      setClock('2025-03-30T01:30:00Z'); // 03:30 CEST: after the change, still open
      const afterChange = started();
      await waitFor('attaches after the change', () => started() >= afterChange + 2, 30_000);
      setClock('2025-03-30T02:00:30Z'); // 04:00:30 CEST: closed (now + local minutes would say open until 03:00Z)
      const atClose = started();

      const done = await exited(child);
      assert.equal(done.code, 0, stderr);
      const report = JSON.parse(stdout) as Report;
      const total = started();
      // With one attach at a time, at most the one whose start was already decided lands after the close.
      assert.ok(total <= atClose + 1, `${total - atClose} attaches started after 04:00 CEST`);
      assert.ok(total < 40, `${total} of 40 attached`);
      assert.equal(report.counts['defer/outside-window'], 40 - total);
      assert.match(report.message ?? '', /maintenance window closed during the run/);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
