// Edge cases of the wire that the simulator does not produce: non-JSON, truncated or mis-shaped
// replies, huge bodies, echoed secrets, timeouts. A tiny node:http server plays the management node.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { GtrError, ZStackApiError, ZStackHttpError } from '../src/errors.js';
import { hashPassword, newJobUuid, ZStackClient, type ZStackClientOptions } from '../src/zstack/client.js';
import { permits } from './helpers/permits.js';

const SESSION = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const PASSWORD = 'correct horse battery staple';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Handler = (req: Seen, res: http.ServerResponse) => void;

class FakeMn {
  readonly seen: Seen[] = [];
  readonly routes = new Map<string, Handler>();
  private server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      this.seen.push(seen);
      const path = seen.url.split('?')[0];
      const handler = this.routes.get(`${seen.method} ${path}`) ?? this.routes.get(`${seen.method} *`);
      if (handler) handler(seen, res);
      else res.writeHead(404).end(`no api mapping to ${path}`);
    });
  });
  endpoint = '';

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    // A working login and logout unless a test replaces them.
    this.on('PUT', '/zstack/v1/accounts/login', (_req, res) => send(res, 200, JSON.stringify({ inventory: { uuid: SESSION } })));
    this.on('DELETE', `/zstack/v1/accounts/sessions/${SESSION}`, (_req, res) => send(res, 200, ''));
    return this;
  }

  on(method: string, path: string, handler: Handler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  count(method: string, pathPrefix: string): number {
    return this.seen.filter((s) => s.method === method && s.url.startsWith(pathPrefix)).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** No Content-Type, like the real MN. */
function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body) }).end(body);
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

async function setup(over: Partial<ZStackClientOptions> = {}): Promise<{ mn: FakeMn; client: ZStackClient }> {
  const mn = await new FakeMn().start();
  const client = new ZStackClient({ ...baseOptions(mn.endpoint), ...over });
  open.push(mn, client);
  return { mn, client };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<GtrError> {
  const err = await p.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof GtrError, `expected a GtrError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

async function firstPage(client: ZStackClient): Promise<Record<string, unknown>[]> {
  for await (const page of client.queryPages('vm-instances', [])) return page;
  return [];
}

describe('ZStack client: replies that are not what the API promises', () => {
  it('rejects a 200 whose body is not JSON, naming the API', async () => {
    const { mn, client } = await setup();
    mn.on('GET', '/zstack/v1/vm-instances', (_req, res) => send(res, 200, '<html>login page</html>'));
    const err = await rejectsWith(firstPage(client), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /QueryVmInstance/);
    assert.match(err.message, /not JSON/);
  });

  it('rejects truncated JSON', async () => {
    const { mn, client } = await setup();
    mn.on('GET', '/zstack/v1/vm-instances', (_req, res) => send(res, 200, '{"inventories":[{"uuid":"a"'));
    const err = await rejectsWith(firstPage(client), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /QueryVmInstance.*malformed or truncated JSON/);
  });

  it('rejects inventories that are not an array, and items that are not objects', async () => {
    const { mn, client } = await setup();
    mn.on('GET', '/zstack/v1/vm-instances', (_req, res) => send(res, 200, '{"inventories":"none"}'));
    let err = await rejectsWith(firstPage(client), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /"inventories" is missing or not an array/);
    mn.on('GET', '/zstack/v1/vm-instances', (_req, res) => send(res, 200, '{"inventories":[1]}'));
    err = await rejectsWith(firstPage(client), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /inventories\[0\]/);
  });

  it('rejects a server that ignores the key condition or the sort, or leaves out the key: never a loop or a gap', async () => {
    const { mn, client } = await setup({ pageSize: 2 });
    const all = async () => {
      for await (const page of client.queryPages('vm-instances', ['state=Running'], { fields: ['name'] })) void page;
    };
    const reply = (rows: Record<string, unknown>[]) => (_req: Seen, res: http.ServerResponse) => send(res, 200, JSON.stringify({ inventories: rows }));
    mn.on('GET', '/zstack/v1/vm-instances', reply([{ uuid: 'a1', name: 'x' }, { uuid: 'b2', name: 'y' }]));
    let err = await rejectsWith(all(), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /QueryVmInstance.*page after uuid>b2 starts at a1 \(the server ignores the "uuid>" condition\)/);
    const second = new URLSearchParams(mn.seen.at(-1)?.url.split('?')[1]);
    assert.deepEqual(second.getAll('q'), ['state=Running', 'uuid>b2'], 'the key condition comes with the query\'s own');
    assert.equal(second.get('fields'), 'name,uuid', 'the key is read even when the caller did not ask for it');
    mn.on('GET', '/zstack/v1/vm-instances', reply([{ uuid: 'b2' }, { uuid: 'a1' }]));
    err = await rejectsWith(all(), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /uuid a1 follows b2 \(the server does not sort by "uuid"\)/);
    mn.on('GET', '/zstack/v1/vm-instances', reply([{ name: 'x' }]));
    err = await rejectsWith(all(), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /a row without "uuid" \(the paging key\)/);
  });

  it('rejects a count reply without a numeric total', async () => {
    const { mn, client } = await setup();
    mn.on('GET', '/zstack/v1/system-tags', (_req, res) => send(res, 200, '{"total":"12"}'));
    const err = await rejectsWith(client.count('system-tags', []), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /QuerySystemTag.*"total"/);
  });

  it('rejects a login reply without a session id', async () => {
    const { mn, client } = await setup();
    mn.on('PUT', '/zstack/v1/accounts/login', (_req, res) => send(res, 200, '{"inventory":{}}'));
    const err = await rejectsWith(client.login(), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /LogInByAccount/);
  });

  it('reads GetLatestGuestToolsForVm with and without an inventory, and rejects a broken one', async () => {
    const { mn, client } = await setup();
    const path = '/zstack/v1/vm-instances/vm1/latest-guest-tools';
    mn.on('GET', path, (_req, res) => send(res, 200, '{"success":true}'));
    assert.equal(await client.getLatestGuestTools('vm1'), null);
    const inventory = { uuid: 'i1', version: '1.2.0', agentType: 'LinuxOnKvm', architecture: 'general', hypervisorType: 'KVM', name: null };
    mn.on('GET', path, (_req, res) => send(res, 200, JSON.stringify({ inventory, success: true })));
    assert.deepEqual(await client.getLatestGuestTools('vm1'), {
      uuid: 'i1', version: '1.2.0', agentType: 'LinuxOnKvm', architecture: 'general', hypervisorType: 'KVM',
    });
    mn.on('GET', path, (_req, res) => send(res, 200, JSON.stringify({ inventory: { ...inventory, version: 12 } })));
    const err = await rejectsWith(client.getLatestGuestTools('vm1'), 'GTR_ZSTACK_BAD_REPLY');
    assert.match(err.message, /GetLatestGuestToolsForVm.*inventory\.version/);
  });

  it('treats empty bodies as {} for the 202 of the PUT, running polls and the finished job', async () => {
    const { mn, client } = await setup();
    let polls = 0;
    mn.on('PUT', '/zstack/v1/vm-instances/vm1/actions', (_req, res) => send(res, 202, ''));
    mn.on('GET', '*', (req, res) => {
      assert.match(req.url, /^\/zstack\/v1\/api-jobs\/[0-9a-f]{32}$/);
      polls++;
      send(res, polls < 3 ? 202 : 200, '');
    });
    await client.attachGuestToolsIso('vm1', { permit: permits('AttachGuestToolsIsoToVm', 'vm1', newJobUuid()) });
    assert.equal(polls, 3);
  });

  it('maps a 503 with a ZStack body to ZStackApiError and a plain-text 503 to ZStackHttpError after retries', async () => {
    const { mn, client } = await setup();
    const path = '/zstack/v1/vm-instances/vm1/latest-guest-tools';
    const zerr = { error: { code: 'SYS.1007', description: 'One or more API argument is invalid', details: 'not running' } };
    mn.on('GET', path, (_req, res) => send(res, 503, JSON.stringify(zerr)));
    const api = await rejectsWith(client.getLatestGuestTools('vm1'), 'GTR_ZSTACK_API');
    assert.ok(api instanceof ZStackApiError);
    assert.deepEqual(api.zstack, zerr.error);
    assert.equal(mn.count('GET', path), 1, 'a ZStack error body is an answer, not a reason to retry');

    mn.on('GET', path, (_req, res) => send(res, 503, 'Service Temporarily Unavailable'));
    const httpErr = await rejectsWith(client.getLatestGuestTools('vm1'), 'GTR_ZSTACK_HTTP');
    assert.ok(httpErr instanceof ZStackHttpError);
    assert.equal(httpErr.status, 503);
    assert.match(httpErr.message, /Service Temporarily Unavailable/);
    assert.equal(mn.count('GET', path), 1 + 3, 'first try plus 2 retries');
  });

  it('does not retry a 400 and keeps a huge error body out of the message', async () => {
    const { mn, client } = await setup();
    const path = '/zstack/v1/vm-instances/vm1/latest-guest-tools';
    mn.on('GET', path, (_req, res) => send(res, 400, `bad request ${'x'.repeat(5_000_000)}`));
    const err = await rejectsWith(client.getLatestGuestTools('vm1'), 'GTR_ZSTACK_HTTP');
    assert.ok(err.message.length < 400, `message has ${err.message.length} characters`);
    assert.equal(mn.count('GET', path), 1);
    // The connection was dropped, not left half-read: the next call still works.
    mn.on('GET', path, (_req, res) => send(res, 200, '{"success":true}'));
    assert.equal(await client.getLatestGuestTools('vm1'), null);
  });

  it('never puts the password hash or the session id into errors, even when a server echoes them', async () => {
    const { mn, client } = await setup();
    mn.on('GET', '/zstack/v1/vm-instances', (req, res) => send(res, 400, `rejected headers ${JSON.stringify(req.headers)}`));
    mn.on('PUT', '/zstack/v1/vm-instances/vm1/actions', (req, res) =>
      send(res, 503, JSON.stringify({ error: { code: 'SYS.1000', description: `session ${SESSION}`, details: `auth ${req.headers.authorization}` } })),
    );
    const errors = [
      await rejectsWith(firstPage(client), 'GTR_ZSTACK_HTTP'),
      await rejectsWith(client.attachGuestToolsIso('vm1', { permit: permits('AttachGuestToolsIsoToVm', 'vm1', newJobUuid()) }), 'GTR_ZSTACK_API'),
    ];
    mn.on('PUT', '/zstack/v1/accounts/login', (req, res) => send(res, 500, `cannot handle ${req.body}`));
    await client.close();
    const fresh = new ZStackClient({ ...baseOptions(mn.endpoint), password: PASSWORD });
    open.push(fresh);
    errors.push(await rejectsWith(fresh.login(), 'GTR_ZSTACK_HTTP'));
    assert.ok(mn.seen.some((s) => s.body.includes(hashPassword(PASSWORD))), 'the server did see the hash');
    for (const err of errors) {
      const text = `${err.message} ${JSON.stringify(err.details)} ${err instanceof ZStackApiError ? JSON.stringify(err.zstack) : ''}`;
      assert.ok(!text.includes(SESSION), text);
      assert.ok(!text.includes(hashPassword(PASSWORD)), text);
      assert.ok(!text.includes(PASSWORD), text);
    }
  });

  it('logs every request at debug with api, status and duration, and never a secret', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const { mn } = await setup();
    mn.on('GET', '/zstack/v1/vm-instances', (_req, res) => send(res, 200, '{"total":3}'));
    const c = new ZStackClient({ ...baseOptions(mn.endpoint), logger });
    assert.equal(await c.count('vm-instances', []), 3);
    await c.close();
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = entries.filter((e) => e.msg === 'zstack request');
    assert.deepEqual(requests.map((e) => [e.api, e.status]), [['LogInByAccount', 200], ['QueryVmInstance', 200], ['LogOut', 200]]);
    for (const e of requests) assert.equal(typeof e.ms, 'number');
    const all = lines.join('\n');
    for (const secret of [SESSION, PASSWORD, hashPassword(PASSWORD)]) assert.ok(!all.includes(secret), `log contains ${secret}`);
  });

  it('reports a server that never answers as unreachable, and a refused connection too', async () => {
    const { mn } = await setup();
    mn.on('GET', '/zstack/v1/vm-instances', () => undefined); // never answers
    const slow = new ZStackClient({ ...baseOptions(mn.endpoint), requestTimeoutMs: 100, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    open.push(slow);
    const err = await rejectsWith(firstPage(slow), 'GTR_ZSTACK_UNREACHABLE');
    assert.match(err.message, /timed out/);
    assert.equal(mn.count('GET', '/zstack/v1/vm-instances'), 2, 'a GET is retried after a timeout');

    const endpoint = mn.endpoint;
    await mn.close();
    const gone = new ZStackClient(baseOptions(endpoint));
    open.push(gone);
    const refused = await rejectsWith(gone.login(), 'GTR_ZSTACK_UNREACHABLE');
    assert.ok(refused.message.includes(endpoint), refused.message);
    assert.equal(refused.details.cause, 'ECONNREFUSED');
  });

  it('stops at once with GTR_ABORTED when the shutdown signal fires', async () => {
    const { mn } = await setup();
    const ac = new AbortController();
    // The shutdown comes while the client waits for the first poll (one minute away).
    mn.on('PUT', '/zstack/v1/vm-instances/vm1/actions', (_req, res) => {
      send(res, 202, '');
      setTimeout(() => ac.abort(), 20);
    });
    const client = new ZStackClient({ ...baseOptions(mn.endpoint), jobPollIntervalMs: 60_000, signal: ac.signal });
    open.push(client);
    await rejectsWith(client.attachGuestToolsIso('vm1', { permit: permits('AttachGuestToolsIsoToVm', 'vm1', newJobUuid()) }), 'GTR_ABORTED');
  });

  it('refuses an unreadable CA file with GTR_CONFIG_UNREADABLE', () => {
    assert.throws(
      () => new ZStackClient({ ...baseOptions('https://127.0.0.1:1'), tls: { caFile: '/nonexistent/ca.pem', rejectUnauthorized: true } }),
      (err: unknown) => err instanceof GtrError && err.code === 'GTR_CONFIG_UNREADABLE' && err.message.includes('/nonexistent/ca.pem'),
    );
  });
});

function baseOptions(endpoint: string): ZStackClientOptions {
  return {
    endpoint,
    accountName: 'admin',
    password: PASSWORD,
    requestTimeoutMs: 2000,
    pageSize: 100,
    jobPollIntervalMs: 5,
    jobTimeoutMs: 5000,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
  };
}
