// One lease for everything (DESIGN.md section 7): daemon ticks, `reconcile` and rollout steps all run
// under it. Renewed while the work runs; a holder that died is taken over by the ledger's rules.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { GtrError } from '../errors.js';
import type { Ledger } from '../ledger/index.js';

export const LEASE_TTL_MS = 60_000;

export function leaseHolderId(purpose: string): string {
  return `${purpose}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export async function withLease<T>(
  ledger: Ledger,
  opts: { purpose: string; now: () => number; ttlMs?: number },
  work: () => Promise<T>,
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
  const renew = setInterval(() => ledger.renewLease(holder, ttlMs, opts.now()), Math.floor(ttlMs / 3));
  renew.unref();
  try {
    return await work();
  } finally {
    clearInterval(renew);
    ledger.releaseLease(holder);
  }
}
