// The naive baseline: what a shell loop over a CLI does. List the VMs, then for each VM one tag query,
// and for each VM to update one attach, waited for before the next: no paging of tags, no concurrency.
// It uses the ZStack client directly (cheaper than spawning a CLI per VM, so the baseline is kind to
// itself). For large fleets it runs on the first `sample` VMs and extrapolates per VM and per attach.
import { performance } from 'node:perf_hooks';
import { newJobUuid, StartPermit, ZStackClient } from '../../src/zstack/client.js';
import { RequestCounts } from '../../src/zstack/request-counts.js';

export interface NaiveOptions {
  endpoint: string;
  accountName: string;
  password: string;
  pollMs: number;
  /** VMs the reconciler attached in its run: the baseline does the same work. */
  attachSet: ReadonlySet<string>;
  sample: number;
}

export interface NaiveResult {
  vms: number;
  sampled: number;
  extrapolated: boolean;
  attaches: number;
  wallMs: number;
  requests: Record<string, number>;
  measured: { listMs: number; tagQueryMs: number; tagQueries: number; attachMs: number; attaches: number };
}

export async function runNaive(o: NaiveOptions): Promise<NaiveResult> {
  const counts = new RequestCounts();
  const client = new ZStackClient({
    endpoint: o.endpoint, accountName: o.accountName, password: o.password, requestTimeoutMs: 30_000,
    pageSize: 1000, jobPollIntervalMs: o.pollMs, jobTimeoutMs: 600_000, observer: counts.observe,
  });
  try {
    await client.login();
    let t0 = performance.now();
    const uuids: string[] = [];
    for await (const page of client.queryPages('vm-instances', [], { fields: ['uuid'] })) {
      for (const row of page) if (typeof row.uuid === 'string') uuids.push(row.uuid);
    }
    const listMs = performance.now() - t0;
    const sample = uuids.slice(0, Math.min(o.sample, uuids.length));
    let tagQueryMs = 0;
    let attachMs = 0;
    let attaches = 0;
    for (const uuid of sample) {
      t0 = performance.now();
      for await (const page of client.queryPages('system-tags', ['resourceType=VmInstanceVO', `resourceUuid=${uuid}`, 'tag~=GuestTools::%'])) {
        void page;
      }
      tagQueryMs += performance.now() - t0;
      if (!o.attachSet.has(uuid)) continue;
      t0 = performance.now();
      // Not gtr: a script without ledger or gates, so its permit is issued on the spot.
      const permit = StartPermit.issue('AttachGuestToolsIsoToVm', uuid, newJobUuid());
      await client.attachGuestToolsIso(uuid, { permit: async (attempt) => (attempt === 'first' ? permit : null), systemTags: ['GuestTools::1.2.0'] });
      attachMs += performance.now() - t0;
      attaches++;
    }
    const factor = uuids.length / Math.max(1, sample.length);
    const perAttach = attaches > 0 ? attachMs / attaches : 0;
    const measuredRequests: Record<string, number> = { ...counts.requests };
    const requests: Record<string, number> = {};
    for (const [api, n] of Object.entries(measuredRequests)) {
      // Listing and login happen once; per-VM and per-attach requests scale with the fleet.
      if (api === 'QueryVmInstance' || api === 'LogInByAccount') requests[api] = n;
      else if (api === 'QuerySystemTag') requests[api] = Math.round(n * factor);
      else requests[api] = attaches > 0 ? Math.round((n / attaches) * o.attachSet.size) : 0;
    }
    return {
      vms: uuids.length,
      sampled: sample.length,
      extrapolated: sample.length < uuids.length,
      attaches: o.attachSet.size,
      wallMs: listMs + tagQueryMs * factor + perAttach * o.attachSet.size,
      requests,
      measured: { listMs, tagQueryMs, tagQueries: sample.length, attachMs, attaches },
    };
  } finally {
    await client.close();
  }
}
