// Security: the password, its SHA-512, the password file content and every session id the management
// node issued appear nowhere: not in a log line, a database byte, JSON or human output, an error
// message, /metrics or /api. One scenario exercises plan, reconcile under faults (errors happen),
// history, status, a refused login, and the daemon's endpoints, then greps everything.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { startSimulator } from '../src/sim/index.js';
import { exited, gtr, simConfig, spawnGtr, waitFor, workspace } from './helpers/cli.js';
import { HEX, outdatedFleet } from './helpers/fault.js';

const PASSWORD = 'Sup3r-Secret:Passw0rd!xyz';

describe('secrets never leak', () => {
  it('not in logs, output, errors, the database, /metrics or /api, even when things fail', async () => {
    const sim = await startSimulator({
      fleet: outdatedFleet(12, 4),
      password: PASSWORD,
      jobDurationMs: 5,
      guests: { installShare: 1 },
      // Faults at chosen requests, not at rates: every error path is taken on every run of this test
      // (VM 2's attach job always fails with SYS.1006; a rate could skip it three runs in a row).
      faults: {
        failVmUuids: [HEX(2)], sessionExpireAfterCalls: 40,
        firstRequests: [
          { api: 'QuerySystemTag', kind: 'error', count: 1 },
          { api: 'AttachGuestToolsIsoToVm', kind: 'error', count: 2 },
          { api: 'AttachGuestToolsIsoToVm', kind: 'reset', count: 1 },
          { api: 'QueryJob', kind: 'proxy', count: 2 },
          { api: 'QueryVmInstance', kind: 'reset', count: 1 },
        ],
      },
    });
    const ws = await workspace();
    const outputs: string[] = [];
    const keep = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr);
    try {
      const passwordFile = join(ws.dir, 'password');
      writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
      const base = simConfig(ws, sim, { log: { level: 'debug' }, policy: { maxErrors: '100%' } });
      const zstack = { ...(base.zstack as Record<string, unknown>), password: undefined, passwordFile };
      const config = ws.writeConfig({ ...base, zstack });

      for (const args of [['plan'], ['plan', '--json'], ['reconcile', '--json'], ['reconcile'], ['reconcile', '--json'],
        ['runs'], ['runs', '--json'], ['status'], ['status', '--json'], ['iso', '--json']]) {
        const r = await gtr([...args, '--config', config]);
        assert.ok(r.code !== null && r.code !== 70, `${args.join(' ')}: ${r.stderr}`);
        keep(r);
      }
      const runs = JSON.parse((await gtr(['runs', '--json', '--config', config])).stdout) as { runs: { id: number }[] };
      for (const { id } of runs.runs) {
        keep(await gtr(['runs', 'show', String(id), '--json', '--config', config]));
        keep(await gtr(['runs', 'show', String(id), '--config', config]));
      }
      // A refused login and a bad config: error messages.
      const wrong = join(ws.dir, 'wrong.json');
      writeFileSync(wrong, JSON.stringify({ ...base, zstack: { ...(base.zstack as Record<string, unknown>), password: `${PASSWORD}-nope` } }), { mode: 0o600 });
      keep(await gtr(['plan', '--config', wrong]));
      const both = join(ws.dir, 'both.json');
      writeFileSync(both, JSON.stringify({ ...base, zstack: { ...zstack, password: PASSWORD, requestTimeoutMs: 'x' } }), { mode: 0o644 });
      const bad = await gtr(['plan', '--config', both]);
      assert.equal(bad.code, 2);
      keep(bad);

      // The daemon: its log and every endpoint.
      const daemonConfig = join(ws.dir, 'daemon.json');
      writeFileSync(daemonConfig, JSON.stringify({ ...base, zstack, schedule: { cron: '* * * * * *' }, http: { listen: '127.0.0.1:0' } }), { mode: 0o600 });
      const daemon = spawnGtr(['daemon', '--config', daemonConfig]);
      try {
        const lines = () => daemon.output().stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; listen?: string });
        const url = (await waitFor('daemon started', () => lines().find((l) => l.msg === 'daemon started'))).listen as string;
        await waitFor('a scheduled run', () => lines().some((l) => l.msg === 'run summary' || l.msg === 'run failed; the next tick tries again'));
        for (const path of ['/healthz', '/metrics', '/api/status', '/api/runs', '/api/runs?limit=1000', '/nope']) {
          const res = await request(`${url}${path}`);
          outputs.push(await res.body.text());
        }
      } finally {
        daemon.kill('SIGTERM');
        await exited(daemon);
        keep(daemon.output());
      }

      const secrets: [string, string][] = [
        ['password', PASSWORD],
        ['password sha512', createHash('sha512').update(PASSWORD, 'utf8').digest('hex')],
        ['password file content', `${PASSWORD}\n`],
        ...sim.sessionsIssued().map((s, i): [string, string] => [`session id #${i + 1}`, s]),
      ];
      assert.ok(sim.sessionsIssued().length >= 3, 'several sessions were issued (re-logins after expiry)');
      assert.ok(sim.faultsInjected().error ?? 0, 'errors were injected');
      const text = outputs.join('\n');
      assert.ok(text.includes('SYS.1006'), 'the failures are in the output (so error paths were exercised)');
      assert.ok(text.length > 10_000, 'there is a lot to search');
      const files = [ws.database, `${ws.database}-wal`, `${ws.database}-shm`].filter(existsSync);
      for (const [what, secret] of secrets) {
        assert.ok(!text.includes(secret), `${what} found in CLI output, logs or HTTP responses`);
        for (const file of files) {
          const bytes = readFileSync(file);
          assert.equal(bytes.indexOf(Buffer.from(secret, 'utf8')), -1, `${what} found in ${file}`);
        }
      }
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });

  it('the AccessKey secret, its file and every signature: not in logs, output, errors, the database, /metrics or /api', async () => {
    const KEY = { id: 'AKsecurity01', secret: 'Ak-S3cret/With+Base64=Chars' };
    const sim = await startSimulator({
      fleet: outdatedFleet(12, 4), accessKeys: [KEY], jobDurationMs: 5, guests: { installDelayMs: 5 },
      faults: { seed: 5, failVmUuids: [HEX(2)], errorRates: { AttachGuestToolsIsoToVm: 0.2 }, proxyErrorRates: { QueryJob: 0.2 } },
    });
    const ws = await workspace();
    const outputs: string[] = [];
    const keep = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr);
    try {
      const secretFile = join(ws.dir, 'ak-secret');
      writeFileSync(secretFile, `${KEY.secret}\n`, { mode: 0o600 });
      const base = simConfig(ws, sim, { log: { level: 'debug' }, policy: { maxErrors: '100%' } });
      const zstack = { ...(base.zstack as Record<string, unknown>), password: undefined, accessKeyId: KEY.id, accessKeySecretFile: secretFile };
      const config = ws.writeConfig({ ...base, zstack });
      for (const args of [['plan', '--json'], ['reconcile', '--json'], ['reconcile'], ['runs', '--json'], ['status', '--json'], ['status']]) {
        const r = await gtr([...args, '--config', config]);
        assert.ok(r.code !== null && r.code !== 70, `${args.join(' ')}: ${r.stderr}`);
        keep(r);
      }
      keep(await gtr(['runs', 'show', '2', '--json', '--config', config]));
      // Refusals: a wrong secret in the environment, a skewed clock, and a config with both credentials.
      const inline = { ...zstack, accessKeySecretFile: undefined, accessKeySecret: KEY.secret };
      keep(await gtr(['plan', '--config', config], { env: { GTR_ZSTACK_ACCESS_KEY_SECRET: `${KEY.secret}-nope`, GTR_ZSTACK_ACCESS_KEY_SECRET_FILE: '' } }));
      sim.setClockSkew(40 * 60_000);
      const skewed = await gtr(['plan', '--config', ws.writeConfig({ ...base, zstack: inline })]);
      assert.equal(skewed.code, 3);
      keep(skewed);
      sim.setClockSkew(0);
      const both = await gtr(['plan', '--config', ws.writeConfig({ ...base, zstack: { ...inline, password: 'pw' } })]);
      assert.equal(both.code, 2);
      keep(both);

      const daemonConfig = ws.writeConfig({ ...base, zstack, schedule: { cron: '* * * * * *' }, http: { listen: '127.0.0.1:0' } });
      const daemon = spawnGtr(['daemon', '--config', daemonConfig]);
      try {
        const lines = () => daemon.output().stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; listen?: string });
        const url = (await waitFor('daemon started', () => lines().find((l) => l.msg === 'daemon started'))).listen as string;
        await waitFor('a scheduled run', () => lines().some((l) => l.msg === 'run summary' || l.msg === 'run failed; the next tick tries again'));
        for (const path of ['/healthz', '/metrics', '/api/status', '/api/runs']) outputs.push(await (await request(`${url}${path}`)).body.text());
      } finally {
        daemon.kill('SIGTERM');
        await exited(daemon);
        keep(daemon.output());
      }

      const signatures = sim.signaturesSeen();
      assert.ok(signatures.length >= 20, `many signed requests (${signatures.length})`);
      const text = outputs.join('\n');
      assert.ok(text.includes('wrong signature') && text.includes('differ by more than 15 minutes'), 'the refusals were exercised');
      const files = [ws.database, `${ws.database}-wal`, `${ws.database}-shm`].filter(existsSync);
      const secrets: [string, string][] = [['AccessKey secret', KEY.secret], ...signatures.map((s, i): [string, string] => [`signature #${i + 1}`, s])];
      const dbBytes = files.map((f) => [f, readFileSync(f)] as const);
      for (const [what, secret] of secrets) {
        assert.ok(!text.includes(secret), `${what} found in CLI output, logs or HTTP responses`);
        for (const [file, bytes] of dbBytes) assert.equal(bytes.indexOf(Buffer.from(secret, 'utf8')), -1, `${what} found in ${file}`);
      }
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
