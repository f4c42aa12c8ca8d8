// A bare HTTP client for simulator tests that look at the wire itself (status, exact body text):
// login, any request, 202 + job polling. The product's client is tested through src/zstack.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { afterEach } from 'node:test';
import { startSimulator, type SimOptions, type SimVm, type Simulator } from '../../src/sim/index.js';

export const hex = (c: string): string => c.repeat(32);
export const jobId = (): string => randomUUID().replaceAll('-', '');

export function simVm(id: string, patch: Partial<SimVm> = {}): SimVm {
  return {
    uuid: hex(id), name: `vm-${id}`, state: 'Running', platform: 'Linux', architecture: 'x86_64', hypervisorType: 'KVM',
    type: 'UserVm', zoneUuid: hex('e'), clusterUuid: hex('c'), hostUuid: hex('d'), cdRoms: 1, tags: ['GuestTools::1.0.0'],
    guest: { qgaState: 'Running', version: '1.0.0' }, ...patch,
  };
}

export interface Res { status: number; text: string }

export const errorOf = (res: Res): { code: string; details: string } => (JSON.parse(res.text) as { error: { code: string; details: string } }).error;

/** Polls a condition of the simulator's state (never a wall-clock assertion); fails after ~10 s. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export class RawMn {
  auth: Record<string, string> = {};
  constructor(readonly sim: Simulator) {}

  async login(): Promise<this> {
    const res = await request(`${this.sim.endpoint}/zstack/v1/accounts/login`, {
      method: 'PUT',
      body: JSON.stringify({ logInByAccount: { accountName: 'admin', password: createHash('sha512').update('password').digest('hex') } }),
    });
    this.auth = { Authorization: `OAuth ${((await res.body.json()) as { inventory: { uuid: string } }).inventory.uuid}` };
    return this;
  }

  async send(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
    const res = await request(`${this.sim.endpoint}/zstack/v1${path}`, {
      method, headers: { ...this.auth, ...headers }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, text: await res.body.text() };
  }

  get(path: string): Promise<Res> {
    return this.send('GET', path);
  }

  /** Sends an async call, expects 202, polls its job to the end. */
  async job(method: 'PUT' | 'POST', path: string, body: unknown, job = jobId()): Promise<Res> {
    const res = await this.send(method, path, body, { 'X-Job-UUID': job });
    assert.equal(res.status, 202, res.text);
    const { location } = JSON.parse(res.text) as { location: string };
    assert.ok(location.endsWith(`/zstack/v1/api-jobs/${job}`), location);
    return this.poll(location);
  }

  async poll(location: string): Promise<Res> {
    for (let i = 0; i < 2000; i++) {
      const res = await request(location);
      const text = await res.body.text();
      if (res.statusCode !== 202) return { status: res.statusCode, text };
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error('job never finished');
  }

  /** The job's result object (asserts 200). */
  async ok(method: 'PUT' | 'POST', path: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await this.job(method, path, body);
    assert.equal(res.status, 200, res.text);
    return res.text === '' ? {} : (JSON.parse(res.text) as Record<string, unknown>);
  }

  async inventories(path: string): Promise<Record<string, unknown>[]> {
    const res = await this.get(path);
    assert.equal(res.status, 200, res.text);
    return (JSON.parse(res.text) as { inventories: Record<string, unknown>[] }).inventories;
  }

  async createScript(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const body = await this.ok('POST', '/scripts', { params: { platform: 'Linux', scriptType: 'Shell', encodingType: 'PlainText', ...params } });
    return body.inventory as Record<string, unknown>;
  }

  async execute(scriptUuid: string, vmUuids: string[], extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const body = await this.ok('PUT', `/scripts/${scriptUuid}/actions`, { executeGuestVmScript: { vmInstanceUuids: vmUuids, ...extra } });
    return body.inventory as Record<string, unknown>;
  }

  async details(recordUuid: string): Promise<Record<string, unknown>[]> {
    return this.inventories(`/scripts/records/details?q=recordUuid=${recordUuid}&sort=%2BvmInstanceUuid`);
  }

  async record(recordUuid: string): Promise<Record<string, unknown>> {
    const [r] = await this.inventories(`/scripts/records/${recordUuid}`);
    assert.ok(r, `record ${recordUuid}`);
    return r;
  }

  /** Waits until the record is no longer `running` (its spelling). */
  async settled(recordUuid: string, running = 'Running'): Promise<Record<string, unknown>> {
    for (let i = 0; i < 2000; i++) {
      const r = await this.record(recordUuid);
      if (r.status !== running) return r;
      await new Promise((res) => setTimeout(res, 2));
    }
    throw new Error(`record ${recordUuid} never ended`);
  }

  async attach(vmUuid: string): Promise<void> {
    const res = await this.job('PUT', `/vm-instances/${vmUuid}/actions`, { attachGuestToolsIsoToVm: {} });
    assert.equal(res.status, 200, res.text);
  }

  async refresh(vmUuid: string): Promise<Res> {
    return this.send('PUT', `/vm-instances/${vmUuid}/guesttools-state`, { updateGuestToolsState: {} });
  }
}

/**
 * Call at module level: `mn(opts)` starts a simulator (`defaults`, then `opts` over them) and logs a
 * RawMn in to it; every simulator started is closed after its test.
 */
export function rawMnHarness(defaults: SimOptions): (opts?: SimOptions) => Promise<{ sim: Simulator; c: RawMn }> {
  const sims: Simulator[] = [];
  afterEach(async () => {
    while (sims.length > 0) await sims.pop()?.close();
  });
  return async (opts = {}) => {
    const sim = await startSimulator({ ...defaults, ...opts });
    sims.push(sim);
    return { sim, c: await new RawMn(sim).login() };
  };
}

/** ZStack's launcher: find the CD-ROM with the installer, run it detached from the agent session, keep its status. */
export const DETACHED_LAUNCHER = [
  'cat > /tmp/gtr-install.sh <<\'EOF\'',
  'for d in /dev/sr* /dev/cdrom; do mount "$d" /mnt/cdrom 2>/dev/null && [ -f /mnt/cdrom/zs-tools-install.sh ] && break; done',
  'cd /mnt/cdrom && echo Y | bash ./zs-tools-install.sh; echo $? > /var/tmp/gtr-install.status',
  'EOF',
  'nohup bash /tmp/gtr-install.sh > /var/tmp/gtr-install.log 2>&1 &',
  'exit 0',
].join('\n');

export const FOREGROUND_LAUNCHER = 'mount /dev/sr0 /mnt/cdrom && cd /mnt/cdrom && echo Y | bash ./zs-tools-install.sh';
