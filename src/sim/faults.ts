// Fault injection, deterministic for a seed: every decision draws from one seeded PRNG in request order.
import { appendTo } from '../multimap.js';
import { mulberry32, type Rng } from './rng.js';
import type { ApiName, FaultOptions } from './types.js';

type RequestFault = 'error' | 'proxy' | 'reset' | 'timeout' | null;

export class Faults {
  private opts: FaultOptions = {};
  private rng: Rng = mulberry32(1);
  private failVms = new Set<string>();
  private timeoutVms = new Set<string>();
  private scriptTimeoutVms = new Set<string>();
  private detachFailVms = new Set<string>();
  /** What is left of FaultOptions.firstRequests, per API. */
  private first = new Map<ApiName, { kind: Exclude<RequestFault, null>; left: number }[]>();
  /** How many faults of each kind were injected since the simulator started (for soak figures). */
  readonly injected: Record<string, number> = {};

  constructor(opts: FaultOptions = {}) {
    this.set(opts);
  }

  set(opts: FaultOptions): void {
    this.opts = { ...opts };
    this.rng = mulberry32(opts.seed ?? 1);
    this.failVms = new Set(opts.failVmUuids ?? []);
    this.timeoutVms = new Set(opts.timeoutVmUuids ?? []);
    this.scriptTimeoutVms = new Set(opts.scriptTimeoutVmUuids ?? []);
    this.detachFailVms = new Set(opts.detachFailVmUuids ?? []);
    this.first = new Map();
    for (const f of opts.firstRequests ?? []) {
      if (f.kind === 'error' && f.api === 'QueryJob') continue; // see forRequest
      appendTo(this.first, f.api, { kind: f.kind, left: f.count });
    }
  }

  get latencyMs(): number {
    return this.opts.latencyMs ?? 0;
  }

  get sessionExpireAfterCalls(): number | undefined {
    return this.opts.sessionExpireAfterCalls;
  }

  /** One draw per configured rate, so the sequence only depends on the seed and the request order. */
  private roll(rate: number | undefined): boolean {
    if (!rate || rate <= 0) return false;
    return this.rng() < rate;
  }

  forRequest(api: ApiName): RequestFault {
    const planned = this.first.get(api)?.find((f) => f.left > 0);
    if (planned) {
      planned.left--;
      return this.count(planned.kind);
    }
    // Not on job polls: the MN answers those from its job table, and a 503 error body there IS the job's
    // result ("the API ran and failed", zstack-api.md 2.4). An injected one would claim a failure for an
    // attach that ran, which no MN does; a poll's own trouble is a proxy error, a reset or a timeout.
    if (api !== 'QueryJob' && this.roll(this.opts.errorRates?.[api])) return this.count('error');
    if (this.roll(this.opts.proxyErrorRates?.[api])) return this.count('proxy');
    if (this.roll(this.opts.resetRates?.[api])) return this.count('reset');
    if (this.roll(this.opts.timeoutRates?.[api])) return this.count('timeout');
    return null;
  }

  /** Extra delay of one request: a latency spike (spikeRate, spikeMs), else 0. */
  spikeMs(): number {
    return this.roll(this.opts.spikeRate) ? (this.count('spike'), this.opts.spikeMs ?? 1000) : 0;
  }

  /** Every session expires under this attach, after its 202 (attachSessionExpireRate). */
  expireSessionsUnderAttach(): boolean {
    return this.roll(this.opts.attachSessionExpireRate) ? (this.count('attach-session-expired'), true) : false;
  }

  /** A random point where every session expires (sessionExpireRate). */
  expireSessionsNow(): boolean {
    return this.roll(this.opts.sessionExpireRate) ? (this.count('session-expired'), true) : false;
  }

  count<K extends string>(kind: K): K {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    return kind;
  }

  proxyStatus(): number {
    return this.rng() < 0.5 ? 502 : 503;
  }

  stuckJob(): boolean {
    return this.roll(this.opts.stuckJobRate) && (this.count('stuck-job'), true);
  }

  /** The attach job reports SYS.1001 (timeout) though the host carries the attach out. */
  attachTimesOut(vmUuid: string): boolean {
    return this.timeoutVms.has(vmUuid) && (this.count('attach-timeout'), true);
  }

  attachFails(vmUuid: string): boolean {
    if (this.failVms.has(vmUuid)) return true;
    return this.roll(this.opts.attachFailRate) && (this.count('attach-failed'), true);
  }

  /** A script on this VM runs past its timeout (scriptTimeoutVmUuids). */
  scriptTimesOut(vmUuid: string): boolean {
    return this.scriptTimeoutVms.has(vmUuid) && (this.count('script-timeout'), true);
  }

  detachFails(vmUuid: string): boolean {
    return this.detachFailVms.has(vmUuid) && (this.count('detach-failed'), true);
  }
}
