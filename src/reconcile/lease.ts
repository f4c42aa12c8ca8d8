// One lease for everything (docs/design.md 4): daemon ticks, `reconcile` and rollout steps all run
// under it. Renewed while the work runs; a holder that died is taken over by the ledger's rules.
//
// The lease is also the run's fence (docs/design.md 4): a gate that, inside every start transaction,
// re-reads the lease row and refuses (`lease-lost`) once the row no longer names this run's holder and
// acquisition stamp. Another process that took the lease over (its clock ahead, this process
// suspended) therefore stops this run's next start at once, whatever the renew timer believes. Inside
// this process, ages use the monotonic clock: a lease not renewed for a whole TTL is treated as lost
// too, since others may rightly take it by then.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { GtrError, messageOf } from '../errors.js';
import type { Ledger } from '../ledger/index.js';
import type { DeferReason } from '../plan/reasons.js';
import type { AttachGate } from '../plan/gates.js';

const LEASE_TTL_MS = 60_000;

function leaseHolderId(purpose: string): string {
  return `${purpose}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** The held lease as a gate: the fence every start checks. */
class LeaseFence implements AttachGate {
  readonly name = 'lease';
  readonly stopsRun = true;
  private held = true;
  private renewedAt = performance.now();

  constructor(
    private readonly ledger: Ledger,
    readonly holder: string,
    readonly stamp: number,
    private readonly ttlMs: number,
  ) {}

  /** Inside the start transaction: does the row still name this run? One indexed read. */
  refresh(): void {
    if (!this.held) return;
    this.held = performance.now() - this.renewedAt < this.ttlMs && this.ledger.leaseHolds(this.holder, this.stamp);
  }

  check(): DeferReason | null {
    return this.held ? null : 'lease-lost';
  }

  /** The renew timer: keeps the lease only while the row still names this acquisition. */
  renew(now: number): boolean {
    if (!this.held) return false;
    const kept = this.ledger.renewLease(this.holder, this.ttlMs, now, this.stamp);
    if (kept) this.renewedAt = performance.now();
    else this.held = false;
    return kept;
  }
}

/**
 * Runs `work` under the lease. `work` gets the fence: put it in the run's start path (src/apply/start-path.ts),
 * so no start happens once the lease is lost.
 */
export async function withLease<T>(
  ledger: Ledger,
  opts: { purpose: string; now: () => number; ttlMs?: number; logger?: Logger },
  work: (lease: LeaseFence) => Promise<T>,
): Promise<T> {
  const ttlMs = opts.ttlMs ?? LEASE_TTL_MS;
  const holder = leaseHolderId(opts.purpose);
  const got = ledger.acquireLease({ holder, purpose: opts.purpose, ttlMs, now: opts.now() });
  if (!got.ok) {
    const h = got.holder;
    throw new GtrError(
      'GTR_LEASE_HELD',
      `another run holds the lease: ${h.purpose} (pid ${h.pid} on ${h.host}, since ${new Date(h.acquiredAt).toISOString()}, expires ${new Date(h.expiresAt).toISOString()})`,
      { details: { holder: h } },
    );
  }
  const fence = new LeaseFence(ledger, holder, got.stamp, ttlMs);
  const renew = setInterval(() => {
    let kept = false;
    try {
      kept = fence.renew(opts.now());
    } catch (error) {
      opts.logger?.warn({ error: messageOf(error) }, 'could not renew the lease; trying again');
      return;
    }
    if (!kept) {
      opts.logger?.error({ holder }, 'lease lost: no new attaches start in this run');
      clearInterval(renew);
    }
  }, Math.floor(ttlMs / 3));
  renew.unref();
  try {
    return await work(fence);
  } finally {
    clearInterval(renew);
    if (!ledger.releaseLease(holder)) opts.logger?.warn({ holder }, 'could not release the lease; released at this process\'s next run (others wait for its expiry)');
  }
}
