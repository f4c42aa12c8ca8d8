// Fault injection, deterministic for a seed: every decision draws from one seeded PRNG in request order.
import { mulberry32, type Rng } from './rng.js';
import type { ApiName, FaultOptions } from './types.js';

export type RequestFault = 'error' | 'proxy' | 'reset' | null;

export class Faults {
  private opts: FaultOptions = {};
  private rng: Rng = mulberry32(1);
  private failVms = new Set<string>();

  constructor(opts: FaultOptions = {}) {
    this.set(opts);
  }

  set(opts: FaultOptions): void {
    this.opts = { ...opts };
    this.rng = mulberry32(opts.seed ?? 1);
    this.failVms = new Set(opts.failVmUuids ?? []);
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
    if (this.roll(this.opts.errorRates?.[api])) return 'error';
    if (this.roll(this.opts.proxyErrorRates?.[api])) return 'proxy';
    if (this.roll(this.opts.resetRates?.[api])) return 'reset';
    return null;
  }

  proxyStatus(): number {
    return this.rng() < 0.5 ? 502 : 503;
  }

  stuckJob(): boolean {
    return this.roll(this.opts.stuckJobRate);
  }

  attachFails(vmUuid: string): boolean {
    if (this.failVms.has(vmUuid)) return true;
    return this.roll(this.opts.attachFailRate);
  }
}
