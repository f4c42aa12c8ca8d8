// Bad input, end to end through the CLI: a tiny node:http server stands in for the management node
// and answers garbage (non-JSON, truncated JSON, wrong types, missing fields, huge bodies, unexpected
// statuses, a job `location` naming another host). Every case: a clear message naming the API, exit 3
// (or the run's documented code), no stack trace; the daemon keeps running through it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { exited, gtr, simConfig, spawnGtr, waitFor, workspace, type Workspace } from './helpers/cli.js';
import { HEX } from './helpers/fault.js';

const NO_STACK = /\n\s+at .+:\d+:\d+/;
const SESSION = 'f'.repeat(32);
const VM = { uuid: HEX(1), name: 'vm-1', state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM', type: 'UserVm', hostUuid: HEX(0xc00) };

type Answer = { status: number; body: string | Buffer; headers?: Record<string, string> };
/** Per API, what the fake MN answers; unset APIs answer like a healthy MN. */
type Script = Partial<Record<'login' | 'vms' | 'cdroms' | 'tags' | 'guests' | 'latest' | 'attach' | 'job', Answer>>;

const ok = (value: unknown): Answer => ({ status: 200, body: JSON.stringify(value) });

function healthy(kind: keyof Script, jobUuid: string, port: number): Answer {
  switch (kind) {
    case 'login': return ok({ inventory: { uuid: SESSION } });
    case 'vms': return ok({ inventories: [VM] });
    case 'cdroms': return ok({ inventories: [{ uuid: HEX(0xd01), vmInstanceUuid: VM.uuid }] });
    case 'tags': return ok({ inventories: [{ uuid: HEX(0xe01), resourceUuid: VM.uuid, tag: 'GuestTools::1.0.0' }] });
    case 'guests': return ok({ inventories: [] });
    case 'latest': return ok({ inventory: { uuid: HEX(0xf01), version: '1.2.0', agentType: 'LinuxOnKvm', architecture: 'x86_64', hypervisorType: 'KVM' } });
    case 'attach': return { status: 202, body: JSON.stringify({ location: `http://127.0.0.1:${port}/zstack/v1/api-jobs/${jobUuid}` }) };
    case 'job': return { status: 200, body: '' };
  }
}

function kindOf(method: string, path: string): keyof Script | 'logout' | null {
  if (path === '/zstack/v1/accounts/login') return 'login';
  if (path.startsWith('/zstack/v1/accounts/sessions/')) return 'logout';
  if (path === '/zstack/v1/vm-instances') return 'vms';
  if (path === '/zstack/v1/vm-instances/cdroms') return 'cdroms';
  if (path === '/zstack/v1/system-tags') return 'tags';
  if (path === '/zstack/v1/guesttools') return 'guests';
  if (path.endsWith('/latest-guest-tools')) return 'latest';
  if (method === 'PUT' && path.endsWith('/actions')) return 'attach';
  if (path.startsWith('/zstack/v1/api-jobs/')) return 'job';
  return null;
}

class FakeMn {
  script: Script = {};
  readonly seen: { method: string; path: string; authorization?: string }[] = [];
  private server: Server;
  private lastJob = '';
  port = 0;
  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }
  async start(host = '127.0.0.1'): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    this.seen.push({ method: req.method ?? '', path, authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => {
      const kind = kindOf(req.method ?? '', path);
      if (kind === 'attach') this.lastJob = String(req.headers['x-job-uuid'] ?? '');
      if (kind === 'logout') return res.end();
      if (kind === null) {
        res.writeHead(404);
        return res.end('no api mapping');
      }
      const answer = this.script[kind] ?? healthy(kind, this.lastJob, this.port);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  }
}

describe('bad input: API replies from a management node that misbehaves', () => {
  let mn: FakeMn;
  let ws: Workspace;
  let config: string;
  before(async () => {
    mn = await new FakeMn().start();
    ws = await workspace();
    config = ws.writeConfig(simConfig(ws, { endpoint: mn.endpoint, accountName: 'admin', password: 'pw-Bad-Input-1' }, { zstack: { requestTimeoutMs: 3000 } }));
  });
  after(async () => {
    await mn.close();
    ws.cleanup();
  });

  const cases: { name: string; script: Script; message: RegExp }[] = [
    { name: 'a 200 that is not JSON', script: { vms: { status: 200, body: '<html><body>Welcome to nginx</body></html>' } }, message: /QueryVmInstance: unexpected reply .*not JSON/ },
    { name: 'truncated JSON', script: { vms: { status: 200, body: '{"inventories":[{"uuid":"00' } }, message: /QueryVmInstance: .*malformed or truncated JSON/ },
    { name: 'inventories of the wrong type', script: { tags: ok({ inventories: 'none' }) }, message: /QuerySystemTag: .*"inventories" is missing or not an array/ },
    { name: 'inventory items that are not objects', script: { cdroms: ok({ inventories: [1, 'two', null] }) }, message: /QueryVmCdRom: .*inventories\[0\] is not an object/ },
    { name: 'a missing field (no inventories at all)', script: { guests: ok({ success: true }) }, message: /QueryGuestToolsState: .*"inventories" is missing/ },
    { name: 'a login reply without a session id', script: { login: ok({ inventory: {} }) }, message: /LogInByAccount: .*session id/ },
    { name: 'a huge 200 body that is not JSON (40 MB)', script: { vms: { status: 200, body: Buffer.alloc(40 * 1024 * 1024, 0x41) } }, message: /QueryVmInstance: .*not JSON/ },
    { name: 'a huge error body (8 MB)', script: { vms: { status: 500, body: Buffer.alloc(8 * 1024 * 1024, 0x42) } }, message: /QueryVmInstance: HTTP 500/ },
    { name: 'a redirect', script: { vms: { status: 301, body: '', headers: { location: 'http://127.0.0.2:9/elsewhere' } } }, message: /QueryVmInstance: HTTP 301/ },
    { name: 'HTTP 401', script: { vms: { status: 401, body: 'Unauthorized' } }, message: /QueryVmInstance: HTTP 401/ },
    { name: 'HTTP 404 on a query', script: { tags: { status: 404, body: 'Not Found' } }, message: /QuerySystemTag: HTTP 404/ },
    { name: "HTTP 418 with control characters in the body", script: { vms: { status: 418, body: "I'm a teapot\u001b[2J\u0007" } }, message: /QueryVmInstance: HTTP 418: I'm a teapot\\x1b\[2J\\x07/ },
  ];

  for (const c of cases) {
    it(`${c.name}: exit 3, a message naming the API, no stack trace`, async () => {
      mn.script = c.script;
      const r = await gtr(['plan', '--config', config]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, c.message);
      assert.doesNotMatch(r.stderr, NO_STACK);
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      assert.doesNotMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f]/, 'no raw control character on stderr');
      assert.ok(r.stderr.length < 4000, `the message stays short (${r.stderr.length} characters)`);
      assert.equal(r.stdout, '', 'no half report on stdout');
    });
  }

  it('a broken GetLatestGuestToolsForVm reply is a failed probe: the group is catalog-unverified, loudly, nothing attached', async () => {
    mn.script = { latest: ok({ inventory: { uuid: 1, version: 2 } }) };
    const before = mn.seen.filter((s) => s.method === 'PUT' && s.path.endsWith('/actions')).length;
    const r = await gtr(['reconcile', '--config', config, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { actions: { reason: string; detail?: string }[]; message: string };
    assert.deepEqual(report.actions.map((a) => a.reason), ['catalog-unverified']);
    assert.match(report.actions[0].detail ?? '', /catalog probe failed: GetLatestGuestToolsForVm/);
    assert.match(report.message, /catalog probe failed/);
    assert.match(r.stderr, /GetLatestGuestToolsForVm: .*inventory\.uuid.* is missing or not a string/);
    assert.equal(mn.seen.filter((s) => s.method === 'PUT' && s.path.endsWith('/actions')).length, before, 'no attach');
  });

  it('a job location naming another host: only its path is polled, on the configured endpoint', async () => {
    const elsewhere = await new FakeMn().start('127.0.0.2');
    try {
      mn.script = { attach: { status: 202, body: JSON.stringify({ location: `http://127.0.0.2:${elsewhere.port}/zstack/v1/api-jobs/${'a'.repeat(32)}` }) } };
      const before = mn.seen.length;
      const r = await gtr(['reconcile', '--config', config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(elsewhere.seen.length, 0, 'nothing (and no session id) was sent to the host in the location');
      assert.ok(mn.seen.slice(before).some((s) => s.path === `/zstack/v1/api-jobs/${'a'.repeat(32)}`), 'the path was polled on the configured endpoint');
      // A location whose path is not a job: polled on the configured endpoint, answered 404 -> the job
      // is lost, the attach failed in doubt, exit 1; still nothing sent elsewhere.
      mn.script = { attach: { status: 202, body: JSON.stringify({ location: `http://127.0.0.2:${elsewhere.port}/steal?token=1` }) } };
      const lost = await gtr(['reconcile', '--config', config, '--vm', VM.uuid, '--json']);
      assert.ok([0, 1].includes(lost.code ?? -1), lost.stderr);
      assert.equal(elsewhere.seen.length, 0);
    } finally {
      await elsewhere.close();
    }
  });

  it('the daemon keeps running through bad replies and recovers when the MN does', async () => {
    mn.script = { vms: { status: 200, body: 'garbage' } };
    const daemonConfig = ws.writeConfig(simConfig(ws, { endpoint: mn.endpoint, accountName: 'admin', password: 'pw-Bad-Input-1' }, {
      schedule: { cron: '* * * * * *' }, http: { listen: '127.0.0.1:0' }, log: { level: 'info' },
    }));
    const child = spawnGtr(['daemon', '--config', daemonConfig]);
    try {
      const lines = () => child.output().stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; listen?: string });
      const url = (await waitFor('daemon started', () => lines().find((l) => l.msg === 'daemon started'))).listen as string;
      await waitFor('two failed runs', () => lines().filter((l) => l.msg === 'run failed; the next tick tries again').length >= 2);
      const health = await request(`${url}/healthz`);
      assert.equal(health.statusCode, 200, 'still healthy: a bad reply is the MN\'s problem, not the daemon\'s');
      await health.body.dump();
      mn.script = {};
      await waitFor('a good run', () => lines().some((l) => l.msg === 'run summary'));
      assert.equal(child.exitCode, null, 'the daemon is still running');
    } finally {
      child.kill('SIGTERM');
      const { code } = await exited(child);
      assert.equal(code, 0);
    }
    assert.doesNotMatch(child.output().stderr, NO_STACK);
  });
});
