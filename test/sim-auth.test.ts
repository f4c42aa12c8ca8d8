import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type SimVm, type Simulator } from '../src/sim/index.js';

const sha512 = (s: string): string => createHash('sha512').update(s).digest('hex');

interface Res { status: number; headers: Record<string, unknown>; text: string }

async function call(sim: Simulator, method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, opts: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Res> {
  const res = await request(`${sim.endpoint}/zstack/v1${path}`, {
    method, headers: opts.headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function login(sim: Simulator, password = sim.password): Promise<Res> {
  return call(sim, 'PUT', '/accounts/login', { body: { logInByAccount: { accountName: sim.accountName, password: sha512(password) } } });
}

async function session(sim: Simulator): Promise<string> {
  const res = await login(sim);
  return (JSON.parse(res.text) as { inventory: { uuid: string } }).inventory.uuid;
}

const oauth = (s: string): Record<string, string> => ({ Authorization: `OAuth ${s}` });

async function pollUntilDone(url: string): Promise<Res> {
  for (let i = 0; i < 500; i++) {
    const res = await request(url);
    const text = await res.body.text();
    if (res.statusCode !== 202) return { status: res.statusCode, headers: res.headers, text };
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('job did not finish');
}

const VM: SimVm = {
  uuid: 'a'.repeat(32), name: 'vm-a', state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM',
  type: 'UserVm', zoneUuid: 'z'.repeat(32), clusterUuid: 'c'.repeat(32), hostUuid: 'h'.repeat(32), cdRoms: 1,
  tags: ['GuestTools::1.0.0'], guest: null,
};

describe('simulator: login and sessions', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ fleet: [VM], password: 's3cret' });
  });
  after(() => sim.close());

  it('logs in with the sha512 hex of the password and returns a session inventory', async () => {
    const res = await login(sim);
    assert.equal(res.status, 200);
    const body = JSON.parse(res.text) as { inventory: Record<string, string> };
    assert.match(body.inventory.uuid ?? '', /^[0-9a-f]{32}$/);
    assert.ok(body.inventory.accountUuid && body.inventory.userUuid);
    assert.match(body.inventory.createDate ?? '', /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
    assert.match(body.inventory.expiredDate ?? '', /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
  });

  it('answers without a Content-Type header', async () => {
    assert.equal((await login(sim)).headers['content-type'], undefined);
    assert.equal((await call(sim, 'GET', '/vm-instances')).headers['content-type'], undefined);
  });

  it('refuses a wrong password or a plaintext password with 503 ID.1000', async () => {
    for (const res of [
      await login(sim, 'wrong'),
      await call(sim, 'PUT', '/accounts/login', { body: { logInByAccount: { accountName: 'admin', password: 's3cret' } } }),
      await call(sim, 'PUT', '/accounts/login', { body: { logInByAccount: { accountName: 'nobody', password: sha512('s3cret') } } }),
    ]) {
      assert.equal(res.status, 503);
      const body = JSON.parse(res.text) as { error: { code: string; details: string } };
      assert.equal(body.error.code, 'ID.1000');
      assert.equal(body.error.details, 'wrong account name or password');
    }
  });

  it('requires an OAuth Authorization header (plain-text 400s)', async () => {
    const missing = await call(sim, 'GET', '/vm-instances');
    assert.deepEqual([missing.status, missing.text], [400, "missing header 'Authorization'"]);
    const other = await call(sim, 'GET', '/vm-instances', { headers: { Authorization: 'Bearer abc' } });
    assert.deepEqual([other.status, other.text], [400, "Authorization type must be 'OAuth'"]);
    const put = await call(sim, 'PUT', `/vm-instances/${VM.uuid}/actions`, { body: { attachGuestToolsIsoToVm: {} } });
    assert.deepEqual([put.status, put.text], [400, "missing header 'Authorization'"]);
  });

  it('answers an unknown session with 503 ID.1001 on GET', async () => {
    const res = await call(sim, 'GET', '/vm-instances', { headers: oauth('0'.repeat(32)) });
    assert.equal(res.status, 503);
    const body = JSON.parse(res.text) as { error: { code: string; description: string } };
    assert.equal(body.error.code, 'ID.1001');
    assert.match(body.error.description, /session is invalid/);
  });

  it('accepts a PUT with an unknown session (202) and fails its job with ID.1001', async () => {
    const res = await call(sim, 'PUT', `/vm-instances/${VM.uuid}/actions`, { headers: oauth('0'.repeat(32)), body: { attachGuestToolsIsoToVm: {} } });
    assert.equal(res.status, 202);
    const { location } = JSON.parse(res.text) as { location: string };
    const job = await pollUntilDone(location);
    assert.equal(job.status, 503);
    assert.equal((JSON.parse(job.text) as { error: { code: string } }).error.code, 'ID.1001');
    assert.equal(sim.attachesStarted().length, 0, 'the attach never ran');
  });

  it('logs out without auth, after which the session is invalid', async () => {
    const s = await session(sim);
    assert.equal((await call(sim, 'GET', `/accounts/sessions/${s}/valid`)).text, '{"valid":true}');
    const out = await call(sim, 'DELETE', `/accounts/sessions/${s}?sessionUuid=${s}`);
    assert.equal(out.status, 200);
    assert.equal((await call(sim, 'GET', `/accounts/sessions/${s}/valid`)).text, '{"valid":false}');
    assert.equal((await call(sim, 'GET', '/vm-instances', { headers: oauth(s) })).status, 503);
  });

  it('expireSessions() and restart() drop every session', async () => {
    const a = await session(sim);
    sim.expireSessions();
    assert.equal((await call(sim, 'GET', '/vm-instances', { headers: oauth(a) })).status, 503);
    const b = await session(sim);
    sim.restart();
    assert.equal((await call(sim, 'GET', '/vm-instances', { headers: oauth(b) })).status, 503);
  });

  it('ignores the extra query parameters and headers zssdk.py sends', async () => {
    const s = await session(sim);
    const res = await call(sim, 'GET', `/vm-instances/${VM.uuid}?uuid=${VM.uuid}&sessionId=${s}&start=0`, {
      headers: { ...oauth(s), 'Content-Type': 'application/json', Connection: 'close', 'X-Job-UUID': 'f'.repeat(32) },
    });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.text) as { inventories: unknown[] }).inventories.length, 1);
  });
});

describe('simulator: session expiry', () => {
  let sim: Simulator;
  after(() => sim.close());

  it('slides the expiry on every authorised call', async () => {
    sim = await startSimulator({ fleet: [VM], sessionTimeoutMs: 1000 });
    const s = await session(sim);
    // Each call renews the 1 s timeout; without sliding, the session would be gone before the last call.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await call(sim, 'GET', '/vm-instances', { headers: oauth(s) })).status, 200);
    }
    // Left alone, it expires.
    for (let i = 0; i < 200; i++) {
      if ((await call(sim, 'GET', `/accounts/sessions/${s}/valid`)).text === '{"valid":false}') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await call(sim, 'GET', '/vm-instances', { headers: oauth(s) })).status, 503);
  });

  it('expires every session after N authorised calls when asked to', async () => {
    await sim.close();
    sim = await startSimulator({ fleet: [VM], faults: { sessionExpireAfterCalls: 3 } });
    const s = await session(sim);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(sim, 'GET', '/vm-instances', { headers: oauth(s) })).status);
    assert.deepEqual(statuses, [200, 200, 200, 503]);
    const s2 = await session(sim);
    assert.equal((await call(sim, 'GET', '/vm-instances', { headers: oauth(s2) })).status, 200);
  });
});

describe('simulator: routing', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ fleet: [VM] });
  });
  after(() => sim.close());

  it('answers unknown paths with 404 plain text', async () => {
    const res = await call(sim, 'GET', '/no-such-thing');
    assert.deepEqual([res.status, res.text], [404, 'no api mapping to /v1/no-such-thing']);
  });

  it('logs every call with its API name and status', async () => {
    await login(sim);
    await call(sim, 'GET', '/vm-instances');
    const last = sim.calls.slice(-2).map((c) => [c.method, c.api, c.status]);
    assert.deepEqual(last, [['PUT', 'LogInByAccount', 200], ['GET', 'QueryVmInstance', 400]]);
    assert.ok((sim.requestsByApi().LogInByAccount ?? 0) >= 1);
  });
});
