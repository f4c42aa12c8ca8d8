// Paged queries and counts against the simulator: pages by key (every row once while the table
// changes), one request per page, conditions with LIKE wildcards, fields, and GETs retried through
// proxy errors and resets; and the inventory, which reads a VM once even when pages repeat it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ZStackApiError } from '../src/errors.js';
import type { QueryResource, ZStackClient } from '../src/zstack/client.js';
import { cdRomUuid } from '../src/sim/resources.js';
import { clientHarness } from './helpers/zstack.js';
import { RequestCounts } from '../src/zstack/request-counts.js';
import { readInventory, type QueryPort } from '../src/observe/inventory.js';
import { HEX } from './helpers/fleet.js';


const { sim, client } = clientHarness();

async function collect(c: ZStackClient, resource: QueryResource, conditions: string[], fields?: string[]) {
  const pages: Record<string, unknown>[][] = [];
  for await (const page of c.queryPages(resource, conditions, { fields })) pages.push(page);
  return pages;
}

describe('ZStack client queries', () => {
  it('pages 2,345 VMs with pageSize 1000 in 3 requests, every uuid once, sorted by uuid', async () => {
    const s = await sim({ fleet: { vms: 2345, seed: 7 } });
    const c = client(s);
    const pages = await collect(c, 'vm-instances', []);
    assert.deepEqual(pages.map((p) => p.length), [1000, 1000, 345]);
    const uuids = pages.flat().map((vm) => vm.uuid as string);
    assert.equal(new Set(uuids).size, 2345);
    assert.deepEqual(new Set(uuids), new Set(s.vms().map((vm) => vm.uuid)));
    const queries = s.calls.filter((call) => call.api === 'QueryVmInstance');
    assert.equal(queries.length, 3);
    for (const [i, q] of queries.entries()) {
      const params = new URLSearchParams(q.query);
      assert.equal(params.get('limit'), '1000');
      assert.equal(params.get('start'), null, 'paged by key, never by offset');
      // Each page after the first starts past the last uuid of the one before.
      assert.deepEqual(params.getAll('q'), i === 0 ? [] : [`uuid>${uuids[i * 1000 - 1]}`]);
      assert.equal(params.get('sort'), '+uuid');
      assert.match(q.query ?? '', /sort=%2Buuid/, 'the + is encoded, not sent raw');
    }
  });

  it('makes one extra request when the total is an exact multiple of the page size', async () => {
    const s = await sim({ fleet: { vms: 30, seed: 3 } });
    const c = client(s, { pageSize: 10 });
    const pages = await collect(c, 'vm-instances', []);
    assert.deepEqual(pages.map((p) => p.length), [10, 10, 10]);
    assert.equal(s.requestsByApi().QueryVmInstance, 4, 'the empty fourth page ends the query');
  });

  it('counts with conditions, and finds the GuestTools tags with a raw % wildcard', async () => {
    const s = await sim({ fleet: { vms: 120, seed: 11 } });
    const c = client(s, { pageSize: 50 });
    const running = s.vms().filter((vm) => vm.state === 'Running').length;
    assert.equal(await c.count('vm-instances', []), 120);
    assert.equal(await c.count('vm-instances', ['state=Running']), running);

    const conditions = ['resourceType=VmInstanceVO', 'tag~=GuestTools::%'];
    const tags = (await collect(c, 'system-tags', conditions)).flat();
    const expected = s.vms().flatMap((vm) => vm.tags.filter((t) => t.startsWith('GuestTools::')));
    assert.ok(expected.length > 0);
    assert.equal(tags.length, expected.length);
    assert.equal(await c.count('system-tags', conditions), expected.length);
    for (const t of tags) assert.match(String(t.tag), /^GuestTools::/);
  });

  it('pages guest-tools states by vmInstanceUuid and CD-ROMs by uuid', async () => {
    const s = await sim({ fleet: { vms: 60, seed: 5 } });
    const c = client(s, { pageSize: 7 });
    const states = (await collect(c, 'guesttools', [])).flat();
    const withGuest = s.vms().filter((vm) => vm.guest !== null).length;
    assert.equal(states.length, withGuest);
    assert.equal(new Set(states.map((g) => g.vmInstanceUuid)).size, withGuest);
    const cdroms = (await collect(c, 'vm-instances/cdroms', [])).flat();
    assert.equal(cdroms.length, s.vms().reduce((n, vm) => n + vm.cdRoms, 0));
    assert.equal(new Set(cdroms.map((cd) => cd.uuid)).size, cdroms.length);
  });

  it('pages by key: rows deleted from page 1 while page 2 is read hide no later row', async () => {
    const s = await sim({ fleet: { vms: 40, seed: 12 } });
    const c = client(s, { pageSize: 5 });
    type Row = { uuid: string; vm: string };
    const byUuid = (a: Row, b: Row) => (a.uuid < b.uuid ? -1 : 1);
    const cases = [
      {
        resource: 'vm-instances/cdroms', api: 'QueryVmCdRom', drop: (vm: string) => s.updateVm(vm, { cdRoms: 0 }),
        rows: (): Row[] => s.vms().flatMap((vm) => Array.from({ length: vm.cdRoms }, (_, d) => ({ uuid: cdRomUuid(vm.uuid, d), vm: vm.uuid }))).sort(byUuid),
      },
      { resource: 'vm-instances', api: 'QueryVmInstance', drop: (vm: string) => s.removeVm(vm), rows: (): Row[] => s.vms().map((vm) => ({ uuid: vm.uuid, vm: vm.uuid })).sort(byUuid) },
    ] as const;
    for (const t of cases) {
      const before = t.rows();
      const held = s.holdRequest({ api: t.api, skip: 1 });
      const reading = collect(c, t.resource, []);
      await held.reached;
      // Page 1 (rows 0-4) is read: two of its VMs lose their rows before page 2 is answered.
      for (const vm of [...new Set(before.slice(0, 5).map((r) => r.vm))].slice(0, 2)) t.drop(vm);
      held.release();
      const seen = new Set((await reading).flat().map((r) => r.uuid));
      const remaining = new Set(t.rows().map((r) => r.uuid));
      const later = before.slice(5).filter((r) => remaining.has(r.uuid));
      assert.ok(later.length > 20);
      for (const r of later) assert.ok(seen.has(r.uuid), `${t.api}: ${r.uuid} (row ${before.indexOf(r)} before the change) was read`);
    }
  });

  it('asks only for the given fields', async () => {
    const s = await sim({ fleet: { vms: 5, seed: 1 } });
    const c = client(s);
    const [page] = await collect(c, 'vm-instances', [], ['uuid', 'state']);
    assert.equal(page.length, 5);
    for (const vm of page) assert.deepEqual(Object.keys(vm).sort(), ['state', 'uuid']);
  });

  it('retries GETs through proxy errors and connection resets', async () => {
    const s = await sim({
      fleet: { vms: 300, seed: 9 },
      faults: { proxyErrorRates: { QueryVmInstance: 0.3 }, resetRates: { QueryVmInstance: 0.2 }, seed: 4 },
    });
    const counts = new RequestCounts();
    const c = client(s, { pageSize: 20, retry: { attempts: 8, baseDelayMs: 1, maxDelayMs: 2 }, observer: counts.observe });
    const uuids = (await collect(c, 'vm-instances', [])).flat().map((vm) => vm.uuid);
    assert.equal(new Set(uuids).size, 300);
    const queries = s.calls.filter((call) => call.api === 'QueryVmInstance');
    assert.ok(queries.some((q) => q.status === 0), 'some requests were reset');
    assert.ok(queries.some((q) => q.status === 502 || q.status === 503), 'some requests met the proxy');
    assert.ok((counts.errors.QueryVmInstance ?? 0) > 0);
  });

  it('does not retry a GET answered with a ZStack error body', async () => {
    const s = await sim({ fleet: { vms: 3, seed: 1 }, faults: { errorRates: { QueryVmInstance: 1 } } });
    const c = client(s);
    await assert.rejects(c.count('vm-instances', []), (e: unknown) => e instanceof ZStackApiError && e.zstack.code === 'SYS.1000');
    assert.equal(s.requestsByApi().QueryVmInstance, 1);
  });
});

describe('the inventory over paged queries', () => {
  it('a VM returned twice by offset paging is planned once', async () => {
    const row = { uuid: HEX(1), name: 'vm-1', state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM', type: 'UserVm' };
    const port: QueryPort = {
      guestToolsStateSupport: () => Promise.resolve('empty'),
      async *queryPages(resource) {
        if (resource === 'vm-instances') {
          yield [row, { ...row, uuid: HEX(2), name: 'vm-2' }];
          yield [{ ...row, uuid: HEX(2), name: 'vm-2' }, { ...row, uuid: HEX(3), name: 'vm-3' }];
        }
      },
    };
    const vms = await readInventory(port, { selectorTags: [] });
    assert.deepEqual(vms.map((v) => v.name), ['vm-1', 'vm-2', 'vm-3']);
  });
});
