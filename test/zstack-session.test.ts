// Sessions against the simulator: hashed login, refused login, re-login after ID.1001 (GETs, and the
// attach resent under a new job uuid), one shared re-login for concurrent callers, logout on close.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../src/sim/index.js';
import type { SimVm } from '../src/sim/types.js';
import { GtrError, ZStackApiError } from '../src/errors.js';
import { hashPassword, newJobUuid } from '../src/zstack/client.js';
import { clientHarness } from './helpers/zstack.js';
import { testVm } from './helpers/fleet.js';
import { permits } from './helpers/permits.js';
import { RequestCounts } from '../src/zstack/request-counts.js';

type Sim = Awaited<ReturnType<typeof startSimulator>>;

const VM = '0b1e2c3d4e5f60718293a4b5c6d7e8f9';
const vm = (over: Partial<SimVm> = {}): SimVm => testVm(1, { uuid: VM, name: 'web-1', ...over });
const { sim, client } = clientHarness({ password: 'sim-password', fleet: [vm()], jobDurationMs: 5 });

const count = (s: Sim, api: string): number => s.requestsByApi()[api] ?? 0;

describe('ZStack client sessions', () => {
  it('logs in with the SHA-512 hash and reuses one session', async () => {
    const s = await sim();
    const counts = new RequestCounts();
    const c = client(s, { observer: counts.observe });
    await c.login();
    assert.equal(await c.count('vm-instances', []), 1);
    assert.equal(await c.count('vm-instances', ['state=Running']), 1);
    assert.equal(count(s, 'LogInByAccount'), 1);
    assert.equal(counts.requests.LogInByAccount, 1);
    assert.equal(counts.requests.QueryVmInstance, 2);
    assert.equal(hashPassword('password').slice(0, 8), 'b109f3bb', 'the manual\'s example hash');
  });

  it('refuses a wrong password with GTR_ZSTACK_LOGIN_REFUSED, without secrets in the error', async () => {
    const s = await sim();
    const counts = new RequestCounts();
    const c = client(s, { password: 'not-the-password', observer: counts.observe });
    const err = await c.count('vm-instances', []).then(() => assert.fail('login should fail'), (e: unknown) => e);
    assert.ok(err instanceof GtrError);
    assert.equal(err.code, 'GTR_ZSTACK_LOGIN_REFUSED');
    assert.equal(err.exitCode, 3);
    assert.match(err.message, /^login refused for account "admin"/);
    assert.match(err.message, /ID\.1000/);
    const text = `${err.message} ${JSON.stringify(err.details)} ${JSON.stringify(counts)}`;
    assert.ok(!text.includes('not-the-password'));
    assert.ok(!text.includes(hashPassword('not-the-password')));
    assert.equal(count(s, 'LogInByAccount'), 1, 'a refused login is not retried');
  });

  it('logs in again once when a GET meets an expired session', async () => {
    const s = await sim();
    const c = client(s);
    assert.equal(await c.count('vm-instances', []), 1);
    s.expireSessions();
    assert.equal(await c.count('vm-instances', []), 1);
    assert.equal(count(s, 'LogInByAccount'), 2);
    assert.equal(count(s, 'QueryVmInstance'), 3, 'the rejected GET plus its repeat');
  });

  it('shares one re-login among concurrent callers that hit ID.1001 together', async () => {
    const s = await sim();
    const c = client(s);
    await c.login();
    s.expireSessions();
    const results = await Promise.all(Array.from({ length: 25 }, () => c.count('vm-instances', [])));
    assert.deepEqual(new Set(results), new Set([1]));
    assert.equal(count(s, 'LogInByAccount'), 2);
  });

  it('keeps working when sessions expire every few calls', async () => {
    const s = await sim({ faults: { sessionExpireAfterCalls: 2 } });
    const c = client(s);
    for (let i = 0; i < 10; i++) assert.equal(await c.count('vm-instances', []), 1);
    assert.ok(count(s, 'LogInByAccount') >= 5);
  });

  it('resends the attach under a new job uuid after ID.1001 from the job, once', async () => {
    const s = await sim();
    const c = client(s);
    await c.login();
    s.expireSessions();
    const first = newJobUuid();
    const resends: string[] = [];
    await c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, first, (u) => resends.push(u)), systemTags: ['GuestTools::1.2.0'] });
    assert.equal(resends.length, 1);
    assert.notEqual(resends[0], first);
    assert.match(resends[0], /^[0-9a-f]{32}$/);
    const puts = s.calls.filter((call) => call.api === 'AttachGuestToolsIsoToVm');
    assert.deepEqual(puts.map((p) => p.jobUuid), [first, resends[0]]);
    assert.deepEqual(s.attachesStarted().map((a) => a.jobUuid), [resends[0]], 'only the resent attach ran');
    assert.equal(count(s, 'LogInByAccount'), 2);
  });

  it('gives up with ZStackApiError ID.1001 when the resent attach is rejected too', async () => {
    const s = await sim();
    const c = client(s);
    await c.login();
    s.expireSessions();
    const resends: string[] = [];
    // The re-send's permit is asked after the re-login and before the second PUT: expire that session as well.
    const onResend = (u: string): void => {
      resends.push(u);
      s.expireSessions();
    };
    const err = await c
      .attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, newJobUuid(), onResend) })
      .then(() => assert.fail('the attach should fail'), (e: unknown) => e);
    assert.ok(err instanceof ZStackApiError);
    assert.equal(err.zstack.code, 'ID.1001');
    assert.equal(err.api, 'AttachGuestToolsIsoToVm');
    assert.equal(resends.length, 1);
    assert.equal(s.calls.filter((call) => call.api === 'AttachGuestToolsIsoToVm').length, 2, 'never a third PUT');
    assert.equal(s.attachesStarted().length, 0);
  });

  it('logs out on close, and a closed client refuses new calls', async () => {
    const s = await sim();
    const c = client(s);
    await c.login();
    await c.close();
    assert.equal(count(s, 'LogOut'), 1);
    const logout = s.calls.find((call) => call.api === 'LogOut');
    assert.equal(logout?.status, 200);
    await assert.rejects(c.count('vm-instances', []), (e: unknown) => e instanceof GtrError && e.code === 'GTR_ABORTED');
    await c.close(); // idempotent
    assert.equal(count(s, 'LogOut'), 1);
  });

  it('closes without a logout when it never logged in, and survives a vanished MN on close', async () => {
    const s = await sim();
    const idle = client(s);
    await idle.close();
    assert.equal(count(s, 'LogOut'), 0);
    const c = client(s);
    await c.login();
    await s.close();
    await c.close(); // best effort: no throw
  });
});
