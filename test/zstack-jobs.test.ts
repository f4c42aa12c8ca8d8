// Async actions against the simulator: attach and poll, location rewriting, job failures, timeouts,
// lost jobs, checkJob, and the rule that an attach PUT in doubt is resolved by polling, never re-sent.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../src/sim/index.js';
import { GtrError, ZStackApiError } from '../src/errors.js';
import { newJobUuid } from '../src/zstack/client.js';
import { clientHarness } from './helpers/zstack.js';
import { testVm } from './helpers/fleet.js';
import { permits } from './helpers/permits.js';
import { RequestCounts } from '../src/zstack/request-counts.js';

type Sim = Awaited<ReturnType<typeof startSimulator>>;

const VM = '1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f';
const STOPPED = '2c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f';
const { sim, client } = clientHarness({
  fleet: [testVm(1, { uuid: VM }), testVm(2, { uuid: STOPPED, state: 'Stopped', hostUuid: null })],
  isos: [{ agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0' }],
  jobDurationMs: 10,
  guests: { installDelayMs: 60_000 },
});

async function failure(p: Promise<unknown>): Promise<GtrError> {
  const err = await p.then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(err instanceof GtrError, String(err));
  return err;
}

const puts = (s: Sim) => s.calls.filter((c) => c.api === 'AttachGuestToolsIsoToVm');

/** Bounded wait for a condition the simulator reaches on its own. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('ZStack client async actions', () => {
  it('attaches with the chosen job uuid and top-level system tags, then polls the job to success', async () => {
    const s = await sim();
    const counts = new RequestCounts();
    const c = client(s, { observer: counts.observe });
    const jobUuid = newJobUuid();
    await c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, jobUuid), systemTags: ['GuestTools::1.2.0'] });
    assert.deepEqual(s.attachesStarted().map((a) => [a.vmUuid, a.jobUuid, a.systemTags]), [[VM, jobUuid, ['GuestTools::1.2.0']]]);
    assert.ok(s.vm(VM)?.tags.includes('guestToolsHasAttached'));
    assert.ok((counts.requests.QueryJob ?? 0) >= 1);
    assert.equal(counts.requests.AttachGuestToolsIsoToVm, 1);
  });

  it('polls the configured endpoint even when the location names another host (loopback 127.0.0.2:9, nothing listens)', async () => {
    const s = await sim({ locationHost: '127.0.0.2:9' });
    const c = client(s);
    await c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, newJobUuid()) });
    await c.detachGuestToolsIso(VM, { permit: permits('DetachGuestToolsIsoFromVm', VM, newJobUuid()) });
    assert.ok((s.requestsByApi().QueryJob ?? 0) >= 2, 'the polls reached the simulator');
  });

  it('turns a failed job into ZStackApiError with the ZStack code', async () => {
    const s = await sim({ faults: { failVmUuids: [VM] } });
    const c = client(s);
    const stopped = await failure(c.attachGuestToolsIso(STOPPED, { permit: permits('AttachGuestToolsIsoToVm', STOPPED, newJobUuid()) }));
    assert.ok(stopped instanceof ZStackApiError);
    assert.equal(stopped.zstack.code, 'SYS.1007');
    assert.match(stopped.zstack.details, /not running/);
    assert.equal(stopped.api, 'AttachGuestToolsIsoToVm');
    const failed = await failure(c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, newJobUuid()) }));
    assert.ok(failed instanceof ZStackApiError);
    assert.equal(failed.zstack.code, 'SYS.1006');
    const missing = await failure(c.attachGuestToolsIso('f'.repeat(32), { permit: permits('AttachGuestToolsIsoToVm', 'f'.repeat(32), newJobUuid()) }));
    assert.ok(missing instanceof ZStackApiError);
    assert.equal(missing.zstack.code, 'SYS.1003');
  });

  it('gives up with GTR_JOB_TIMEOUT on a job that never finishes', async () => {
    const s = await sim({ faults: { stuckJobRate: 1 } });
    const c = client(s, { jobTimeoutMs: 150 });
    const jobUuid = newJobUuid();
    const err = await failure(c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, jobUuid) }));
    assert.equal(err.code, 'GTR_JOB_TIMEOUT');
    assert.equal(err.details.jobUuid, jobUuid);
    assert.deepEqual(await c.checkJob(jobUuid), { state: 'running' });
    assert.equal(puts(s).length, 1);
  });

  it('reports GTR_JOB_LOST when the management node restarts during the job', async () => {
    const s = await sim({ jobDurationMs: 60_000 });
    const c = client(s);
    const jobUuid = newJobUuid();
    const pending = c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, jobUuid) });
    await until('the attach to start', () => s.attachesStarted().length === 1);
    s.restart();
    const err = await failure(pending);
    assert.equal(err.code, 'GTR_JOB_LOST');
    assert.equal(err.details.jobUuid, jobUuid);
    assert.deepEqual(await c.checkJob(jobUuid), { state: 'unknown' });
  });

  it('checkJob tells succeeded and failed jobs apart', async () => {
    const s = await sim();
    const c = client(s);
    const ok = newJobUuid();
    await c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, ok) });
    assert.deepEqual(await c.checkJob(ok), { state: 'succeeded', result: {} });
    const bad = newJobUuid();
    await failure(c.attachGuestToolsIso(STOPPED, { permit: permits('AttachGuestToolsIsoToVm', STOPPED, bad) }));
    const check = await c.checkJob(bad);
    assert.equal(check.state, 'failed');
    assert.equal(check.state === 'failed' ? check.error.zstack.code : null, 'SYS.1007');
  });

  it('never re-sends an attach that met a proxy error: it polls its job and reports it lost', async () => {
    const s = await sim({ faults: { proxyErrorRates: { AttachGuestToolsIsoToVm: 1 } } });
    const c = client(s);
    const err = await failure(c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, newJobUuid()) }));
    assert.equal(err.code, 'GTR_JOB_LOST');
    assert.equal(puts(s).length, 1);
    assert.equal(s.attachesStarted().length, 0);
  });

  it('never re-sends an attach whose connection was reset: polling finds the job that did run', async () => {
    const s = await sim({ faults: { resetRates: { AttachGuestToolsIsoToVm: 1 } } });
    const c = client(s);
    const jobUuid = newJobUuid();
    await c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, jobUuid) });
    assert.equal(puts(s).length, 1);
    assert.equal(puts(s)[0].status, 0, 'the simulator reset the PUT');
    assert.deepEqual(s.attachesStarted().map((a) => a.jobUuid), [jobUuid]);
  });

  it('retries job polls through proxy errors and resets', async () => {
    // Low rates and many retries: how many polls a job takes depends on timing, so the faults do too.
    const s = await sim({ faults: { proxyErrorRates: { QueryJob: 0.2 }, resetRates: { QueryJob: 0.2 }, seed: 2 } });
    const c = client(s, { retry: { attempts: 10, baseDelayMs: 1, maxDelayMs: 2 } });
    for (let i = 0; i < 10; i++) await c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, newJobUuid()) });
    assert.equal(puts(s).length, 10);
    assert.ok(s.calls.some((call) => call.api === 'QueryJob' && call.status !== 200 && call.status !== 202));
  });

  it('reads what GetLatestGuestToolsForVm offers: an inventory, nothing, or a ZStack error', async () => {
    const s = await sim();
    const c = client(s);
    const offer = await c.getLatestGuestTools(VM);
    assert.deepEqual(offer && { version: offer.version, agentType: offer.agentType, architecture: offer.architecture }, {
      version: '1.2.0', agentType: 'LinuxOnKvm', architecture: 'general',
    });
    s.guestReport(VM, '1.2.0');
    assert.equal(await c.getLatestGuestTools(VM), null);
    const err = await failure(c.getLatestGuestTools(STOPPED));
    assert.ok(err instanceof ZStackApiError);
    assert.equal(err.zstack.code, 'SYS.1007');
  });

  it('does not send a malformed job uuid', async () => {
    const s = await sim();
    const c = client(s);
    await assert.rejects(c.attachGuestToolsIso(VM, { permit: permits('AttachGuestToolsIsoToVm', VM, 'not-a-uuid') }), RangeError);
    assert.equal(puts(s).length, 0);
  });
});
