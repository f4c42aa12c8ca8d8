// Security: the attack surface. A password file readable by others draws a warning; the status server
// binds to loopback by default and is read-only; every SQL statement takes its values as parameters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startSimulator } from '../src/sim/index.js';
import { DEFAULT_FILE_CONFIG } from '../src/config/schema.js';
import { exited, gtr, ROOT, simConfig, spawnGtr, waitFor, workspace } from './helpers/cli.js';
import { ledgerFacts, outdatedFleet } from './helpers/fault.js';

const PASSWORD = 'Surface-Secret-77';

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('security: files, listeners and SQL', () => {
  it('a password file readable by other users draws a warning on stderr (without the password); 0600 draws none', async () => {
    const sim = await startSimulator({ fleet: outdatedFleet(1, 1), password: PASSWORD });
    const ws = await workspace();
    try {
      const base = simConfig(ws, sim);
      const passwordFile = join(ws.dir, 'password');
      const config = ws.writeConfig({ ...base, zstack: { ...(base.zstack as Record<string, unknown>), password: undefined, passwordFile } });
      writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o644 });
      const open = await gtr(['plan', '--config', config]);
      assert.equal(open.code, 0, open.stderr);
      assert.match(open.stderr, /readable by group or others \(mode 644\); run: chmod 600/);
      assert.ok(!open.stderr.includes(PASSWORD));
      writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
      const { chmodSync } = await import('node:fs');
      chmodSync(passwordFile, 0o600);
      const closed = await gtr(['plan', '--config', config]);
      assert.equal(closed.code, 0, closed.stderr);
      assert.doesNotMatch(closed.stderr, /readable by group or others/);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });

  it('the status server listens on loopback by default (defaults and shipped config agree)', () => {
    assert.equal(DEFAULT_FILE_CONFIG.http.listen, '127.0.0.1:9477');
    const shipped = JSON.parse(readFileSync(join(ROOT, 'config', 'default.json'), 'utf8')) as { http: { listen: string } };
    assert.equal(shipped.http.listen, '127.0.0.1:9477');
  });

  it('a daemon without http.listen binds 127.0.0.1 only; every endpoint is read-only', async (t) => {
    if (await canConnect('127.0.0.1', 9477)) return t.skip('port 9477 is taken on this machine: cannot start a daemon on the default');
    const sim = await startSimulator({ fleet: outdatedFleet(2, 1), jobDurationMs: 5 });
    const ws = await workspace();
    const config = ws.writeConfig(simConfig(ws, sim, { schedule: { cron: '* * * * * *' }, log: { level: 'info' } }));
    const daemon = spawnGtr(['daemon', '--config', config]);
    try {
      const lines = () => daemon.output().stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; listen?: string });
      const started = await waitFor('daemon started', () => lines().find((l) => l.msg === 'daemon started') ?? (daemon.exitCode !== null ? { msg: 'exited' } : null));
      assert.equal(started.listen, 'http://127.0.0.1:9477', daemon.output().stderr);
      await waitFor('a run', () => lines().some((l) => l.msg === 'run summary'));
      const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
      if (external) assert.equal(await canConnect(external.address, 9477), false, `not reachable on ${external.address}`);

      const url = 'http://127.0.0.1:9477';
      const runsBefore = ledgerFacts(ws.database).runs.length;
      for (const path of ['/healthz', '/metrics', '/api/status', '/api/runs', '/api/runs/1', '/api/lease', '/']) {
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
          const res = await request(`${url}${path}`, { method, body: '{"status":"succeeded"}' });
          assert.equal(res.statusCode, 405, `${method} ${path}`);
          assert.equal(res.headers.allow, 'GET, HEAD');
          await res.body.dump();
        }
      }
      assert.ok(ledgerFacts(ws.database).runs.length >= runsBefore, 'nothing was deleted');
    } finally {
      daemon.kill('SIGTERM');
      await exited(daemon);
      await sim.close();
      ws.cleanup();
    }
  });

  it('every SQL statement in src/ takes values as parameters: interpolation only of constants and placeholders', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
      }
    };
    walk(join(ROOT, 'src'));
    // The project writes SQL keywords in capitals; pragmas as `name = value`.
    const sqlLike = /\b(SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))\b|\b(busy_timeout|journal_mode|synchronous|foreign_keys)\s*=/;
    // An UPPER_CASE module constant (a column list, a shared SELECT, a number), or a run of `?` placeholders.
    const allowed = [/^[A-Z][A-Z0-9_]*$/, /^Array\(\w+\)\.fill\('\((\?, )*\?\)'\)\.join\(', '\)$/];
    const offenders: string[] = [];
    let statements = 0;
    for (const file of files) {
      if (file.includes(`${join('src', 'sim')}`)) continue; // the simulator has no SQL; its query engine is in memory
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/`(?:[^`\\]|\\.)*`/g)) {
        if (!sqlLike.test(m[0])) continue;
        statements++;
        for (const [, expr] of m[0].matchAll(/\$\{([^}]*)\}/g)) {
          if (!allowed.some((a) => a.test(expr.trim()))) offenders.push(`${file.slice(ROOT.length)}: \${${expr}} in ${m[0].slice(0, 80)}`);
        }
      }
    }
    assert.ok(statements >= 10, `the scan found the SQL (${statements} template statements)`);
    assert.deepEqual(offenders, [], 'values must be bound with ?, never interpolated');
  });
});
