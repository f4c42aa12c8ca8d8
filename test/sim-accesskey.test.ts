// The simulator as an MN with AccessKeys and as older releases, over real sockets: signatures are
// verified as zstack-api.md 1.4 / 10.3 describe (computed here from that formula, independently of the
// client), with the MN's plain-text 400/403 errors; older releases lack or rename QueryGuestToolsState.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { request } from 'undici';
import type { SimVm, Simulator } from '../src/sim/index.js';
import { exited, spawnGtr, waitFor } from './helpers/cli.js';
import { clientHarness } from './helpers/zstack.js';

const VM: SimVm = {
  uuid: 'a'.repeat(32), name: 'vm-a', state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM',
  type: 'UserVm', zoneUuid: 'z'.repeat(32), clusterUuid: 'c'.repeat(32), hostUuid: 'h'.repeat(32), cdRoms: 1,
  tags: ['GuestTools::1.0.0'], guest: { qgaState: 'Running', version: '1.0.0' },
};
const KEY = { id: 'AK1d9f0e2b', secret: 'Sk-9c1f2e7a4b6d8e0f' };

interface Res { status: number; date: string; text: string }

/** A request signed per the documented formula: base64(HMAC-SHA1(secret, METHOD\nDate\n/v1/path)). */
async function signed(
  sim: Simulator, method: 'GET' | 'PUT', pathAndQuery: string,
  opts: { key?: { id: string; secret: string }; date?: Date | null; signPath?: string; body?: unknown; authorization?: string } = {},
): Promise<Res> {
  const key = opts.key ?? KEY;
  const date = opts.date === null ? undefined : (opts.date ?? new Date()).toUTCString();
  const uri = opts.signPath ?? pathAndQuery.split('?')[0];
  const sig = createHmac('sha1', key.secret).update(`${method}\n${date ?? ''}\n${uri}`).digest('base64');
  const headers: Record<string, string> = { authorization: opts.authorization ?? `ZStack ${key.id}:${sig}` };
  if (date !== undefined) headers.date = date;
  if (opts.body !== undefined) headers['x-job-uuid'] = 'f'.repeat(32);
  const res = await request(`${sim.endpoint}/zstack${pathAndQuery}`, {
    method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.statusCode, date: String(res.headers.date), text: await res.body.text() };
}

const h = clientHarness({ fleet: [VM], accessKeys: [KEY] });

describe('simulator: AccessKey signatures', () => {
  it('answers a correctly signed query; the query string is not part of what is signed', async () => {
    const sim = await h.sim();
    const res = await signed(sim, 'GET', '/v1/vm-instances?q=uuid%3D' + VM.uuid + '&limit=5');
    assert.equal(res.status, 200, res.text);
    assert.equal((JSON.parse(res.text) as { inventories: unknown[] }).inventories.length, 1);
    const withQuery = await signed(sim, 'GET', '/v1/vm-instances?limit=5', { signPath: '/v1/vm-instances?limit=5' });
    assert.deepEqual([withQuery.status, withQuery.text], [403, 'wrong accessKey signature']);
    const withContext = await signed(sim, 'GET', '/v1/vm-instances', { signPath: '/zstack/v1/vm-instances' });
    assert.deepEqual([withContext.status, withContext.text], [403, 'wrong accessKey signature']);
  });

  it('runs a signed attach: 202 with a job that succeeds, and no session is ever created', async () => {
    const sim = await h.sim();
    const res = await signed(sim, 'PUT', `/v1/vm-instances/${VM.uuid}/actions`, { body: { attachGuestToolsIsoToVm: {} } });
    assert.equal(res.status, 202, res.text);
    const location = (JSON.parse(res.text) as { location: string }).location;
    const done = await waitFor('the job', async () => {
      const poll = await request(location);
      const text = await poll.body.text();
      return poll.statusCode === 202 ? null : { status: poll.statusCode, text };
    });
    assert.equal(done.status, 200);
    assert.equal(sim.attachesStarted().length, 1);
    assert.deepEqual(sim.sessionsIssued(), []);
  });

  it('refuses an unknown key, a disabled key and a wrong secret with the MN\'s 403 texts, before any 202', async () => {
    const sim = await h.sim();
    const unknown = await signed(sim, 'GET', '/v1/vm-instances', { key: { id: 'nobody', secret: KEY.secret } });
    assert.deepEqual([unknown.status, unknown.text], [403, 'access key id: nobody does not existed or disabled']);
    const wrong = await signed(sim, 'PUT', `/v1/vm-instances/${VM.uuid}/actions`, { key: { id: KEY.id, secret: 'not-it' }, body: { attachGuestToolsIsoToVm: {} } });
    assert.deepEqual([wrong.status, wrong.text], [403, 'wrong accessKey signature']);
    sim.setAccessKeyState(KEY.id, 'Disabled');
    const disabled = await signed(sim, 'GET', '/v1/vm-instances');
    assert.deepEqual([disabled.status, disabled.text], [403, `access key id: ${KEY.id} does not existed or disabled`]);
    assert.equal(sim.attachesStarted().length, 0);
  });

  it('answers 400 for a malformed header, a missing Date and an MN without the AccessKey module', async () => {
    const sim = await h.sim();
    const noColon = await signed(sim, 'GET', '/v1/vm-instances', { authorization: `ZStack ${KEY.id}` });
    assert.deepEqual([noColon.status, noColon.text], [400, 'Invalid authKey format']);
    const noDate = await signed(sim, 'GET', '/v1/vm-instances', { date: null });
    assert.deepEqual([noDate.status, noDate.text], [400, "missing header 'Date'"]);
    const bare = await h.sim({ accessKeyModule: false });
    const absent = await signed(bare, 'GET', '/v1/vm-instances');
    assert.deepEqual([absent.status, absent.text], [400, 'unable to find RestAuthenticationBackend[provider type: ZStack]']);
  });

  it('refuses a Date more than 15 minutes off its own clock with 403, and sends its clock in the Date header', async () => {
    const sim = await h.sim({ clockSkewMs: 20 * 60_000 });
    const res = await signed(sim, 'GET', '/v1/vm-instances');
    assert.deepEqual([res.status, res.text], [403, 'requestTimeTooSkewed']);
    const mnClock = Date.parse(res.date);
    assert.ok(mnClock - Date.now() > 19 * 60_000, `the reply's Date header is the MN's clock: ${res.date}`);
    // Signed with the MN's time it passes; 14 minutes off passes too.
    assert.equal((await signed(sim, 'GET', '/v1/vm-instances', { date: new Date(mnClock) })).status, 200);
    sim.setClockSkew(-14 * 60_000);
    assert.equal((await signed(sim, 'GET', '/v1/vm-instances')).status, 200);
  });

  it('still accepts password sessions next to AccessKeys', async () => {
    const sim = await h.sim();
    const client = h.client(sim);
    assert.equal(await client.count('vm-instances', []), 1);
  });
});

describe('simulator: older management nodes', () => {
  it('before 4.6.11 has no QueryGuestToolsState: 404 `no api mapping`, checked before authentication', async () => {
    const sim = await h.sim({ mnVersion: '4.6.10' });
    const res = await request(`${sim.endpoint}/zstack/v1/guesttools`);
    assert.deepEqual([res.statusCode, await res.body.text()], [404, 'no api mapping to /v1/guesttools']);
    const newer = await h.sim();
    const probe = await request(`${newer.endpoint}/zstack/v1/guesttools`);
    assert.deepEqual([probe.statusCode, await probe.body.text()], [400, "missing header 'Authorization'"]);
  });

  it('4.6.11-4.6.20 name the field `state` and refuse `qgaState` in q and fields; newer ones the reverse', async () => {
    const old = await h.sim({ mnVersion: '4.6.20' });
    const rows = await signed(old, 'GET', '/v1/guesttools');
    const row = (JSON.parse(rows.text) as { inventories: Record<string, unknown>[] }).inventories[0];
    assert.deepEqual([row?.state, row?.qgaState, row?.zwatchState], ['Running', undefined, undefined]);
    for (const query of ['q=qgaState!%3DNotInstalled', 'fields=vmInstanceUuid,qgaState']) {
      const res = await signed(old, 'GET', `/v1/guesttools?${query}`);
      assert.equal(res.status, 503, query);
      assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'SYS.1007');
    }
    assert.equal((await signed(old, 'GET', '/v1/guesttools?q=state!%3DNotInstalled&fields=vmInstanceUuid,state')).status, 200);

    const current = await h.sim({ mnVersion: '4.6.21' });
    const now = (JSON.parse((await signed(current, 'GET', '/v1/guesttools')).text) as { inventories: Record<string, unknown>[] }).inventories[0];
    assert.deepEqual([now?.qgaState, now?.state, now?.zwatchState], ['Running', undefined, 'Running']);
    assert.equal((await signed(current, 'GET', '/v1/guesttools?fields=vmInstanceUuid,state')).status, 503);
  });
});

describe('gtr sim flags', () => {
  it('takes --access-key (repeatable), --clock-skew and --mn-version, and refuses bad values with exit 2', async () => {
    const child = spawnGtr(['sim', '--port', '0', '--vms', '3', '--access-key', `${KEY.id}:${KEY.secret}`, '--access-key', 'second:key',
      '--clock-skew=-30', '--mn-version', '4.6.20']);
    try {
      const endpoint = await waitFor('the endpoint line', () => /endpoint: (\S+)/.exec(child.output().stdout)?.[1]);
      const out = child.output().stdout;
      assert.match(out, /release: {2}4\.6\.20, clock -30 s off/);
      assert.match(out, /access key: second/);
      assert.ok(!out.includes(KEY.secret), 'the secret is not printed');
      const res = await signed({ endpoint } as Simulator, 'GET', '/v1/guesttools?fields=vmInstanceUuid,state');
      assert.equal(res.status, 200, res.text);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
    for (const bad of [['--access-key', 'no-colon-secret'], ['--clock-skew', '5m'], ['--mn-version', '4.6']]) {
      const run = spawnGtr(['sim', '--port', '0', ...bad]);
      const { code } = await exited(run);
      assert.equal(code, 2, bad.join(' '));
      assert.ok(!run.output().stderr.includes('no-colon-secret'), 'a bad --access-key value is not echoed');
    }
  });
});
