// The status server's JSON twins and its credentials: a non-loopback listen address needs
// http.auth.tokenFile or http.auth.basicFile, and then every endpoint (also /metrics) asks for them.
// Real daemon child process, real simulator, real sockets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { request } from 'undici';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { startSimulator } from '../src/sim/index.js';
import { testFleet } from './helpers/fleet.js';
import { gtr, simConfig, waitFor, workspace } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

const TOKEN = 'status-token-0123456789abcdef';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET') {
  const res = await request(url, { headers, method });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function problemsOf(fn: () => unknown): { key: string; value: unknown; expected: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.details.problems as { key: string; value: unknown; expected: string }[];
    throw error;
  }
  assert.fail('expected a ConfigError');
}

describe('status server: JSON twins and credentials', () => {
  it('refuses a non-loopback listen address without credentials, and malformed credential files, naming the key', async () => {
    const ws = await workspace();
    try {
      const load = (http: Record<string, unknown>) => () => loadConfig({ file: ws.writeConfig({ isoDir: ws.isoDir, database: ws.database, http }), env: {} });
      assert.deepEqual(problemsOf(load({ listen: '0.0.0.0:9477' })).map((p) => p.key), ['http.listen']);
      for (const listen of ['127.0.0.1:9477', '[::1]:9477', 'localhost:1']) assert.ok(load({ listen })().config, `${listen} needs no credentials`);

      const htpasswd = join(ws.dir, 'htpasswd');
      writeFileSync(htpasswd, `ops:$apr1$abc$0123456789abcdefghijkl\n`, { mode: 0o600 });
      const bad = problemsOf(load({ listen: '10.0.0.5:9477', auth: { basicFile: htpasswd } }));
      assert.equal(bad[0]?.key, 'http.auth.basicFile');
      assert.match(bad[0]?.expected ?? '', /line 1 \(user "ops"\): unsupported hash/);
      assert.doesNotMatch(JSON.stringify(bad), /0123456789abcdefghijkl/, 'the hash is never shown');

      const token = join(ws.dir, 'token');
      writeFileSync(token, 'short\n', { mode: 0o600 });
      assert.deepEqual(problemsOf(load({ listen: '10.0.0.5:9477', auth: { tokenFile: token } })).map((p) => p.key), ['http.auth.tokenFile']);
      assert.deepEqual(problemsOf(load({ listen: '10.0.0.5:9477', auth: { tokenFile: join(ws.dir, 'missing') } })).map((p) => p.key), ['http.auth.tokenFile']);

      // The daemon refuses to start with exit 2, naming the key (and `gtr plan` validates the same way).
      ws.writeConfig({ isoDir: ws.isoDir, database: ws.database, zstack: { password: 'x' }, http: { listen: '0.0.0.0:0' } });
      const daemon = await gtr(['daemon', '--config', ws.configPath]);
      assert.equal(daemon.code, 2);
      assert.match(daemon.stderr, /http\.listen/);
      assert.doesNotMatch(daemon.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      ws.cleanup();
    }
  });

  it('with credentials every endpoint asks for them; /api/runs/ID is `gtr runs show ID --json`', async () => {
    const sim = await startSimulator({ jobDurationMs: 10, fleet: testFleet(3), password: 'Sim-Secret-1' });
    const ws = await workspace();
    try {
      const tokenFile = join(ws.dir, 'token');
      writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      const basicFile = join(ws.dir, 'htpasswd');
      const sha = `{SHA}${createHash('sha1').update('sha-pass').digest('base64')}`;
      writeFileSync(basicFile, `# operators\nops:${bcrypt.hashSync('bcrypt-pass', 4).replace(/^\$2b\$/, '$2y$')}\nold:${sha}\n`, { mode: 0o600 });
      const config = ws.writeConfig(simConfig(ws, sim, { schedule: { cron: '* * * * * *' }, http: { listen: '0.0.0.0:0', auth: { tokenFile, basicFile } }, log: { level: 'info' } }));
      const d = startDaemon(config);
      try {
        const url = (await d.url()).replace('0.0.0.0', '127.0.0.1');
        const bearer = { authorization: `Bearer ${TOKEN}` };
        await waitFor('a finished run', async () => (JSON.parse((await get(`${url}/api/runs`, bearer)).text) as { runs: { finishedAt: string | null }[] }).runs.some((r) => r.finishedAt));

        for (const path of ['/', '/healthz', '/metrics', '/api/status', '/api/runs', '/api/runs/1', '/api/rollouts', '/runs/1']) {
          const anonymous = await get(`${url}${path}`);
          assert.equal(anonymous.status, 401, `${path} without credentials`);
          assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm=/);
          assert.equal((await get(`${url}${path}`, { authorization: `Bearer ${TOKEN}x` })).status, 401, `${path} with a wrong token`);
          assert.equal((await get(`${url}${path}`, { authorization: basic('ops', 'wrong') })).status, 401, `${path} with a wrong password`);
          // The right token passes (and clears this client's failures: ten in a minute would get 429).
          assert.ok(![401, 429].includes((await get(`${url}${path}`, bearer)).status), `${path} with the token`);
        }
        assert.equal((await get(`${url}/metrics`, bearer)).status, 200);
        assert.equal((await get(`${url}/api/status`, { authorization: basic('ops', 'bcrypt-pass') })).status, 200, 'bcrypt user');
        assert.equal((await get(`${url}/api/status`, { authorization: basic('old', 'sha-pass') })).status, 200, '{SHA} user');
        assert.equal((await get(`${url}/api/runs`, bearer, 'POST')).status, 405, 'read-only, even with credentials');

        const one = await get(`${url}/api/runs/1`, bearer);
        assert.equal(one.status, 200);
        assert.equal(one.headers['x-content-type-options'], 'nosniff');
        const cli = await gtr(['runs', 'show', '1', '--json', '--config', config]);
        assert.equal(cli.code, 0, cli.stderr);
        assert.deepEqual(JSON.parse(one.text), JSON.parse(cli.stdout), 'the same document as the CLI');
        assert.equal((await get(`${url}/api/runs/99999`, bearer)).status, 404);
        assert.equal((await get(`${url}/api/runs/abc`, bearer)).status, 400);
      } finally {
        assert.deepEqual(await d.stop(), { code: 0, signal: null });
      }
      const out = JSON.stringify(d.child.output());
      for (const secret of [TOKEN, 'bcrypt-pass', 'sha-pass', sha]) assert.ok(!out.includes(secret), 'credentials never reach the logs');
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
