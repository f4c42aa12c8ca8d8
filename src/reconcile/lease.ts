// One lease for everything (DESIGN.md section 7): daemon ticks, `reconcile` and rollout steps all run
// under it. Renewed while the work runs; a holder that died is taken over by the ledger's rules.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { GtrError } from '../errors.js';
import type { Ledger } from '../ledger/index.js';

export const LEASE_TTL_MS = 60_000;

export function leaseHolderId(purpose: string): string {
  return `${purpose}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * Runs `work` under the lease. `work` gets a signal that aborts when the lease is lost (taken over by
 * another process, or the database fails while renewing): pass it on so no new attach starts.
 */
export async function withLease<T>(
  ledger: Ledger,
  opts: { purpose: string; now: () => number; ttlMs?: number; logger?: Logger },
  work: (leaseLost: AbortSignal) => Promise<T>,
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
  const lost = new AbortController();
  const renew = setInterval(() => {
    let kept = false;
    try {
      kept = ledger.renewLease(holder, ttlMs, opts.now());
    } catch (error) {
      opts.logger?.error({ error: error instanceof Error ? error.message : String(error) }, 'could not renew the lease');
    }
    if (!kept && !lost.signal.aborted) {
      opts.logger?.error({ holder }, 'lease lost: no new attaches start in this run');
      lost.abort();
    }
  }, Math.floor(ttlMs / 3));
  renew.unref();
  try {
    return await work(lost.signal);
  } finally {
    clearInterval(renew);
    ledger.releaseLease(holder);
  }
}
