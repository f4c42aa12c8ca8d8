// API latency and errors on /metrics: the daemon (a child process) against the simulator, whose fault
// knobs answer some reads with the MN's error body, some with a proxy's bare 502/503 and reset some
// connections. The histogram and the error counter are labelled by API name, never by a VM or a path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSimulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { simConfig, waitFor, workspace } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

const EVERY_SECOND = '* * * * * *';

/** `name{labels} value` lines of one metric, as label maps with their value. */
function series(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => ({
    labels: Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])),
    value: Number(m[2]),
  }));
}

describe('API latency and error metrics', () => {
  it('a daemon run exposes request durations per API and the injected errors by kind', async () => {
    const sim = await startSimulator({
      jobDurationMs: 5,
      fleet: testFleet(30, { hosts: 5 }),
      // One fault of each kind, at the first request of its API: the first run fails on the CD-ROM query
      // (a ZStack error is not retried), the proxy error and the reset are retried, the next run gets through.
      faults: {
        firstRequests: [
          { api: 'QueryVmCdRom', kind: 'error', count: 1 },
          { api: 'QuerySystemTag', kind: 'proxy', count: 1 },
          { api: 'QueryGuestToolsState', kind: 'reset', count: 1 },
        ],
      },
    });
    const ws = await workspace();
    try {
      // pageSize 5: several pages per query, so every faulty API is asked often enough to fail.
      const config = ws.writeConfig(simConfig(ws, sim, { zstack: { pageSize: 5 }, schedule: { cron: EVERY_SECOND }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' } }));
      const daemon = startDaemon(config);
      try {
        const url = await daemon.url();
        await waitFor('a finished run', () => daemon.lines().some((l) => l.msg === 'run summary'), 30_000);
        const text = await (await request(`${url}/metrics`)).body.text();

        const counts = series(text, 'gtr_api_request_duration_seconds_count');
        const count = (api: string, method: string) => counts.find((s) => s.labels.api === api && s.labels.method === method)?.value ?? 0;
        assert.ok(count('QueryVmInstance', 'GET') > 0, 'inventory reads timed');
        assert.ok(count('AttachGuestToolsIsoToVm', 'PUT') > 0, 'attaches timed');
        assert.ok(count('LogInByAccount', 'PUT') > 0, 'the login timed');
        const buckets = series(text, 'gtr_api_request_duration_seconds_bucket').filter((s) => s.labels.api === 'QueryVmInstance' && s.labels.le === '+Inf');
        assert.equal(buckets[0]?.value, count('QueryVmInstance', 'GET'), 'every request falls in a bucket');

        const errors = series(text, 'gtr_api_errors_total');
        const has = (api: string, kind: string, code?: RegExp) => errors.some((e) => e.labels.api === api && e.labels.kind === kind && (!code || code.test(e.labels.code ?? '')) && e.value > 0);
        assert.ok(has('QueryVmCdRom', 'zstack', /^SYS\.1000$/), `the MN's error code: ${JSON.stringify(errors)}`);
        assert.ok(has('QuerySystemTag', 'http', /^50[23]$/), `a proxy's status: ${JSON.stringify(errors)}`);
        assert.ok(has('QueryGuestToolsState', 'network'), `a reset connection: ${JSON.stringify(errors)}`);
        const injected = sim.faultsInjected();
        const total = (kind: string) => errors.filter((e) => e.labels.kind === kind).reduce((n, e) => n + e.value, 0);
        assert.ok(total('zstack') <= (injected.error ?? 0) && total('http') <= (injected.proxy ?? 0), 'no error counted that the MN did not answer');
        assert.equal(errors.filter((e) => !['QueryVmCdRom', 'QuerySystemTag', 'QueryGuestToolsState'].includes(e.labels.api ?? '')).length, 0, 'no errors where none were injected');

        // Bounded labels: API names only, never a uuid or a path.
        for (const s of [...counts, ...errors]) assert.doesNotMatch(JSON.stringify(s.labels), /[0-9a-f]{32}|\//, 'no uuid or path in a label');
      } finally {
        assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
      }
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
