// Wrong credentials on the status server are refused after a while: a real daemon (child process) on a
// non-loopback listen address with http.auth.tokenFile, asked over real sockets from several loopback
// client addresses (127.0.0.x), so one client's failures can be told from another's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { startSimulator } from '../src/sim/index.js';
import { clientKey, createAuthThrottle } from '../src/daemon/auth-throttle.js';
import { testFleet } from './helpers/fleet.js';
import { simConfig, workspace } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

const TOKEN = 'throttle-token-0123456789abcdef';
const NEVER = '0 0 1 1 *';

/** GET /api/status from `from` (a local address), with `token` as bearer token when given. */
function ask(base: string, from: string, token?: string): Promise<{ status: number; retryAfter: string | undefined; challenge: string | undefined }> {
  const url = new URL('/api/status', base);
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: url.hostname, port: url.port, path: url.pathname, localAddress: from, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], challenge: res.headers['www-authenticate'] }));
    });
    req.on('error', reject);
  });
}

async function statuses(n: number, fn: () => Promise<{ status: number }>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await fn()).status);
  return out;
}

describe('status server: repeated wrong credentials', () => {
  it('refuses a client with 429 and Retry-After after 10 failures in a minute; other clients and missing credentials are not affected', async () => {
    const sim = await startSimulator({ fleet: testFleet(1) });
    const ws = await workspace();
    try {
      const tokenFile = join(ws.dir, 'token');
      writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      const config = ws.writeConfig(simConfig(ws, sim, { schedule: { cron: NEVER }, http: { listen: '0.0.0.0:0', auth: { tokenFile } }, log: { level: 'info' } }));
      const daemon = startDaemon(config);
      try {
        const base = (await daemon.url()).replace('0.0.0.0', '127.0.0.1');

        assert.deepEqual(await statuses(10, () => ask(base, '127.0.0.2', 'wrong-token')), Array<number>(10).fill(401), 'ten wrong tokens: 401 each');
        const refused = await ask(base, '127.0.0.2', 'wrong-token');
        assert.equal(refused.status, 429, 'the eleventh is refused');
        const wait = Number(refused.retryAfter);
        assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After in seconds: ${refused.retryAfter}`);
        assert.equal((await ask(base, '127.0.0.2', TOKEN)).status, 429, 'while refused, nothing from that client is checked, the right token included');

        assert.equal((await ask(base, '127.0.0.3', TOKEN)).status, 200, 'another client is served at once');
        // A browser's first request carries no credentials (it asks after the challenge): not a failure.
        const bare = await statuses(12, () => ask(base, '127.0.0.4'));
        assert.deepEqual(bare, Array<number>(12).fill(401));
        assert.match((await ask(base, '127.0.0.4')).challenge ?? '', /^Bearer/);
        assert.equal((await ask(base, '127.0.0.4', TOKEN)).status, 200, 'missing credentials are not counted');
        // Accepted credentials forget the client's failures: a typo now and then never adds up.
        assert.deepEqual(await statuses(9, () => ask(base, '127.0.0.5', 'typo')), Array<number>(9).fill(401));
        assert.equal((await ask(base, '127.0.0.5', TOKEN)).status, 200);
        assert.deepEqual(await statuses(9, () => ask(base, '127.0.0.5', 'typo')), Array<number>(9).fill(401), 'counted afresh after a success');
        assert.doesNotMatch(daemon.child.output().stdout, /wrong-token|throttle-token/, 'no token reaches the log');
      } finally {
        assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
      }
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });

  it('keeps a bounded table of clients, forgets failures after the window, and counts an IPv6 /64 as one client', () => {
    const throttle = createAuthThrottle({ maxFailures: 2, windowMs: 60_000, blockMs: 30_000, maxClients: 3 });
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']) throttle.failed(address, 0);
    assert.equal(throttle.size, 3, 'never more clients than maxClients');
    assert.equal(throttle.failed('10.0.0.1', 1), 0, 'the stalest client was forgotten: this is its first failure again');
    assert.equal(throttle.failed('10.0.0.5', 1), 30, 'the second failure in the window blocks for blockMs');
    assert.equal(throttle.retryAfter('10.0.0.5', 29_001), 1);
    assert.equal(throttle.retryAfter('10.0.0.5', 30_001), 0, 'the block ends');
    assert.equal(throttle.failed('10.0.0.4', 61_000), 0, 'failures older than the window do not count');

    assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientKey('2001:db8:0:1::5'), clientKey('2001:0db8:0000:0001:ffff:1:2:3'));
    assert.notEqual(clientKey('2001:db8:0:1::5'), clientKey('2001:db8:0:2::5'));
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
  });
});
