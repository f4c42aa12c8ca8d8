import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type FaultOptions, type SimVm, type Simulator } from '../src/sim/index.js';

const hex = (c: string): string => c.repeat(32);
const jobId = (): string => randomUUID().replaceAll('-', '');
const VMS: SimVm[] = ['1', '2', '3'].map((id) => ({
  uuid: hex(id), name: `vm-${id}`, state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM',
  type: 'UserVm', zoneUuid: hex('e'), clusterUuid: hex('c'), hostUuid: hex('d'), cdRoms: 1, tags: ['GuestTools::1.0.0'], guest: null,
}));

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('simulator: fault injection', () => {
  let sim: Simulator | undefined;
  let auth: Record<string, string> = {};
  afterEach(() => sim?.close());

  async function start(faults: FaultOptions): Promise<Simulator> {
    await sim?.close();
    const s = await startSimulator({ fleet: VMS, faults });
    sim = s;
    const res = await request(`${s.endpoint}/zstack/v1/accounts/login`, {
      method: 'PUT',
      body: JSON.stringify({ logInByAccount: { accountName: 'admin', password: createHash('sha512').update('password').digest('hex') } }),
    });
    auth = { Authorization: `OAuth ${((await res.body.json()) as { inventory: { uuid: string } }).inventory.uuid}` };
    return s;
  }
  async function get(s: Simulator, path: string): Promise<{ status: number; text: string }> {
    const res = await request(`${s.endpoint}/zstack/v1${path}`, { headers: auth });
    return { status: res.statusCode, text: await res.body.text() };
  }
  async function attach(s: Simulator, vmUuid: string, id = jobId()): Promise<string> {
    const res = await request(`${s.endpoint}/zstack/v1/vm-instances/${vmUuid}/actions`, {
      method: 'PUT', headers: { ...auth, 'X-Job-UUID': id }, body: JSON.stringify({ attachGuestToolsIsoToVm: {} }),
    });
    assert.equal(res.statusCode, 202);
    return ((await res.body.json()) as { location: string }).location;
  }
  async function finalPoll(location: string): Promise<{ status: number; text: string }> {
    let last = { status: 0, text: '' };
    await until(async () => {
      const res = await request(location);
      last = { status: res.statusCode, text: await res.body.text() };
      return last.status !== 202;
    }, 'job end');
    return last;
  }

  it('injects ZStack error bodies (503 SYS.1000) for the chosen API only', async () => {
    const s = await start({ errorRates: { QueryVmInstance: 1 } });
    const res = await get(s, '/vm-instances');
    assert.equal(res.status, 503);
    assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'SYS.1000');
    assert.equal((await get(s, '/system-tags')).status, 200);
  });

  it('firstRequests: exactly the first N requests of an API get the fault, then it answers normally; never an error body on a job poll', async () => {
    const s = await start({ firstRequests: [{ api: 'QueryVmInstance', kind: 'error', count: 2 }, { api: 'QueryJob', kind: 'error', count: 1 }] });
    assert.deepEqual([(await get(s, '/vm-instances')).status, (await get(s, '/vm-instances')).status, (await get(s, '/vm-instances')).status], [503, 503, 200]);
    assert.equal((await get(s, '/system-tags')).status, 200, 'other APIs untouched');
    assert.equal((await finalPoll(await attach(s, hex('1')))).status, 200, 'a job poll answers the job');
    assert.equal(s.faultsInjected().error, 2);
  });

  it('injects plain-text proxy errors (502/503, not JSON)', async () => {
    const s = await start({ proxyErrorRates: { QuerySystemTag: 1 }, seed: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const res = await get(s, '/system-tags');
      assert.ok(res.status === 502 || res.status === 503);
      assert.ok(!res.text.startsWith('{'));
      seen.add(res.status);
    }
    assert.deepEqual([...seen].sort(), [502, 503]);
  });

  it('resets the socket; a reset attach was still accepted and its job can be polled', async () => {
    const s = await start({ resetRates: { QueryVmInstance: 1, AttachGuestToolsIsoToVm: 1 } });
    await assert.rejects(get(s, '/vm-instances'));
    const id = jobId();
    await assert.rejects(request(`${s.endpoint}/zstack/v1/vm-instances/${hex('1')}/actions`, {
      method: 'PUT', headers: { ...auth, 'X-Job-UUID': id }, body: JSON.stringify({ attachGuestToolsIsoToVm: {} }),
    }));
    assert.deepEqual(s.attachesStarted().map((a) => a.jobUuid), [id]);
    const done = await finalPoll(`${s.endpoint}/zstack/v1/api-jobs/${id}`);
    assert.equal(done.status, 200);
    assert.equal(s.calls.find((c) => c.api === 'AttachGuestToolsIsoToVm')?.status, 0);
  });

  it('is deterministic for a seed', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const s = await start({ errorRates: { QueryVmInstance: 0.5 }, seed });
      const out: number[] = [];
      for (let i = 0; i < 24; i++) out.push((await get(s, '/vm-instances?limit=1')).status);
      return out;
    };
    const a = await run(42);
    assert.deepEqual(await run(42), a);
    assert.ok(a.includes(200) && a.includes(503));
    assert.notDeepEqual(await run(7), a);
  });

  it('fails attach jobs with SYS.1006 (attachFailRate, failVmUuids)', async () => {
    let s = await start({ failVmUuids: [hex('2')] });
    const ok = await finalPoll(await attach(s, hex('1')));
    assert.equal(ok.status, 200);
    const bad = await finalPoll(await attach(s, hex('2')));
    assert.equal(bad.status, 503);
    const err = (JSON.parse(bad.text) as { error: { code: string; details: string } }).error;
    assert.equal(err.code, 'SYS.1006');
    assert.match(err.details, new RegExp(`^failed to attach guest tools iso to vm\\[uuid:${hex('2')}\\], because:`));
    s = await start({ attachFailRate: 1 });
    assert.equal((await finalPoll(await attach(s, hex('3')))).status, 503);
    assert.equal(s.vm(hex('3'))?.tags.includes('guestToolsHasAttached'), false);
  });

  it('leaves stuck jobs running (202) forever', async () => {
    const s = await start({ stuckJobRate: 1 });
    const loc = await attach(s, hex('1'));
    await until(() => s.attachInFlight === 0, 'the job duration to pass');
    const res = await request(loc);
    assert.deepEqual([res.statusCode, await res.body.text()], [202, '']);
  });

  it('setFaults() replaces the faults at run time, and latency still answers', async () => {
    const s = await start({});
    assert.equal((await get(s, '/vm-instances')).status, 200);
    s.setFaults({ errorRates: { QueryVmInstance: 1 } });
    assert.equal((await get(s, '/vm-instances')).status, 503);
    s.setFaults({ latencyMs: 5 });
    assert.equal((await get(s, '/vm-instances')).status, 200);
  });
});
