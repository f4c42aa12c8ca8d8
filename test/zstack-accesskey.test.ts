// The client with an AccessKey against the simulator over real sockets: every request signed, no
// login, jobs polled as with a session, and each refusal the MN can give turned into its own
// GTR_ZSTACK_ACCESS_KEY_REFUSED message that never carries the secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GtrError } from '../src/errors.js';
import type { SimVm } from '../src/sim/index.js';
import { newJobUuid } from '../src/zstack/client.js';
import { clientHarness } from './helpers/zstack.js';
import { permits } from './helpers/permits.js';

const KEY = { id: 'AKc0ffee01', secret: 'Sk-8d7e6f5a4b3c2d1e0f' };
const VM: SimVm = {
  uuid: 'b'.repeat(32), name: 'vm-b', state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM',
  type: 'UserVm', zoneUuid: 'z'.repeat(32), clusterUuid: 'c'.repeat(32), hostUuid: 'h'.repeat(32), cdRoms: 1,
  tags: ['GuestTools::1.0.0'], guest: null,
};

const h = clientHarness({ fleet: [VM], accessKeys: [KEY], jobDurationMs: 5 });

async function refusal(promise: Promise<unknown>): Promise<GtrError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GtrError, String(error));
    assert.equal(error.code, 'GTR_ZSTACK_ACCESS_KEY_REFUSED', error.message);
    assert.equal(error.exitCode, 3);
    const all = `${error.message} ${JSON.stringify(error.details)}`;
    assert.ok(!all.includes(KEY.secret), 'the secret is not in the error');
    return error;
  }
  assert.fail('expected a refusal');
}

describe('ZStack client with an AccessKey', () => {
  it('signs queries and the attach; polls the job; never logs in or out', async () => {
    const sim = await h.sim();
    const client = h.client(sim, { password: undefined, accessKey: KEY });
    assert.equal(await client.count('vm-instances', []), 1);
    const pages = [];
    for await (const page of client.queryPages('vm-instances', [`uuid=${VM.uuid}`], { fields: ['uuid', 'name'] })) pages.push(...page);
    assert.deepEqual(pages, [{ uuid: VM.uuid, name: 'vm-b' }]);
    await client.attachGuestToolsIso(VM.uuid, { permit: permits('AttachGuestToolsIsoToVm', VM.uuid, newJobUuid()) });
    assert.equal(sim.attachesStarted().length, 1);
    await client.close();
    const apis = sim.requestsByApi();
    assert.equal(apis.LogInByAccount, undefined);
    assert.equal(apis.LogOut, undefined);
    assert.ok((apis.QueryJob ?? 0) >= 1, 'the job was polled');
    assert.deepEqual(sim.sessionsIssued(), []);
  });

  it('an unknown, a disabled key and a wrong secret each say so', async () => {
    const sim = await h.sim();
    const unknown = await refusal(h.client(sim, { password: undefined, accessKey: { id: 'AKnobody', secret: KEY.secret } }).count('vm-instances', []));
    assert.match(unknown.message, /AccessKey AKnobody .*does not exist or is disabled/);
    const wrong = await refusal(h.client(sim, { password: undefined, accessKey: { id: KEY.id, secret: 'not-the-secret' } }).count('vm-instances', []));
    assert.match(wrong.message, /wrong signature: zstack\.accessKeySecret is not this key's secret/);
    assert.equal(wrong.details.reason, 'wrong-signature');
    sim.setAccessKeyState(KEY.id, 'Disabled');
    const disabled = await refusal(h.client(sim, { password: undefined, accessKey: KEY }).count('vm-instances', []));
    assert.equal(disabled.details.reason, 'unknown-or-disabled');
  });

  it('a refused attach never started: no job, no attach on the MN', async () => {
    const sim = await h.sim();
    const client = h.client(sim, { password: undefined, accessKey: { id: KEY.id, secret: 'wrong' } });
    await refusal(client.attachGuestToolsIso(VM.uuid, { permit: permits('AttachGuestToolsIsoToVm', VM.uuid, newJobUuid()) }));
    assert.equal(sim.attachesStarted().length, 0);
    assert.equal(sim.requestsByApi().QueryJob, undefined);
  });

  it('an MN without the AccessKey module says to use a password', async () => {
    const sim = await h.sim({ accessKeyModule: false });
    const error = await refusal(h.client(sim, { password: undefined, accessKey: KEY }).count('vm-instances', []));
    assert.match(error.message, /no AccessKey module .*zstack\.password/);
  });

  it('clocks 20 minutes apart: the message shows the local time and the MN\'s Date header', async () => {
    const sim = await h.sim({ clockSkewMs: 20 * 60_000 });
    const error = await refusal(h.client(sim, { password: undefined, accessKey: KEY }).count('vm-instances', []));
    assert.equal(error.details.reason, 'clock-skew');
    const mnDate = String(error.details.mnDate);
    assert.ok(Date.parse(mnDate) - Date.now() > 19 * 60_000, mnDate);
    assert.ok(error.message.includes(`management node Date ${mnDate}`), error.message);
    assert.match(error.message, /local time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    assert.match(error.message, /the management node is 20 min ahead/);
  });
});
