// Installs in /metrics and in webhooks (issue 23 step 7): `gtr daemon` as a real child process with a
// seconds-level schedule over the simulator, a real SQLite file and a real HTTP receiver on 127.0.0.1.
// Two Linux guests install and are detached, one installer fails, one never reports (in flight until
// install.timeout, which is far off). The counters follow the daemon's own runs; the in-flight gauge is
// read from the ledger. The waits are bounded polls of what the daemon exposes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type SimVm } from '../src/sim/index.js';
import { Ledger } from '../src/ledger/index.js';
import { simConfig, waitFor, workspace } from './helpers/cli.js';
import { HEX, testVm } from './helpers/fleet.js';
import { startDaemon } from './helpers/daemon.js';

const EVERY_SECOND = '* * * * * *';
const withAgent = (n: number, patch: Partial<SimVm> = {}): SimVm => testVm(n, { guest: { qgaState: 'Running', version: '1.0.0' }, ...patch });

async function receiver() {
  const got: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    got,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** `name{labels} value` lines of a Prometheus text page, as a map. */
function samples(text: string): Map<string, number> {
  return new Map(text.split('\n').filter((l) => l.startsWith('gtr_')).map((l) => {
    const i = l.lastIndexOf(' ');
    return [l.slice(0, i), Number(l.slice(i + 1))] as const;
  }));
}

describe('installs in /metrics and webhooks', () => {
  it('gtr_installs_total by outcome, gtr_installs_in_flight, gtr_detaches_total; one install.failed event for the failed installer', async () => {
    const fleet = [withAgent(1), withAgent(2), withAgent(3, { installer: 'fails' }), withAgent(4, { installer: 'hangs' })];
    const sim = await startSimulator({ fleet, jobDurationMs: 2, guests: { installMs: 1, agentRestartMs: 1 } });
    const ws = await workspace();
    const hook = await receiver();
    const config = ws.writeConfig(simConfig(ws, sim, {
      install: { mode: 'qga', settle: '0', timeout: '1h', maxConcurrency: 10 },
      schedule: { cron: EVERY_SECOND }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' },
      notify: { webhooks: [{ url: hook.url, events: ['install.failed'] }] },
    }));
    const daemon = startDaemon(config);
    try {
      const base = await daemon.url();
      const want = new Map([
        ['gtr_installs_total{outcome="started"}', 4],
        ['gtr_installs_total{outcome="verified"}', 2],
        ['gtr_installs_total{outcome="install-failed"}', 1],
        ['gtr_installs_total{outcome="no-evidence"}', 0],
        ['gtr_installs_in_flight', 1],
        ['gtr_detaches_total{outcome="detached"}', 2],
        ['gtr_detaches_total{outcome="detach-failed"}', 0],
      ]);
      let last = new Map<string, number>();
      await waitFor('the installs and detaches to show on /metrics', async () => {
        last = samples(await (await fetch(`${base}/metrics`)).text());
        return [...want].every(([k, v]) => last.get(k) === v);
      }, 30_000).catch((error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify([...want.keys()].map((k) => [k, last.get(k)]))}`);
      });
      const ledger = Ledger.open(ws.database, { readonly: true });
      try {
        assert.deepEqual(ledger.installs.open().map((r) => r.vmUuid), [HEX(4)], 'the gauge is the ledger\'s installing rows');
      } finally {
        ledger.close();
      }
      // Only the failure is announced, once (by the run that learned it): two more runs later, still one event.
      const runs = (m: Map<string, number>) => [...m].filter(([k]) => k.startsWith('gtr_runs_total{')).reduce((n, [, v]) => n + v, 0);
      const seen = runs(last);
      await waitFor('two more runs', async () => runs(samples(await (await fetch(`${base}/metrics`)).text())) >= seen + 2, 30_000);
      assert.equal(hook.got.length, 1, JSON.stringify(hook.got));
      const event = hook.got[0];
      assert.equal(event.event, 'install.failed');
      assert.equal(event.reason, 'install-failed');
      assert.deepEqual(event.counts, { vms: 1, installFailed: 1, noEvidence: 0 });
      assert.match(String(event.summary), /vm-3 \(InstallFailed\)/);
      assert.match(String(event.summary), /gtr retry --vm UUID/);
    } finally {
      await daemon.stop();
      await hook.close();
      await sim.close();
      ws.cleanup();
    }
  });
});
